#!/usr/bin/env bash
# Every figure in docs/performance.md: server pinned to core 0, load to core 1.
# Usage: tools/measure.sh OUT_DIR   (takes several minutes)
set -uo pipefail
out=${1:?output directory}; mkdir -p "$out"
bin=.venv/bin
port=18200

serve() {  # serve SYNC_MODE
  rm -rf /tmp/chatd-measure && mkdir -p /tmp/chatd-measure
  local t0; t0=$(date +%s.%N)
  CHATD_LOG_LEVEL=warning CHATD_STORAGE_SYNCHRONOUS=$1 \
    taskset -c 0 $bin/chatd serve --data-dir /tmp/chatd-measure --port $port > "$out/serve-$1.log" 2>&1 &
  until grep -q "chatd is running" "$out/serve-$1.log" 2>/dev/null; do sleep 0.01; done
  echo "startup_s $(echo "$(date +%s.%N) - $t0" | bc)" > "$out/startup-$1.txt"
  pid=$(pgrep -f "chatd serve --data-dir /tmp/chatd-measure" | head -1)
  sleep 1; grep VmRSS /proc/$pid/status >> "$out/startup-$1.txt"
  token=$(grep -o 'token=[^ ]*' "$out/serve-$1.log" | cut -d= -f2)
  admin=$($bin/python -c "import httpx,sys; print(httpx.post('http://127.0.0.1:$port/api/v1/setup', json={'setup_token': '$token', 'username': 'benchadmin', 'password': 'bench-password-1'}).json()['token'])")
}

bench() {  # bench NAME ARGS...
  local name=$1; shift
  echo "\$ taskset -c 1 chatd bench --url http://127.0.0.1:$port --token ADMIN $*" > "$out/$name.txt"
  taskset -c 1 $bin/chatd bench --url http://127.0.0.1:$port --token "$admin" "$@" >> "$out/$name.txt" 2>&1
}

serve normal
bench fanout-300 --members 50 --senders 5 --rate 300 --duration 10
bench fanout-600 --members 50 --senders 5 --rate 600 --duration 10
bench fanout-1000-floor --members 50 --senders 5 --rate 1000 --duration 10 --floor
bench single-sender --members 1 --senders 1 --rate 100 --duration 5
bench persisted-ws-normal --members 50 --senders 50 --rate 5000 --duration 10
bench persisted-http-normal --members 50 --senders 50 --rate 2000 --duration 10 --http
bench idle-10000 --idle 10000
kill %1; wait
serve full
bench persisted-ws-full --members 50 --senders 50 --rate 5000 --duration 10
bench persisted-http-full --members 50 --senders 50 --rate 2000 --duration 10 --http
bench single-sender-full --members 1 --senders 1 --rate 100 --duration 5
kill %1; wait
echo done > "$out/DONE"
