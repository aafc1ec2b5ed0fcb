"""Runtime behaviour: connection caps, certificate reload on SIGHUP, privilege drop."""
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ADMIN, DOMAIN, HOSTNAME, SOVEREIGN, Server, wait_for


def greeting(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock, sock.recv(4096)


def test_per_ip_connection_cap(server_factory):
    server = server_factory("[connections]\nmax_per_ip = 2\nmax_total = 10")
    first, a = greeting(server.ports["mx"])
    second, b = greeting(server.ports["mx"])
    assert a.startswith(b"220 ") and b.startswith(b"220 ")
    third, c = greeting(server.ports["mx"])
    assert c.startswith(b"421 4.7.0")
    third.close()
    first.close()
    # The slot comes back once a session ends.
    def accepted_again():
        sock, reply = greeting(server.ports["mx"])
        sock.close()
        return reply.startswith(b"220 ")
    wait_for(accepted_again, what="a freed connection slot")
    second.close()


def peer_certificate(port):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        client.starttls(context=ctx)
        return client.sock.getpeercert(binary_form=True)


def test_sighup_reloads_certificate(server, tmp_path):
    before = peer_certificate(server.ports["mx"])
    keys = server.data_dir / "keys"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=reloaded.test", "-days", "2",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )
    shutil.copy(tmp_path / "key.pem", keys / "key.pem")
    shutil.copy(tmp_path / "cert.pem", keys / "cert.pem")
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=tls.reloaded" in server.log_text(), what="tls.reloaded")
    after = peer_certificate(server.ports["mx"])
    assert after != before
    expected = ssl.PEM_cert_to_DER_cert((tmp_path / "cert.pem").read_text())
    assert after == expected
    # A broken certificate keeps the old one in service.
    (keys / "cert.pem").write_text("garbage")
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=tls.reload_failed" in server.log_text(), what="tls.reload_failed")
    assert peer_certificate(server.ports["mx"]) == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_privileges_dropped_after_binding():
    # A data directory the unprivileged user can reach (pytest's tmp_path is root-only).
    base = Path(tempfile.mkdtemp(prefix="sov-priv-", dir="/tmp"))
    try:
        base.chmod(0o755)
        data = base / "data"
        password = base / "pw"
        password.write_text("priv-drop-pw\n")
        subprocess.run(
            [SOVEREIGN, "quickstart", "--domain", DOMAIN, "--hostname", HOSTNAME, "--data", str(data),
             "--run-as", "nobody", "--password-file", str(password)],
            check=True, capture_output=True, text=True, timeout=60,
        )
        server = Server(data)
        server.log_path = base / "server.log"  # the data dir belongs to nobody now
        server.configure()
        server.start()
        try:
            status = Path(f"/proc/{server.process.pid}/status").read_text()
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            nobody = pwd.getpwnam("nobody").pw_uid
            assert all(int(uid) == nobody for uid in uids), status
            with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as client:
                assert client.sendmail("a@sender.test", [ADMIN], b"Subject: priv\r\n\r\nx\r\n") == {}
            stored = server.messages()
            assert len(stored) == 1
            assert stored[0][2].stat().st_uid == nobody
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_sighup_applies_new_settings_to_new_sessions(server):
    old, banner = greeting(server.ports["mx"])
    assert b"mail.example.test" in banner
    config = server.data_dir / "sovereign.toml"
    config.write_text(config.read_text().replace('hostname = "mail.example.test"', 'hostname = "renamed.example.test"'))
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=config.reloaded" in server.log_text(), what="config.reloaded")
    new, banner = greeting(server.ports["mx"])
    assert banner.startswith(b"220 renamed.example.test")
    # The session that was already open keeps the name it started with.
    old.sendall(b"EHLO client.test\r\n")
    assert b"250-mail.example.test" in old.recv(4096)
    old.close()
    new.close()
    # A broken file is reported and changes nothing.
    config.write_text("hostname = \n")
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=config.reload_failed" in server.log_text(), what="config.reload_failed")
    sock, banner = greeting(server.ports["mx"])
    assert banner.startswith(b"220 renamed.example.test")
    sock.close()
