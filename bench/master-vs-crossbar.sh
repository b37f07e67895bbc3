#!/usr/bin/env bash
# Master benchmarks, mrealm vs the Python Crossbar.io master, side by side in one run.
#
# Builds mrealm (release), creates one superuser key in a temp dir, starts `mrealm master start`
# and the Python master (bench/crossbar-master.sh, crossbar 26.10.1 from .venv-peers) on free
# loopback ports with temp state dirs, runs each `mrealm bench <scenario>` against both
# (interleaved), stops both, then prints a side-by-side table with ratios
# (bench/master-compare.py) and writes bench/results/<date>-master.json.
# The router throughput runner (bench/router-vs-crossbar.sh) is included as scenario "router".
#
#   bench/master-vs-crossbar.sh            # quick run (~5 minutes after the build)
#   bench/master-vs-crossbar.sh --full     # full run (longer windows, larger fleets)
#   SCENARIOS="mgmt idle" bench/master-vs-crossbar.sh
#
# Settings (environment): SCENARIOS (mgmt router idle liveness scale ingest; ingest last because
# it can leave the Python master with a backlog), PAIR (100 nodes
# for mgmt), WINDOW (16 calls in flight), MGMT_DURATION (s per phase), IDLE_WINDOW (s),
# IDLE_NODES (1000), SCALE_NODES (list), CB_SCALE_NODES (list for the Python master),
# INGEST_NODES, INGEST_PERIODS (ms, list), CROSSBAR_VENV (.venv-peers), MREALM_BIN (skip build).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

MODE=quick
[ "${1:-}" = "--full" ] && MODE=full
if [ $MODE = full ]; then
  : "${MGMT_DURATION:=10}" "${IDLE_WINDOW:=60}" "${SCALE_NODES:=1000 5000 10000 19000}"
  : "${CB_SCALE_NODES:=1000 2000}" "${INGEST_NODES:=2000}" "${INGEST_PERIODS:=10000 5000 2000 1000 500 250 100 50 20 10}"
  : "${ROUTER_DURATION:=10}" "${INGEST_STEP:=10}" "${LIVE_TRIALS:=5}"
else
  : "${MGMT_DURATION:=3}" "${IDLE_WINDOW:=10}" "${SCALE_NODES:=1000 5000}"
  : "${CB_SCALE_NODES:=1000}" "${INGEST_NODES:=1000}" "${INGEST_PERIODS:=5000 2000 1000 500 250 100 50 20 10}"
  : "${ROUTER_DURATION:=5}" "${INGEST_STEP:=5}" "${LIVE_TRIALS:=3}"
fi
SCENARIOS=${SCENARIOS:-"mgmt router idle liveness scale ingest"}
PAIR=${PAIR:-100}
WINDOW=${WINDOW:-16}
IDLE_NODES=${IDLE_NODES:-1000}
export CROSSBAR_VENV=${CROSSBAR_VENV:-$ROOT/.venv-peers}

WORK=$(mktemp -d /tmp/master-vs-crossbar.XXXXXX)
mkdir -p "$WORK/results"
MREALM_PID=""
cleanup() {
  if [ -n "$MREALM_PID" ]; then
    kill -TERM "$MREALM_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$MREALM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MREALM_PID" 2>/dev/null || true
  fi
  "$ROOT/bench/crossbar-master.sh" stop "$WORK/crossbar" || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "== $*" >&2; }

if [ -z "${MREALM_BIN:-}" ]; then
  log "building mrealm (release)"
  cargo build --release -p mrealm >&2
  MREALM_BIN="$ROOT/target/release/mrealm"
fi
BIN=$MREALM_BIN
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

log "superuser key in $WORK/su"
"$BIN" init --dir "$WORK/su" --yes >/dev/null
SU_PRIV="$WORK/su/default.priv"
SU_PUB="$WORK/su/default.pub"

log "starting mrealm master"
mkdir -p "$WORK/mrealm"
CROSSBAR_FABRIC_SUPERUSER="$SU_PUB" MREALM_LOG=warn \
  "$BIN" master start --cbdir "$WORK/mrealm" --listen 127.0.0.1:0 \
  >"$WORK/mrealm.out" 2>"$WORK/mrealm.log" </dev/null &
MREALM_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/mrealm.out" 2>/dev/null && break; sleep 0.1; done
MREALM_URL=$(sed -n 's/.*listening on \(ws:[^ ]*\).*/\1/p' "$WORK/mrealm.out" | head -1)
[ -n "$MREALM_URL" ] || { echo "mrealm master did not start; see $WORK/mrealm.log" >&2; exit 1; }
log "mrealm master pid $MREALM_PID at $MREALM_URL"

CB_PORT=$(free_port)
log "starting crossbar master on port $CB_PORT (about 6 s)"
CB_PID=$("$ROOT/bench/crossbar-master.sh" start "$CB_PORT" "$WORK/crossbar" "$SU_PUB")
CB_URL="ws://127.0.0.1:$CB_PORT/ws"
log "crossbar master pid $CB_PID at $CB_URL (tree: $(pgrep -P "$CB_PID" | tr '\n' ' '))"

# bench LABEL SCENARIO SUFFIX ARGS... : one scenario against one master
bench() {
  local label=$1 scenario=$2 suffix=$3 url pid
  shift 3
  if [ "$label" = mrealm ]; then url=$MREALM_URL pid=$MREALM_PID; else url=$CB_URL pid=$CB_PID; fi
  log "$label: $scenario $suffix $*"
  if ! timeout "${BENCH_TIMEOUT:-1800}" "$BIN" bench "$scenario" --url "$url" --master-pid "$pid" \
      --superuser-key "$SU_PRIV" --target "$label" \
      --json "$WORK/results/$label-$scenario$suffix.json" "$@"; then
    echo "!! $label $scenario $suffix failed (kept going)" >&2
  fi
}

# baseline TARGET: --baseline-rss-mib from the idle run with 0 nodes, if there was one
baseline() {
  local f="$WORK/results/$1-idle-0.json"
  [ -f "$f" ] && python3 -c 'import json,sys; print("--baseline-rss-mib", json.load(open(sys.argv[1]))["results"][0]["rss_bytes"] / 2**20)' "$f"
  return 0
}

has() { "$BIN" bench "$1" --help >/dev/null 2>&1; }

for scenario in $SCENARIOS; do
  case $scenario in
    mgmt)
      for t in mrealm crossbar; do
        bench $t mgmt "" --pair "$PAIR" --window "$WINDOW" --duration "$MGMT_DURATION"
      done ;;
    idle)
      for t in mrealm crossbar; do bench $t idle -0 --window "$IDLE_WINDOW"; done
      if "$BIN" bench idle --help | grep -q -- "--nodes"; then
        for t in mrealm crossbar; do
          bench $t idle "-$IDLE_NODES" --window "$IDLE_WINDOW" --nodes "$IDLE_NODES"
        done
      fi ;;
    router)
      log "router throughput (bench/router-vs-crossbar.sh)"
      # A free port can be taken again before the router binds it: one retry with new ports.
      for attempt in 1 2; do
        if DURATION=$ROUTER_DURATION MREALM_PORT=$(free_port) CROSSBAR_PORT=$(free_port) \
          ROUTER_OUT="$WORK/results/router.json" "$ROOT/bench/router-vs-crossbar.sh" >&2; then break; fi
        echo "!! router throughput failed (attempt $attempt)" >&2
      done ;;
    ingest|liveness)
      if has "$scenario"; then
        for t in mrealm crossbar; do
          if [ "$scenario" = ingest ]; then
            judge=stored; [ $t = crossbar ] && judge=processed
            bench $t ingest "" --nodes "$INGEST_NODES" --periods-ms "${INGEST_PERIODS// /,}" \
              --step "$INGEST_STEP" --judge "$judge"
          else
            bench $t liveness "" --trials "$LIVE_TRIALS"
          fi
        done
      else
        echo "!! mrealm bench $scenario not available in this build (skipped)" >&2
      fi ;;
    scale)
      if has scale; then
        bench mrealm scale "" --nodes "${SCALE_NODES// /,}" $(baseline mrealm)
        bench crossbar scale "" --nodes "${CB_SCALE_NODES// /,}" $(baseline crossbar)
      else
        echo "!! mrealm bench scale not available in this build (skipped)" >&2
      fi ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)-master.json"
python3 "$ROOT/bench/master-compare.py" "$OUT" "$WORK/results" --mode "$MODE" \
  --machine "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
  --load "before: $LOAD_BEFORE, after: $LOAD_AFTER"
echo "wrote $OUT (raw results in $WORK/results)" >&2
