"""Start the router under test: mrealm (default) or a real Crossbar.io for reference.

MREALM_TARGET=mrealm   (default) runs `$MREALM_BIN router --listen 127.0.0.1:0 --realm realm1 --realm realm2`
                       and reads the port from its single stdout line.
MREALM_TARGET=crossbar runs `$CROSSBAR start --cbdir <tmp>` with an equivalent router config.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REALMS = ("realm1", "realm2")
LISTEN_LINE = re.compile(r"^mrealm router listening on (wss?://127\.0\.0\.1:(\d+)/ws)\s*$")


@dataclass
class Router:
    target: str
    url: str
    proc: subprocess.Popen
    log_path: Path

    def stop(self, grace=10.0):
        """SIGTERM, wait, then SIGKILL our own process group. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # group created by start_new_session
                self.proc.wait(5)
        if self.target == "crossbar":
            # crossbar's worker processes share the group; make sure none outlives the test run
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.proc.returncode

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def start_mrealm(logdir: Path, timeout=20.0, extra_args=(), realms=REALMS, env=None) -> Router:
    """Start `mrealm router` on a free port; `extra_args` go after the realms (auth, TLS)."""
    binary = os.environ.get("MREALM_BIN", str(ROOT / "target" / "debug" / "mrealm"))
    if not os.path.exists(binary):
        raise RuntimeError(f"mrealm binary not found at {binary} (run `cargo build -p mrealm` or set MREALM_BIN)")
    args = [binary, "router", "--listen", "127.0.0.1:0"]
    for realm in realms:
        args += ["--realm", realm]
    args += list(extra_args)
    log_path = logdir / "mrealm-router.stderr.log"
    stderr = open(log_path, "wb")
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True, env=env
    )
    stderr.close()
    router = Router("mrealm", "", proc, log_path)
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            router.stop()
            raise RuntimeError(
                f"mrealm router did not print its listen line (exit={proc.returncode}, stdout={buf!r})\n"
                + router.log_tail()
            )
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.2))
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            continue
        buf += chunk
        if b"\n" in buf:
            line = buf.split(b"\n", 1)[0].decode("utf-8", "replace")
            m = LISTEN_LINE.match(line)
            if not m:
                router.stop()
                raise RuntimeError(f"unexpected first stdout line from mrealm: {line!r}")
            router.url = m.group(1)
            return router


def crossbar_config(port: int) -> dict:
    role = {
        "name": "anonymous",
        "permissions": [
            {
                "uri": "",
                "match": "prefix",
                "allow": {"call": True, "register": True, "publish": True, "subscribe": True},
                "disclose": {"caller": True, "publisher": True},
                "cache": True,
            }
        ],
    }
    return {
        "version": 2,
        "controller": {},
        "workers": [
            {
                "type": "router",
                "realms": [{"name": name, "roles": [role]} for name in REALMS],
                "transports": [
                    {
                        "type": "web",
                        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": port},
                        "paths": {
                            "ws": {
                                "type": "websocket",
                                "serializers": ["json", "msgpack", "cbor"],
                                "options": {"auto_ping_interval": 0},
                            }
                        },
                    }
                ],
            }
        ],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def start_crossbar(logdir: Path, timeout=60.0) -> Router:
    crossbar = os.environ.get("CROSSBAR", "/tmp/cbvenv/bin/crossbar")
    cbdir = logdir / "crossbar-node"
    cbdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (cbdir / "config.json").write_text(json.dumps(crossbar_config(port), indent=2))
    log_path = logdir / "crossbar.log"
    out = open(log_path, "wb")
    env = dict(os.environ, HOME=str(logdir))  # keep ~/.crossbar out of the real home
    proc = subprocess.Popen(
        [crossbar, "start", "--cbdir", str(cbdir), "--color", "false"],
        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    out.close()
    router = Router("crossbar", f"ws://127.0.0.1:{port}/ws", proc, log_path)
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            router.stop()
            raise RuntimeError(f"crossbar did not open port {port}\n" + router.log_tail())
        time.sleep(0.2)
    return router


def start(target: str, logdir: Path) -> Router:
    logdir.mkdir(parents=True, exist_ok=True)
    if target == "mrealm":
        return start_mrealm(logdir)
    if target == "crossbar":
        return start_crossbar(logdir)
    raise ValueError(f"unknown MREALM_TARGET {target!r} (mrealm or crossbar)")
