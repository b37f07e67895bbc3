#!/usr/bin/env bash
# Router throughput, mrealm vs Crossbar.io, in one run on this machine.
#
# Builds mrealm (release), starts `mrealm router` and a Crossbar 26.10.1 router (see
# crossbar-router.sh) on 127.0.0.1, runs the same `mrealm bench router` scenarios against each
# (RPC and PubSub; same clients, window, duration, payload, serializer), with each router's CPU
# time read from /proc over the measuring window, then prints a side-by-side table with the
# ratio mrealm/crossbar and writes bench/results/router-<date>.json. Both routers are stopped
# on exit.
#
#   bench/router-vs-crossbar.sh            # defaults: ~2 minutes after the build
#   CLIENTS=8 WINDOW=32 DURATION=20 bench/router-vs-crossbar.sh
#
# Settings (environment): CLIENTS (4), WINDOW (16), DURATION (10 s), WARMUP (2 s), PAYLOAD
# (64 bytes), SERIALIZER (cbor), MREALM_PORT (18080), CROSSBAR_PORT (18081), CROSSBAR_VENV,
# ROUTER_OUT (the result file; bench/master-vs-crossbar.sh sets it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

CLIENTS=${CLIENTS:-4}
WINDOW=${WINDOW:-16}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
PAYLOAD=${PAYLOAD:-64}
SERIALIZER=${SERIALIZER:-cbor}
MREALM_PORT=${MREALM_PORT:-18080}
CROSSBAR_PORT=${CROSSBAR_PORT:-18081}

WORK=$(mktemp -d /tmp/router-vs-crossbar.XXXXXX)
MREALM_PID=""
cleanup() {
  if [ -n "$MREALM_PID" ]; then
    kill -TERM "$MREALM_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$MREALM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MREALM_PID" 2>/dev/null || true
  fi
  "$ROOT/bench/crossbar-router.sh" stop "$WORK/crossbar" || true
}
trap cleanup EXIT

echo "== building mrealm (release)" >&2
cargo build --release -p mrealm >&2
BIN="$ROOT/target/release/mrealm"

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

echo "== starting mrealm router on 127.0.0.1:$MREALM_PORT" >&2
MREALM_LOG=warn "$BIN" router --listen "127.0.0.1:$MREALM_PORT" --realm realm1 \
  >"$WORK/mrealm.log" 2>&1 </dev/null &
MREALM_PID=$!
wait_port "$MREALM_PORT"

echo "== starting crossbar router on 127.0.0.1:$CROSSBAR_PORT" >&2
CB_PID=$("$ROOT/bench/crossbar-router.sh" start "$CROSSBAR_PORT" "$WORK/crossbar")
# Crossbar runs a controller and a router worker (its child): measure both.
sleep 1
CB_PIDS="$CB_PID $(pgrep -P "$CB_PID" | tr '\n' ' ')"
echo "   crossbar processes: $CB_PIDS" >&2

# bench LABEL PORT SCENARIO PIDS...
bench() {
  local label=$1 port=$2 scenario=$3
  shift 3
  local pid_args=()
  for p in "$@"; do pid_args+=(--router-pid "$p"); done
  echo "== $label: $scenario" >&2
  "$BIN" bench router --url "ws://127.0.0.1:$port/ws" --realm realm1 --label "$label" \
    --serializer "$SERIALIZER" --scenario "$scenario" --clients "$CLIENTS" --window "$WINDOW" \
    --duration "$DURATION" --warmup "$WARMUP" --payload "$PAYLOAD" \
    --json "$WORK/$label-$scenario.json" "${pid_args[@]}" >&2
}

# Interleaved, so slow drift of the machine hits both routers alike.
for scenario in rpc pubsub; do
  bench mrealm "$MREALM_PORT" "$scenario" "$MREALM_PID"
  # shellcheck disable=SC2086
  bench crossbar "$CROSSBAR_PORT" "$scenario" $CB_PIDS
done

mkdir -p "$ROOT/bench/results"
OUT=${ROUTER_OUT:-"$ROOT/bench/results/router-$(date +%Y%m%d-%H%M%S).json"}
python3 "$ROOT/bench/router-compare.py" "$OUT" \
  "$WORK/mrealm-rpc.json" "$WORK/mrealm-pubsub.json" \
  "$WORK/crossbar-rpc.json" "$WORK/crossbar-pubsub.json" \
  --machine "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "wrote $OUT" >&2
