"""Remote commands (sha256sum) share the SSH connection with the SFTP channels of a staging; a command that
ends before the client sends anything more must not break that connection.

paramiko builds a channel message under the channel lock and sends it after releasing it, so a separate EOF
from the calling thread can be overtaken by the CLOSE its transport thread sends once the server closed the
channel. asyncssh answers an EOF after CLOSE by dropping the whole connection
("Channel not open for sending"), which failed a chaos run. The delay below makes that interleaving certain.
"""

from __future__ import annotations

import hashlib
import threading
import time

import paramiko
from airflow.providers.sftp.hooks.sftp import SFTPHook

from irods_provider.transfers._sftp_endpoint import SftpEndpoint

EOF_BYTE = bytes([96])  # SSH_MSG_CHANNEL_EOF


def test_a_finished_command_never_drops_the_connection(remote, monkeypatch) -> None:
    data = b"sum me\n"
    remote.put("s/f.txt", data)
    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster")) as sftp:
        transport = sftp.transport
        send = transport._send_user_message
        transport_thread = transport  # paramiko.Transport is the thread that reads the socket

        def late_eof(message: paramiko.Message) -> None:
            # A caller thread preempted between building an EOF and sending it, as on a loaded machine.
            if threading.current_thread() is not transport_thread and message.asbytes()[:1] == EOF_BYTE:
                time.sleep(0.3)
            send(message)

        monkeypatch.setattr(transport, "_send_user_message", late_eof)
        for _ in range(3):
            assert sftp.sha256sum(remote.path("s/f.txt")) == hashlib.sha256(data).hexdigest()
        monkeypatch.setattr(transport, "_send_user_message", send)
        assert transport.is_active()
        with sftp.channel() as client:
            assert client.stat(remote.path("s/f.txt")).st_size == len(data)
