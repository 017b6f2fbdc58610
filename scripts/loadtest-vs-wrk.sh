#!/usr/bin/env bash
# Issue 8's HTTP figure: opsdeck-loadtest's closed model against the standalone simulator in a
# separate process, beside wrk -t1 with the same connections and the same request mix, in the
# same run, interleaved (wrk, loadtest, loadtest, wrk; SECONDS/2 each) because the simulator's
# speed drifts. Usage: scripts/loadtest-vs-wrk.sh [BUILD_DIR] [CONNECTIONS] [SECONDS]
# (default build/release 10 15); HTTP_CLIENT=pool measures the load tester through the HttpPool.
# Needs wrk (apt-get install wrk). Prints the halves, both rates and the ratio.
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
half="$(python3 -c "import sys; print(max(1, round(float(sys.argv[1]) / 2)))" "$secs")"
client="${HTTP_CLIENT:-direct}"
echo "simulator $url, $conns connections, wrk/loadtest/loadtest/wrk in halves of $half s (the simulator's speed drifts between runs), client $client, load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk_half() {
    wrk -t1 -c"$conns" -d"${half}s" -s "$root/scripts/loadtest-vs-wrk.lua" "$url" \
        | sed -n 's/^Requests\/sec: *//p'
}
lt_half() {
    "$build/src/cli/opsdeck-loadtest" --test-http --target-url "$url" --concurrency "$conns" \
        --duration "$half" --ramp-up 0 --quiet --seed "$1" --http-client "$client" \
        --output "$tmp/lt$1.json" > "$tmp/lt$1.txt"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['component_results']['http']['operations_per_second'])" "$tmp/lt$1.json"
}
w1="$(wrk_half)"; l1="$(lt_half 1)"; l2="$(lt_half 2)"; w2="$(wrk_half)"
python3 - "$l1" "$l2" "$w1" "$w2" <<'PY'
import sys
l1, l2, w1, w2 = map(float, sys.argv[1:])
lt, wrk = (l1 + l2) / 2, (w1 + w2) / 2
print(f"halves: wrk {w1:.0f}, loadtest {l1:.0f}, loadtest {l2:.0f}, wrk {w2:.0f} req/s")
print(f"opsdeck-loadtest http: {lt:.0f} req/s; wrk -t1 same mix: {wrk:.0f} req/s; ratio {lt / wrk:.2f} (goal >= 0.50)")
PY
