#!/usr/bin/env bash
# Every figure in docs/performance.md: the server pinned to core 0, the load to core 1.
# Usage: tools/measure.sh OUT_DIR   (about fifteen minutes)
# SERVER_SRC=OTHER/src: the server from another checkout's code (the load stays this one's).
set -uo pipefail
out=${1:?output directory}; mkdir -p "$out"
logs=$(mktemp -d)  # the server's own output (it prints a setup token): kept out of $out
bin=.venv/bin
port=18200

serve() {  # serve SYNC_MODE: a fresh server, its start-up time and RSS at rest, an admin
  pkill -f "chatd serve --data-dir /tmp/chatd-measure" ; sleep 1
  rm -rf /tmp/chatd-measure && mkdir -p /tmp/chatd-measure
  local t0; t0=$(date +%s.%N)
  PYTHONPATH=${SERVER_SRC:-} CHATD_STORAGE_SYNCHRONOUS=$1 \
    taskset -c 0 $bin/python -m chatd serve --data-dir /tmp/chatd-measure --port $port > "$logs/serve-$1.log" 2>&1 &
  until grep -q "chatd is running" "$logs/serve-$1.log" 2>/dev/null; do sleep 0.01; done
  echo "startup_s $(echo "$(date +%s.%N) - $t0" | bc)" > "$out/startup-$1.txt"
  local pid; pid=$(pgrep -f "chatd serve --data-dir /tmp/chatd-measure" | head -1)
  sleep 1; grep VmRSS /proc/$pid/status >> "$out/startup-$1.txt"
  local token; token=$(grep -o 'token=[^ ]*' "$logs/serve-$1.log" | cut -d= -f2)
  admin=$($bin/python -c "import httpx; print(httpx.post('http://127.0.0.1:$port/api/v1/setup', json={'setup_token': '$token', 'username': 'benchadmin', 'password': 'bench-password-1'}).json()['token'])")
}

bench() {  # bench NAME ARGS...
  local name=$1; shift
  echo "\$ taskset -c 1 chatd bench --url http://127.0.0.1:$port --token ADMIN $*" > "$out/$name.txt"
  taskset -c 1 $bin/chatd bench --url http://127.0.0.1:$port --token "$admin" "$@" >> "$out/$name.txt" 2>&1
}

for sync in normal full; do
  serve $sync
  bench single-sender-$sync --members 1 --senders 1 --rate 100 --duration 5
  bench single-sender-closed-$sync --members 1 --senders 1 --closed --duration 5
  bench http-writepath-$sync --members 50 --senders 50 --rate 3000 --duration 10 --http --listeners 0
  bench ws-writepath-$sync --members 50 --senders 50 --rate 12000 --duration 10 --listeners 0
done
serve normal
bench fanout-500 --members 50 --senders 5 --rate 500 --duration 10
bench fanout-1000-floor --members 50 --senders 5 --rate 1000 --duration 10 --floor strict
bench fanout-2000-floor --members 50 --senders 5 --rate 2000 --duration 10 --floor strict
bench fanout-3000-floor --members 50 --senders 5 --rate 3000 --duration 10 --floor strict
bench fanout-4000 --members 50 --senders 5 --rate 4000 --duration 10
bench fanout-4500-floor --members 50 --senders 5 --rate 4500 --duration 10 --floor strict
bench idle-10000 --idle 10000
pkill -f "chatd serve --data-dir /tmp/chatd-measure"
echo "done: $out"
