"""Process and file helpers for the real-peer suite (tests/peers).

Every process is started in its own session (setsid), with stdout+stderr going to a log file, and is
tracked in `_ALL` so a backstop can kill whatever a failing fixture left behind. Only process groups
and descendants of processes started here are ever signalled.
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# the crossbar console script of the venv running pytest (.venv-peers), unless overridden
CROSSBAR = os.environ.get("CROSSBAR") or str(Path(sys.executable).parent / "crossbar")
MREALM_BIN = os.environ.get("MREALM_BIN") or str(ROOT / "target" / "debug" / "mrealm")

# environment variables that must never leak from the caller into a peer process
_SCRUB = ("CROSSBAR_FABRIC_SUPERUSER", "CROSSBAR_WATCH_TO_PAIR", "CROSSBAR_FABRIC_URL", "CROSSBAR_NODE_ID",
          "CROSSBAR_DIR", "CROSSBAR_CONFIG", "CROSSBAR_NODE_CLUSTER_IP")

CONNECTED = "Connected to Crossbar.io Master"  # edge node log line once its uplink joined

_ALL = []  # every Proc ever started (backstop cleanup)


def crossbar_available():
    """(ok, reason): whether the crossbar console script of this venv exists and imports."""
    if not os.access(CROSSBAR, os.X_OK):
        return False, f"crossbar not installed in this venv ({CROSSBAR} missing); run scripts/test to create .venv-peers"
    # find_spec only: importing crossbar here would pin txaio to Twisted (the suite's client uses asyncio)
    if importlib.util.find_spec("crossbar") is None:
        return False, f"crossbar is not installed in {sys.executable}; run scripts/test to create .venv-peers"
    return True, ""


def free_port():
    """A TCP port on 127.0.0.1 that is free right now (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peer_env(home, **extra):
    """A clean environment for a peer process: HOME redirected, no inherited CROSSBAR_* variables."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def run(argv, env, timeout=60, cwd=None):
    """Run a command to completion (bounded). Returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, start_new_session=True)


def _children(pid):
    """Direct children of pid (from /proc)."""
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # field 4 (ppid) comes after the parenthesised command name, which may contain spaces
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            kids.append(int(d.name))
    return kids


def _descendants(pid):
    out, todo = [], [pid]
    while todo:
        for k in _children(todo.pop()):
            out.append(k)
            todo.append(k)
    return out


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as dead
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


class Proc:
    """A long-running peer process in its own session, output in `log_path`."""

    def __init__(self, name, argv, env, log_path, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        # a restarted peer appends to the same log: log() and wait_log() see only this process's part
        self._log_offset = self._log.tell()
        self.popen = subprocess.Popen(self.argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.popen.pid
        self.started = time.monotonic()
        _ALL.append(self)

    def log(self):
        """What this process wrote to its log (not what an earlier run of the same peer wrote there)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def running(self):
        return self.popen.poll() is None

    def wait_log_count(self, needle, count, timeout):
        """Wait until `needle` appears `count` times in the log. Returns whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(needle) >= count:
                return True
            time.sleep(0.05)
        return self.log().count(needle) >= count

    def wait_log(self, needle, timeout):
        """Wait until `needle` appears in the log; fail early if the process exits. Returns seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if needle in self.log():
                return time.monotonic() - t0
            if not self.running():
                if needle in self.log():
                    return time.monotonic() - t0
                raise AssertionError(f"{self.name} exited with {self.popen.returncode} before logging {needle!r}\n"
                                     f"--- {self.log_path} (tail) ---\n{self.log_tail()}")
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: {needle!r} not in log after {timeout} s\n"
                             f"--- {self.log_path} (tail) ---\n{self.log_tail()}")

    def wait_exit(self, timeout):
        """Exit code, or None if still running after `timeout` seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self):
        """SIGKILL the main process only (like `nodectl.sh kill`); children are left to notice by themselves."""
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, grace=15.0):
        """SIGTERM the process group, SIGKILL it after `grace` s, then kill any surviving descendant.

        Returns the exit code of the main process (negative = killed by that signal).
        """
        victims = _descendants(self.pid) if self.running() else []
        if self.running():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        code = self.wait_exit(grace)
        if code is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            code = self.popen.wait(timeout=10)
        # the group may still hold workers (or the main pid died earlier, e.g. kill9); reap what is left
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in victims:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()
        return code


def kill_all_leftovers():
    """Backstop: stop every Proc still running (used at session end and on interpreter exit)."""
    for p in _ALL:
        try:
            if p.running() or not p._log.closed:
                p.stop(grace=5)
        except Exception:
            pass


def parse_keyfile(path):
    """The `tag: value` lines of a crossbar key / activation file (after the first blank line)."""
    tags = {}
    text = Path(path).read_text()
    _, _, body = text.partition("\n\n")
    for line in body.splitlines():
        if ":" in line:
            k, _, v = line.partition(":")
            tags[k.strip()] = v.strip()
    return tags


def node_config(port):
    """Local edge node config (shape of the peer recipe's up.sh): one router worker, realm1, loopback only."""
    return {
        "version": 2,
        "controller": {"options": {"shutdown": ["shutdown_on_shutdown_requested"],
                                   "enable_parallel_worker_start": True}},
        "workers": [{
            "id": "router1", "type": "router",
            "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [{
                "uri": "", "match": "prefix",
                "allow": {"call": True, "register": True, "publish": True, "subscribe": True},
                "disclose": {"caller": False, "publisher": False}, "cache": True}]}]}],
            "transports": [{"type": "websocket",
                            "endpoint": {"type": "tcp", "port": port, "interface": "127.0.0.1"},
                            "serializers": ["cbor", "msgpack", "json"]}],
        }],
    }


def write_node_config(cbdir, port):
    (Path(cbdir) / "config.json").write_text(json.dumps(node_config(port), indent=2))
