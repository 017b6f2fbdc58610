#!/usr/bin/env bash
# Issue 8's HTTP figure: opsdeck-loadtest's closed model against the standalone simulator in a
# separate process, beside wrk -t1 with the same connections and the same request mix, in the
# same run. Usage: scripts/loadtest-vs-wrk.sh [BUILD_DIR] [CONNECTIONS] [SECONDS]
# (default build/release 10 15). Needs wrk (apt-get install wrk). Prints both rates and the ratio.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
conns="${2:-10}"
secs="${3:-15}"
command -v wrk >/dev/null || { echo "loadtest-vs-wrk: needs wrk (apt-get install wrk)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'kill "$market" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
printf '[market]\nweight_limit = 10000000\n' > "$tmp/opsdeck.ini"
"$build/src/app/opsdeck" --market-only --market-port 0 --config "$tmp/opsdeck.ini" \
    > "$tmp/market.out" 2> "$tmp/market.err" &
market=$!
for _ in $(seq 1 100); do
    url="$(sed -n 's/^OPSDECK_MARKET //p' "$tmp/market.out")"
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "loadtest-vs-wrk: the simulator did not start" >&2; cat "$tmp/market.err" >&2; exit 3; }
echo "simulator $url, $conns connections, $secs s each, load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk_out="$(wrk -t1 -c"$conns" -d"${secs}s" -s "$root/scripts/loadtest-vs-wrk.lua" "$url")"
wrk_rps="$(sed -n 's/^Requests\/sec: *//p' <<<"$wrk_out")"
echo "$wrk_out" | grep -E "wrk-mix|Requests/sec"
"$build/src/cli/opsdeck-loadtest" --test-http --target-url "$url" --concurrency "$conns" \
    --duration "$secs" --ramp-up 0 --quiet --seed 1 --output "$tmp/lt.json" > "$tmp/lt.txt"
lt_rps="$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['component_results']['http']['operations_per_second'])" "$tmp/lt.json")"
python3 - "$lt_rps" "$wrk_rps" <<'PY'
import sys
lt, wrk = float(sys.argv[1]), float(sys.argv[2])
print(f"opsdeck-loadtest http: {lt:.0f} req/s; wrk -t1 same mix: {wrk:.0f} req/s; ratio {lt / wrk:.2f} (goal >= 0.50)")
PY
