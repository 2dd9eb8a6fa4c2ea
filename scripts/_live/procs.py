"""Child processes of a live deployment: each in its own session, logged to a file, stopped as a group."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MARKER_VAR = "IRODS_LIVE_MARKER"


def free_port() -> int:
    """A loopback port that was free a moment ago (bind to 0, read, close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> None:
    """Poll ``check`` until it returns True; raise TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Child:
    """One started process: its name, Popen, log file and the signal that stops it cleanly."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM


@dataclass
class Processes:
    """Starts processes in new sessions and stops them all (reverse order), checking nothing is left."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)
    marker: str = field(default_factory=lambda: secrets.token_hex(8))

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> Child:
        """Start ``argv`` in a new session with stdout and stderr appended to ``<log_dir>/<name>.log``."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env={**env, MARKER_VAR: self.marker},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )
        child = Child(name, popen, log, stop_signal)
        self.children.append(child)
        return child

    def check_alive(self) -> None:
        """Raise RuntimeError naming any child that already exited (with the tail of its log)."""
        for child in self.children:
            code = child.popen.poll()
            if code is not None:
                tail = child.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{child.name} exited with status {code}; log tail:\n{tail}")

    def sessions(self) -> set[int]:
        """Session ids of every child started (each child leads its own session)."""
        return {c.popen.pid for c in self.children}

    def leftovers(self) -> list[str]:
        """Live processes in our children's sessions or carrying our marker variable (name and pid)."""
        found = []
        sids = self.sessions()
        for proc in psutil.process_iter(["pid", "name"]):
            with contextlib.suppress(psutil.Error, OSError):
                if proc.status() == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
                    continue
                if os.getsid(proc.pid) in sids or proc.environ().get(MARKER_VAR) == self.marker:
                    found.append(f"{proc.info['name']}[{proc.pid}]")
        return found

    def kill_marked(self) -> None:
        """SIGKILL every process carrying our marker (those that left their session, e.g. by setsid)."""
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error, OSError):
                if proc.pid != os.getpid() and proc.environ().get(MARKER_VAR) == self.marker:
                    proc.kill()

    def stop_all(self, *, grace: float = 20.0) -> list[str]:
        """Signal every session (newest first), wait, SIGKILL what remains; return what survived even that."""
        for child in reversed(self.children):
            if child.popen.poll() is None:
                _signal_group(child.popen.pid, child.stop_signal)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.popen.wait(timeout=grace)
        for sid in self.sessions():
            _signal_group(sid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            wait_until("process groups to exit", lambda: not self.leftovers(), timeout=grace)
        for sid in self.sessions():
            _signal_group(sid, signal.SIGKILL)
        self.kill_marked()
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(timeout=5)
        with contextlib.suppress(TimeoutError):
            wait_until("killed processes to vanish", lambda: not self.leftovers(), timeout=5)
        return self.leftovers()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
