#!/usr/bin/env bash
# Installs the Debian 12 packages OpsDeck needs to build, test and run, and only the missing
# ones (with sudo when not root). Sourced or run by run.sh and check.sh.
set -euo pipefail

OPSDECK_PACKAGES=(
    cmake ninja-build g++ pkg-config ccache
    qt6-base-dev qt6-httpserver-dev qt6-websockets-dev qt6-charts-dev libqt6opengl6-dev
    libqt6sql6-sqlite qt6-tools-dev qt6-l10n-tools qt6-translations-l10n
    libexpected-dev libsqlite3-dev
    xvfb xauth curl openssl python3 python3-requests python3-jsonschema
)

missing=()
for pkg in "${OPSDECK_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}" >&2
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
else
    echo "deps: all ${#OPSDECK_PACKAGES[@]} packages present" >&2
fi
