#!/usr/bin/env bash
# Issue 7's API figure: wrk -t1 -c10 -d30s with the key header on
# GET /monitoring/metrics?limit=10 of a headless opsdeck whose agents run (the default three
# against the embedded simulator). Usage: scripts/api-wrk.sh [BUILD_DIR] [SECONDS]
# (default build/release 30). Needs wrk (apt-get install wrk).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
secs="${2:-30}"
command -v wrk >/dev/null || { echo "api-wrk: needs wrk (apt-get install wrk)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'kill "$app" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
touch "$tmp/opsdeck.ini"
XDG_CONFIG_HOME="$tmp/cfg" XDG_DATA_HOME="$tmp/xdg" "$build/src/app/opsdeck" --headless \
    --api-port 0 --config "$tmp/opsdeck.ini" --data-dir "$tmp/data" > "$tmp/out" 2> "$tmp/err" &
app=$!
for _ in $(seq 1 100); do
    url="$(sed -n 's/^OPSDECK_API //p' "$tmp/out")"
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "api-wrk: opsdeck did not start" >&2; cat "$tmp/err" >&2; exit 3; }
key="$(cat "$tmp/data/api-key")"
sleep 3 # a few samples and agent cycles first
echo "opsdeck $url (agents running), load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t1 -c10 -d"${secs}s" --latency -H "X-API-Key: $key" "$url/monitoring/metrics?limit=10" \
    | grep -E "Requests/sec|Latency|99%|50%|Non-2xx|requests in"
