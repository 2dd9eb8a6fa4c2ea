"""What every paramiko SFTP client of a test sends and when it reads an answer, in order, per client.

Observed on paramiko's request plumbing (``_async_request`` for every request, blocking or pipelined, and
``_read_packet`` for every answer), so requests sent together show as one *wave*: the requests a client
sends before it reads an answer. Each wave costs one round trip of that client's connection. A session's
``limits@openssh.com`` request goes with its ``INIT`` (not recorded either, it holds nothing up): it is
counted in :attr:`SftpWire.limits` instead.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import paramiko
import pytest
from paramiko.sftp import CMD_EXTENDED, CMD_NAMES, CMD_WRITE


class SftpWire:
    """Install with :meth:`install` (a monkeypatch of the class: every client, every thread)."""

    def __init__(self) -> None:
        self.events: dict[int, list[tuple[str, str]]] = defaultdict(list)  # id(client) -> (kind, what)
        self.lock = threading.Lock()
        self.on_send: list[Any] = []  # callbacks(client, request name, first argument) before each send
        self.on_answer: list[Any] = []  # callbacks(client) before each answer is read
        self.limits: list[int] = []  # id(client) of each limits@openssh.com request

    def install(self, monkeypatch: pytest.MonkeyPatch) -> SftpWire:
        send, read = paramiko.SFTPClient._async_request, paramiko.SFTPClient._read_packet
        wire = self

        def async_request(client: Any, fileobj: Any, t: int, *args: Any) -> int:
            first = args[0] if args else b""
            if t == CMD_EXTENDED and first == "limits@openssh.com":
                with wire.lock:
                    wire.limits.append(id(client))
                return int(send(client, fileobj, t, *args))
            text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
            name = CMD_NAMES.get(t, str(t)).removeprefix("CMD_")
            for callback in wire.on_send:
                callback(client, name, text)
            with wire.lock:
                wire.events[id(client)].append(("send", f"{name} {text}" if t != CMD_WRITE else name))
            return int(send(client, fileobj, t, *args))

        def read_packet(client: Any) -> Any:
            for callback in wire.on_answer:
                callback(client)
            packet = read(client)
            with wire.lock:
                wire.events[id(client)].append(("answer", ""))
            return packet

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", async_request)
        monkeypatch.setattr(paramiko.SFTPClient, "_read_packet", read_packet)
        return self

    def waves(self, client: int, *, until: str | None = "write", since: str | None = None) -> list[list[str]]:
        """``client``'s requests grouped by round trip (the sends before each answer read), up to its first
        request named ``until`` (excluded; None: to the end), from its first named ``since`` (None: from the
        start)."""
        waves: list[list[str]] = []
        sending = False
        with self.lock:
            events = list(self.events[client])
        if since is not None:
            events = events[next(i for i, (k, w) in enumerate(events) if w.split(" ", 1)[0] == since) :]
        for kind, what in events:
            if kind == "answer":
                sending = False
                continue
            if what.split(" ", 1)[0] == until:
                break
            if not sending:
                waves.append([])
                sending = True
            waves[-1].append(what)
        return waves

    def clients(self) -> list[int]:
        """The clients that sent anything, in the order they first did."""
        with self.lock:
            return list(self.events)
