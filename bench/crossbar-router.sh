#!/usr/bin/env bash
# Starts a real Crossbar.io router (pinned from PyPI) on 127.0.0.1 for side-by-side benchmarks:
# one router worker, realms realm1, anonymous role allowed everything, WebSocket on $PORT/ws.
#
#   bench/crossbar-router.sh start PORT DIR   -> prints the PID once the port accepts connections
#   bench/crossbar-router.sh stop DIR
#
# The venv comes from CROSSBAR_VENV (default .venv-crossbar in the project root), created with
# crossbar==26.10.1 on first use (takes a few minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV=${CROSSBAR_VENV:-$ROOT/.venv-crossbar}
CROSSBAR_VERSION=26.10.1

ensure_venv() {
  if [ ! -x "$VENV/bin/crossbar" ]; then
    echo "creating $VENV with crossbar==$CROSSBAR_VERSION (a few minutes) ..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "crossbar==$CROSSBAR_VERSION" >&2
  fi
}

start() {
  local port=$1 dir=$2
  ensure_venv
  mkdir -p "$dir/.crossbar" "$dir/home"
  cat >"$dir/.crossbar/config.json" <<JSON
{
  "version": 2,
  "controller": {},
  "workers": [{
    "type": "router",
    "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [
      {"uri": "", "match": "prefix", "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
       "disclose": {"caller": false, "publisher": false}, "cache": true}]}]}],
    "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": $port, "interface": "127.0.0.1"},
      "paths": {"ws": {"type": "websocket"}}}]
  }]
}
JSON
  HOME="$dir/home" setsid "$VENV/bin/crossbar" start --cbdir "$dir/.crossbar" --color false \
    >"$dir/crossbar.log" 2>&1 </dev/null &
  echo $! >"$dir/crossbar.pid"
  for _ in $(seq 1 300); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then cat "$dir/crossbar.pid"; return 0; fi
    sleep 0.1
  done
  echo "crossbar did not open port $port; see $dir/crossbar.log" >&2
  return 1
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/crossbar.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 start PORT DIR | stop DIR" >&2; exit 2 ;;
esac
