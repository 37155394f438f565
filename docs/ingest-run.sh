#!/usr/bin/env bash
# Ingest load run (docs/PERFORMANCE.md): run from a clone of inboxd.
# usage: docs/ingest-run.sh REV pg|sqlite SENDERS DURATION
# Builds REV into /tmp/bench/REV, starts it on a fresh database (PostgreSQL:
# database "bench" on 127.0.0.1:5432), runs inboxbench ingest and prints the
# daemon's and PostgreSQL's CPU per acknowledged message (/proc/<pid>/stat).
set -euo pipefail
rev=$(git rev-parse --short "$1") store=$2 senders=${3:-64} dur=${4:-20s}
B=/tmp/bench/$rev
if [ ! -x $B/inboxd ]; then
  rm -rf /tmp/bench/src-$rev; git worktree add -q --detach /tmp/bench/src-$rev $rev
  (cd /tmp/bench/src-$rev && go build -o $B/inboxd ./cmd/inboxd && go build -o $B/inboxbench ./cmd/inboxbench)
  git worktree remove --force /tmp/bench/src-$rev
fi
port=18482
rm -rf /tmp/bench/data && mkdir -p /tmp/bench/data
if [ $store = pg ]; then
  psql -q -h 127.0.0.1 -U postgres -c 'drop database if exists bench' -c 'create database bench'
  db='database: {url: "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable"}'
else
  db='database: {url: sqlite:/tmp/bench/data/inboxd.db}'
fi
cat > /tmp/bench/cfg.yaml <<YAML
listen: 127.0.0.1:$port
data_dir: /tmp/bench/data
$db
bootstrap_owner: {email: owner@example.com, password: bench-password-123}
log: {level: warn}
queues: [{id: support, name: Support}]
channels:
  - {id: site, kind: widget, name: Website, queue: support}
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: bench-secret-0123456789}
YAML
INBOXD_PPROF_ADDR=127.0.0.1:6061 $B/inboxd serve --config /tmp/bench/cfg.yaml >/tmp/bench/daemon.log 2>&1 &
dpid=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 0.2; done
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pgcpu() { local s=0; for p in $(pgrep -u postgres); do v=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); s=$((s+v)); done; echo $s; }
d0=$(cpu $dpid); p0=$(pgcpu)
$B/inboxbench ingest --url http://127.0.0.1:$port --channel crm --secret bench-secret-0123456789 --password bench-password-123 \
  --senders $senders --conversations 1000 --duration $dur | tee /tmp/bench/out.txt
d1=$(cpu $dpid); p1=$(pgcpu)
n=$(grep -oE 'OK \(([0-9,]+)' /tmp/bench/out.txt | tr -dc 0-9 || true)
[ -z "$n" ] && n=$(grep -oiE '[0-9,]+ (messages|acknowledged)' /tmp/bench/out.txt | head -1 | tr -dc 0-9)
tck=$(getconf CLK_TCK)
python3 -c "n=$n; print(f'messages {n}  daemon CPU/msg {($d1-$d0)/$tck/n*1000:.3f} ms  postgres CPU/msg {($p1-$p0)/$tck/n*1000:.3f} ms')"
kill $dpid; wait $dpid 2>/dev/null || true
