#!/usr/bin/env bash
# Starts the real Crossbar.io master (pinned crossbar 26.10.1 from PyPI) on 127.0.0.1 for the
# master benchmarks, adapted from /work/shared/peers/crossbar/RECIPE.md: the built-in master
# config with the blockchain and the autobahn archive resource removed, bound to loopback.
#
#   bench/crossbar-master.sh start PORT DIR SUPERUSER_PUB  -> prints the PID when "booted and ready"
#   bench/crossbar-master.sh stop DIR
#
# The master process group (controller + router worker + container worker) is signalled on stop.
# The venv comes from CROSSBAR_VENV (default .venv-peers in the project root; see tests/peers).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV=${CROSSBAR_VENV:-$ROOT/.venv-peers}

start() {
  local port=$1 dir=$2 su=$3
  [ -x "$VENV/bin/crossbar" ] || { echo "no crossbar in $VENV (set CROSSBAR_VENV)" >&2; return 1; }
  mkdir -p "$dir/master" "$dir/home"
  cat >"$dir/master/config.json" <<JSON
{
  "version": 2,
  "controller": {"blockchain": null},
  "workers": [
    {"transports": ["COPY", "COPY",
       {"endpoint": {"type": "tcp", "port": $port, "interface": "127.0.0.1"},
        "paths": {"autobahn": null}}]},
    "COPY"
  ]
}
JSON
  HOME="$dir/home" CROSSBAR_FABRIC_SUPERUSER="$su" CROSSBAR_FABRIC_URL="ws://127.0.0.1:$port/ws" \
    setsid "$VENV/bin/crossbar" master start --cbdir "$dir/master" --color false \
    >"$dir/master.log" 2>&1 </dev/null &
  echo $! >"$dir/master.pid"
  for _ in $(seq 1 900); do
    if grep -q "booted and ready" "$dir/master.log" 2>/dev/null; then cat "$dir/master.pid"; return 0; fi
    kill -0 "$(cat "$dir/master.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "crossbar master not ready; see $dir/master.log" >&2
  tail -20 "$dir/master.log" >&2
  return 1
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/master.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) start "$2" "$3" "$4" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 start PORT DIR SUPERUSER_PUB | stop DIR" >&2; exit 2 ;;
esac
