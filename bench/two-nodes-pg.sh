#!/usr/bin/env bash
# Mail throughput of two proxies sharing PostgreSQL against one proxy on its local SQLite file.
#
#   bench/two-nodes-pg.sh [connections] [messages-per-connection]
#
# Both runs send the same load (CONNS sessions in total, MSGS messages each) from the SpamAssassin corpus to the
# proxies' relayPort with recipients in remote.example, so every message is outgoing mail and the proxy learns
# its recipient into the whitelist (a store write per message). Run 1: one `assp run` with every table in SQLite.
# Run 2: two `assp run` processes with whitelistdb, redlistdb, delaydb and pbdb set to DB: in one private
# PostgreSQL cluster (created in a temp folder; as nobody when run as root), each taking half the sessions at the
# same time. In between, two nodes each on its own SQLite file separate the cost of a second process on the same
# machine from the cost of sharing. Each run has its own Postfix smtp-sink(s) started by the load benchmark. Prints msgs/s and the ratio.
# Needs: the Release builds of src/Assp.Server and bench/Assp.LoadBench, postgresql, postfix (smtp-sink).
set -euo pipefail
CONNS=${1:-16}
MSGS=${2:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ASSP="$ROOT/src/Assp.Server/bin/Release/net10.0/assp"
LOADBENCH="$ROOT/bench/Assp.LoadBench/bin/Release/net10.0/Assp.LoadBench.dll"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/assp-two-nodes.XXXXXX)
chmod 755 "$WORK"
pids=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The private PostgreSQL.
mkdir -p "$WORK/pg"
echo bench > "$WORK/pg/pwfile"
[ "$(id -u)" = 0 ] && chown -R nobody "$WORK/pg"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U assp --pwfile="$WORK/pg/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
  -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start -o "-h 127.0.0.1 -p $PGPORT -k $WORK/pg" >/dev/null
as_pg "$PGBIN/createdb" -h "$WORK/pg" -p "$PGPORT" -U assp assp

# start_node NAME RELAYPORT SINKPORT [--set ...]: an assp instance in its own base folder.
start_node() {
  local name=$1 relay=$2 sink=$3; shift 3
  "$ASSP" run --base "$WORK/$name" --set "listenPort=127.0.0.1:$(free_port)" --set "relayPort=127.0.0.1:$relay" \
    --set "smtpDestination=127.0.0.1:$sink" --set localDomains=example.com --set maxSMTPipSessions=0 --set DoDamping=0 \
    --set maxSMTPSessions=0 --set WhitelistLocalFromOnly=0 "$@" >"$WORK/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do grep -q "ready;" "$WORK/$name/logs/maillog.txt" 2>/dev/null && return 0; sleep 0.1; done
  echo "node $name did not start:"; cat "$WORK/$name.out"; exit 1
}
# load NAME RELAYPORT SINKPORT CONNECTIONS: the load benchmark against an already running node.
load() {
  dotnet "$LOADBENCH" --mode proxy --proxy-endpoint "127.0.0.1:$2" --sink-port "$3" --connections "$4" \
    --messages-per-connection "$MSGS" --rcpt-domain remote.example --json "$WORK/$1.json" >"$WORK/$1.txt" 2>&1
}
# Run 1: one node, SQLite.
R1=$(free_port); S1=$(free_port)
start_node sqlite "$R1" "$S1"
load sqlite "$R1" "$S1" "$CONNS"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# Run 2: two nodes, each on its own SQLite file (nothing shared): what a second process costs on this machine.
RA=$(free_port); SA=$(free_port); RB=$(free_port); SB=$(free_port)
start_node local-a "$RA" "$SA"
start_node local-b "$RB" "$SB"
load local-a "$RA" "$SA" $((CONNS / 2)) &
la=$!
load local-b "$RB" "$SB" $((CONNS - CONNS / 2)) &
lb=$!
wait "$la" "$lb"
kill "${pids[-1]}" "${pids[-2]}"; wait "${pids[-1]}" "${pids[-2]}" 2>/dev/null || true

# Run 3: two nodes, PostgreSQL, half the sessions each at the same time.
PG=(--set DBdriver=Pg --set "myhost=127.0.0.1:$PGPORT" --set mydb=assp --set myuser=assp --set mypassword=bench
    --set whitelistdb=DB: --set redlistdb=DB: --set delaydb=DB: --set pbdb=DB:)
RA=$(free_port); SA=$(free_port); RB=$(free_port); SB=$(free_port)
start_node node-a "$RA" "$SA" "${PG[@]}"
start_node node-b "$RB" "$SB" "${PG[@]}"
load node-a "$RA" "$SA" $((CONNS / 2)) &
la=$!
load node-b "$RB" "$SB" $((CONNS - CONNS / 2)) &
lb=$!
wait "$la" "$lb"
sleep 1
rows=$(PGPASSWORD=bench psql -h 127.0.0.1 -p "$PGPORT" -U assp -d assp -Atc "SELECT count(*) FROM t_whitelist WHERE value IS NOT NULL" 2>/dev/null <<<"" || echo "?")

python3 - "$WORK" "$rows" <<'EOF'
import json, sys
work, rows = sys.argv[1], sys.argv[2]
def run(name):
    r = json.load(open(f"{work}/{name}.json"))["runs"][0]
    get = lambda *keys: next(r[k] for k in keys if k in r)
    return get("messages"), get("failed"), get("seconds")
s_ok, s_fail, s_sec = run("sqlite")
la_ok, la_fail, la_sec = run("local-a")
lb_ok, lb_fail, lb_sec = run("local-b")
local2 = (la_ok + lb_ok) / max(la_sec, lb_sec)
a_ok, a_fail, a_sec = run("node-a")
b_ok, b_fail, b_sec = run("node-b")
one = s_ok / s_sec
two = (a_ok + b_ok) / max(a_sec, b_sec)
print(f"one node, SQLite:      {s_ok} messages ({s_fail} failed) in {s_sec:.2f} s = {one:.1f} msgs/s")
print(f"two nodes, own SQLite: {la_ok}+{lb_ok} messages ({la_fail + lb_fail} failed) in {max(la_sec, lb_sec):.2f} s = {local2:.1f} msgs/s")
print(f"two nodes, PostgreSQL: {a_ok}+{b_ok} messages ({a_fail + b_fail} failed) in {max(a_sec, b_sec):.2f} s = {two:.1f} msgs/s")
print(f"ratio two nodes on PostgreSQL / one node on SQLite: {two / one:.3f}")
print(f"ratio two nodes on PostgreSQL / two nodes on their own SQLite: {two / local2:.3f}")
print(f"whitelist rows in PostgreSQL after the run: {rows}")
EOF
for run in sqlite local-a local-b node-a node-b; do
  echo "$run: $(grep -ho 'proxy CPU [^;]*' "$WORK/$run.txt" | head -1)"
done
