"""Debian's OpenSSH ``sshd`` on a free loopback port, for tests against a real production SFTP server.

Design choice: when started, the server creates a throwaway login user (``useradd``, random name
``irsftp<hex>``) whose home directory is the served ``root`` and whose password is random (set with
``chpasswd`` from stdin, never on a command line). This keeps tests away from root's own account, lets
several servers run at once, and makes SFTP's starting directory and commands' working directory both equal
``root`` (the path convention of :mod:`irods_provider.testing.sftp`). Creating users needs root, which CI
has; elsewhere :meth:`OpenSshServer.unavailable_reason` explains why the server cannot run and tests skip.
``stop()`` kills sshd and every process of its sessions, then deletes the user.

Two details make Debian's sshd start: the privilege-separation directory ``/run/sshd`` must exist, and
``StrictModes no`` because the key files live in a temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["OpenSshServer", "SshTestServer"]

_SSHD = Path("/usr/sbin/sshd")
_READY_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


class SshTestServer:
    """What every SSH/SFTP test server exposes; see :mod:`irods_provider.testing.sftp`.

    Example:

    ```python
    from irods_provider.testing.sftp import EmbeddedSftpServer, SshTestServer


    def sftp_connection_uri(server: SshTestServer) -> str:
        # The same for either server: EmbeddedSftpServer or OpenSshServer.
        return f"sftp://{server.username}:{server.password}@{server.host}:{server.port}"


    with EmbeddedSftpServer() as server:
        uri = sftp_connection_uri(server)
    ```
    """

    kind: str
    host: str
    port: int
    username: str
    password: str | None
    client_key_path: Path
    host_key_line: str
    root: Path
    remote_root: str

    @property
    def known_hosts_line(self) -> str:
        """The server's host key as an OpenSSH ``known_hosts`` line."""
        return f"[{self.host}]:{self.port} {self.host_key_line}"

    @property
    def host_key_fingerprint(self) -> str:
        """The SHA256 fingerprint of the host key, as ``ssh-keygen -l`` prints it."""
        import base64
        import hashlib

        blob = base64.b64decode(self.host_key_line.split()[1])
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
        return f"SHA256:{digest}"

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _run(*args: str, stdin: str | None = None) -> None:
    subprocess.run(args, input=stdin, text=True, check=True, capture_output=True, timeout=30)


class OpenSshServer(SshTestServer):
    """Debian's ``/usr/sbin/sshd -D -e`` from a temporary config on 127.0.0.1, with a throwaway user.

    ``max_sessions``: sshd's ``MaxSessions`` (sessions per SSH connection), OpenSSH's default 10 as sites
    run it; lower it to play a stricter site. ``sftp_subsystem``: the command behind ``Subsystem sftp``
    (default ``internal-sftp``); e.g. ``/bin/true`` plays a site whose SFTP session ends at once.

    Example:

    ```python
    from irods_provider.testing.sftp import OpenSshServer

    if OpenSshServer.unavailable_reason() is None:  # Debian's openssh-server is installed
        with OpenSshServer() as server:
            print(server.username, server.port, server.known_hosts_line)
    ```
    """

    kind = "openssh"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_sessions: int = 10,
        sftp_subsystem: str = "internal-sftp",
    ) -> None:
        self.host = host
        self.max_sessions = max_sessions
        self.sftp_subsystem = sftp_subsystem
        self.port = port
        self._requested_port = port
        self.username = f"irsftp{secrets.token_hex(4)}"
        self.password = secrets.token_urlsafe(16)
        self._given_root = Path(root).resolve() if root is not None else None
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._user_created = False

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why this machine cannot run the server (``None`` when it can)."""
        if not _SSHD.exists():
            return f"{_SSHD} is absent (apt-get install openssh-server)"
        for tool in ("ssh-keygen", "useradd", "userdel", "chpasswd"):
            if shutil.which(tool) is None:
                return f"{tool} is not on PATH"
        if os.geteuid() != 0:
            return "the OpenSSH test server needs root to create its throwaway login user"
        return None

    @classmethod
    def available(cls) -> bool:
        """True when Debian's sshd can be started here."""
        return cls.unavailable_reason() is None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Create the user and keys, start sshd and wait (bounded) until it greets on its port."""
        if self._proc is not None:
            return self
        reason = self.unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"cannot start OpenSSH test server: {reason}")
        try:
            self._prepare()
            for attempt in range(3):
                self.port = self._requested_port or _free_port(self.host)
                self._launch()
                if self._wait_ready():
                    return self
                self._terminate()
                if self._requested_port or attempt == 2:
                    raise RuntimeError(f"sshd did not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill sshd and its session processes, delete the user and the temporary files."""
        self._terminate()
        if self._user_created:
            self._kill_sessions()
            with contextlib.suppress(subprocess.SubprocessError):
                _run("userdel", self.username)
            self._user_created = False
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # -- internals -------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="irods-sftp-openssh-"))
        self._workdir = work
        work.chmod(0o755)  # the user's sshd child reads authorized_keys with the user's rights
        self.root = self._given_root or work / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.remote_root = str(self.root)
        host_key = work / "host_ed25519"
        self.client_key_path = work / "id_ed25519"
        for key in (host_key, self.client_key_path):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "irods-sftp-test", "-f", str(key))
        self.host_key_line = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
        authorized = work / "authorized_keys"
        shutil.copyfile(f"{self.client_key_path}.pub", authorized)
        authorized.chmod(0o644)

        _run("useradd", "--no-create-home", "--home-dir", str(self.root), "--shell", "/bin/sh", self.username)
        self._user_created = True
        _run("chpasswd", stdin=f"{self.username}:{self.password}\n")
        user = pwd.getpwnam(self.username)
        for path in (self.root, *self.root.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)

    def _write_config(self) -> Path:
        assert self._workdir is not None
        work = self._workdir
        config = work / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {self.host}",
                    f"HostKey {work / 'host_ed25519'}",
                    f"PidFile {work / 'sshd.pid'}",
                    f"AuthorizedKeysFile {work / 'authorized_keys'}",
                    f"AllowUsers {self.username}",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin no",
                    "UsePAM no",
                    "StrictModes no",
                    "PrintMotd no",
                    f"MaxSessions {self.max_sessions}",
                    "MaxStartups 64:30:128",
                    f"Subsystem sftp {self.sftp_subsystem}",
                    "",
                ]
            )
        )
        return config

    def _launch(self) -> None:
        assert self._workdir is not None
        config = self._write_config()
        with (self._workdir / "sshd.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [str(_SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def _wait_ready(self) -> bool:
        """Poll the port until sshd sends its ``SSH-2.0`` banner; False if sshd exits or time runs out."""
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1.0) as sock:
                sock.settimeout(2.0)
                if sock.recv(8).startswith(b"SSH-2.0"):
                    return True
            time.sleep(0.02)  # polling interval, bounded by the deadline
        return False

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(_STOP_TIMEOUT)

    def _kill_sessions(self) -> None:
        """SIGKILL the per-connection sshd processes and anything running as the throwaway user."""
        try:
            uid = pwd.getpwnam(self.username).pw_uid
        except KeyError:
            return
        marker = f"sshd: {self.username}".encode()
        for _ in range(50):
            victims = [pid for pid in _pids() if _owned_by(pid, uid) or _cmdline(pid).startswith(marker)]
            victims = [pid for pid in victims if _alive(pid)]
            if not victims:
                return
            for pid in victims:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)  # let the kernel reap them before checking again

    def _log_tail(self) -> str:
        if self._workdir is None:
            return ""
        with contextlib.suppress(OSError):
            return (self._workdir / "sshd.log").read_text(errors="replace")[-2000:]
        return ""


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _owned_by(pid: int, uid: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}").st_uid == uid
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
