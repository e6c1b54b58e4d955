#!/bin/sh
# One run of the backup-under-load measurement (docs/performance.md, "A backup while 1,000
# msg/s flow"). Usage: run.sh LABEL WITH_BACKUP(0|1) SERVER_SRC
# The data directory /tmp/hs-big was seeded first (server stopped) with
#   chatd bench --seed-messages 2000000 --data-dir /tmp/hs-big
# SERVER_SRC is a checkout's src/ (before: main at 20161e7; after: this change). The bench
# and the backup ran from this change's tree in the "after" runs and from main in "before"
# (whose bench did not report ack max yet: the delivery max stands in for it).
set -u
LABEL=$1; WITH=$2; SRC=$3
export PYTHONPATH=$SRC CHATD_AUTH_REGISTRATION=open CHATD_AUTH_DEFAULT_CHANNELS=""
OUT=/tmp/hs-measure/$LABEL; mkdir -p $OUT; DEST=${DEST:-/tmp/hs-backup}; rm -rf $DEST
taskset -c 0 python -m chatd serve --data-dir /tmp/hs-big --port 18290 > $OUT/server.log 2>&1 &
SP=$!
sleep 3
taskset -c 1 python -m chatd bench --url http://127.0.0.1:18290 --members 20 --senders 5 \
  --rate 1000 --duration 40 --json > $OUT/bench.json 2> $OUT/bench.err &
BP=$!
if [ "$WITH" = 1 ]; then
  sleep 12
  /usr/bin/time -v taskset -c 1 python -m chatd backup $DEST --data-dir /tmp/hs-big \
    > $OUT/backup.out 2> $OUT/backup.time
fi
wait $BP
kill -TERM $SP; wait $SP
