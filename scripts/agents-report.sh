#!/bin/bash
# agents-report.sh: runs the headless runtime with a given config for a while and reports, per
# agent, cycles per second, cycle run time p50/p99 and drift p99 (GET /agents), the share of the
# agents' market-data calls the cache answered without HTTP, and the process's CPU and memory.
# The figures of the agents issue (issue 6, point 8) come from it:
#   scripts/agents-report.sh default 60 ''
#   AG='[agent.mm]\ntype = market_maker\ninterval = 0\n[agent.mo]\ntype = momentum\ninterval = 0\nsymbol = ETHUSDT\n[agent.guard]\ntype = stop_loss_guardian\ninterval = 0\npriority = CRITICAL\n'
#   scripts/agents-report.sh stress_on 20 "[market]\nweight_limit = 10000000\n$AG"
#   scripts/agents-report.sh stress_off 20 "[cache]\nmemory_max_size = 0\ndisk_cache_enabled = false\n[market]\nweight_limit = 10000000\n$AG"
# Usage: agents-report.sh NAME SECONDS INI_TEXT (printf escapes allowed). Uses the Release build of
# scripts/run.sh (OPSDECK_BIN overrides); everything lives in /tmp/opsdeck-report/NAME. Loopback only.
set -euo pipefail
name=$1 secs=$2 ini=$3
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OPSDECK_BIN:-$root/build/release/src/app/opsdeck}
[ -x "$bin" ] || { echo "no $bin: build it first (scripts/run.sh --version)" >&2; exit 2; }
d=/tmp/opsdeck-report/$name
rm -rf "$d" && mkdir -p "$d"
printf "$ini" > "$d/opsdeck.ini"
"$bin" --headless --api-port 0 --data-dir "$d/data" --config "$d/opsdeck.ini" > "$d/out.txt" 2> "$d/err.txt" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q '^OPSDECK_API ' "$d/out.txt" && break; sleep 0.1; done
api=$(sed -n 's/^OPSDECK_API //p' "$d/out.txt")
[ -n "$api" ] || { echo "opsdeck did not start:" >&2; cat "$d/err.txt" >&2; exit 3; }
# The API needs its key (printed before OPSDECK_API, so it is there now).
key=$(cat "$(sed -n 's/^OPSDECK_API_KEY_FILE //p' "$d/out.txt")")
sleep 5 # warm-up: first cycles, cache filled
curl -s -H "X-API-Key: $key" "$api/agents" > "$d/agents0.json"
t0=$(date +%s.%N)
sleep "$secs"
curl -s -H "X-API-Key: $key" "$api/agents" > "$d/agents1.json"
t1=$(date +%s.%N)
read -r utime stime <<< "$(awk '{print $14, $15}' /proc/$pid/stat)"
start=$(awk '{print $22}' /proc/$pid/stat)
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
tck=$(getconf CLK_TCK)
up=$(awk '{print $1}' /proc/uptime)
kill -TERM $pid; wait $pid || true; trap - EXIT
python3 - "$d" "$t0" "$t1" "$utime" "$stime" "$tck" "$rss" "$start" "$up" <<'PY'
import json, sys
d, t0, t1, ut, st, tck, rss, start, up = sys.argv[1:]
before = {a['id']: a for a in json.load(open(d + '/agents0.json'))['agents']}
after = {a['id']: a for a in json.load(open(d + '/agents1.json'))['agents']}
elapsed = float(t1) - float(t0)
life = float(up) - int(start) / int(tck)
cpu = (int(ut) + int(st)) / int(tck)
calls = hits = 0
for key, agent in after.items():
    m, s = agent['metrics'], agent.get('schedule', {})
    done = m['cycles_completed'] - before[key]['metrics']['cycles_completed']
    calls += m['api_calls']; hits += m['cache_hits']
    print(f"{key:20s} {done / elapsed:9.1f} cycles/s  failed {m['cycles_failed']}  "
          f"run p50 {s.get('duration_p50_ms', 0):.2f} p99 {s.get('duration_p99_ms', 0):.2f} ms  "
          f"drift p99 {s.get('drift_p99_ms', 0):.2f} ms  api_calls {m['api_calls']}  "
          f"cache_hits {m['cache_hits']}  errors {m['errors']}")
share = hits / (calls + hits) * 100 if calls + hits else 0
print(f"market-data calls answered by the cache: {hits} of {calls + hits} ({share:.1f} %)")
print(f"process: {cpu:.2f} s CPU over {life:.1f} s ({cpu / life * 100:.1f} % of one core), RSS {int(rss) / 1024:.1f} MiB")
PY
grep -h "Summary" "$d/err.txt" || true
