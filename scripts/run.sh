#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the console (Release) and starts it
# on its embedded defaults. Arguments go to opsdeck (e.g. --headless, --quit-after 5).
set -euo pipefail
# ccache may reuse objects built with precompiled headers only with this sloppiness.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/deps.sh"
build="$root/build/release"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOPSDECK_BUILD_TESTS=OFF \
    "${launcher[@]}" >/dev/null
cmake --build "$build" --target opsdeck -- -j"${OPSDECK_JOBS:-2}"
exec "$build/src/app/opsdeck" "$@"
