"""Fixtures for integration tests: a real `sovereign serve` on loopback with ephemeral ports.

Every test gets its own data directory (quickstart), its own server process, and the ports the
server actually bound (it listens on port 0 and reports the ports in its log: Envoy's "bind port 0
and discover"). Nothing here sleeps for a fixed time: helpers poll for a condition with a deadline.
"""
import atexit
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from waiting import wait_for  # noqa: F401 (tests import it from here)

SOVEREIGN = os.environ.get("SOVEREIGN_BIN") or str(
    Path(__file__).resolve().parents[2] / "build" / "release" / "src" / "cli" / "sovereign"
)
DOMAIN = "example.test"
HOSTNAME = "mail.example.test"
ADMIN = f"postmaster@{DOMAIN}"
PASSWORD = "correct horse battery staple"


def run_cli(data_dir, *args, stdin=None, check=True):
    result = subprocess.run(
        [SOVEREIGN, *args, "--data", str(data_dir)],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"sovereign {' '.join(args)} failed: {result.stderr}")
    return result


class Server:
    """A running `sovereign serve` and what a test needs to talk to it."""

    def __init__(self, data_dir: Path, extra_config: str = ""):
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.extra_config = extra_config
        self.process = None
        self.ports = {}

    def configure(self, dns=None):
        config = self.data_dir / "sovereign.toml"
        text = config.read_text()
        # Ephemeral ports: the server reports what it bound.
        text = re.sub(r"(?m)^port = \d+$", "port = 0", text)
        if self.extra_config:
            text = merge_config(text, self.extra_config)
        # The MX checks SPF, DKIM and DMARC of every message: without a reachable DNS each
        # lookup would wait for its timeout. Resolve through the session's test DNS (names
        # outside its zones fail at once) unless the test chose its own [dns].
        if dns is not None and not re.search(r"(?m)^forwarders\s*=", text):
            text = merge_config(text, dns_config(dns))
        config.write_text(text)

    def start(self):
        self.log = open(self.log_path, "ab")
        start_offset = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [SOVEREIGN, "serve", "--data", str(self.data_dir)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log_path.read_text()}")
            text = self.log_path.read_bytes()[start_offset:].decode(errors="replace")
            if "event=server.ready" not in text:
                return None
            return text

        text = wait_for(ready, timeout=20, what="server.ready")
        self.ports = {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"event=listener.ready listener=(\S+) .* port=(\d+)", text)
        }
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=timeout)
        if hasattr(self, "log"):
            self.log.close()
        return self.process.returncode if self.process else None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self, sig=signal.SIGKILL):
        """Stops the process (SIGKILL by default: a crash) and starts a new one on the same data
        directory. Ports change: read `ports` again afterwards."""
        self.stop(sig)
        return self.start()

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    # --- the message store, read as a mail administrator would: sqlite3 + files
    def messages(self, account=ADMIN, mailbox="INBOX"):
        """[(uid, flags, path, bytes)] of a mailbox, in UID order."""
        db = self.data_dir / "mail" / account / "index.db"
        if not db.exists():
            return []
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT m.uid, m.flags, m.file FROM messages m JOIN mailboxes b "
                "ON m.mailbox_id = b.id WHERE b.name = ? ORDER BY m.uid",
                (mailbox,),
            ).fetchall()
        finally:
            con.close()
        out = []
        for uid, flags, file in rows:
            path = self.data_dir / "mail" / account / file
            out.append((uid, flags, path, path.read_bytes()))
        return out


def merge_config(text: str, extra: str) -> str:
    """Sets `key = value` lines of `extra` inside their [section]s of the generated config."""
    section = None
    for line in extra.strip().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
            continue
        key = line.split("=", 1)[0].strip()
        pattern = re.compile(rf"(?m)^{re.escape(section)}\s*$") if section else None
        if pattern and pattern.search(text):
            # Insert right after the section header; a commented default further down is harmless.
            text = pattern.sub(lambda m: m.group(0) + "\n" + line, text, count=1)
        elif section:
            text += f"\n{section}\n{line}\n"
        else:
            text = line + "\n" + text
    return text


_TEMPLATE = None


def make_data_dir(tmp_path: Path) -> Path:
    """A fresh quickstart data directory. Quickstart (key generation, Argon2id) runs once per
    pytest session; each test gets a copy of that template."""
    global _TEMPLATE
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    if _TEMPLATE is None or not _TEMPLATE.exists():
        template_root = Path(tempfile.mkdtemp(prefix="sov-template-"))
        atexit.register(shutil.rmtree, template_root, True)
        subprocess.run(
            [SOVEREIGN, "quickstart", "--domain", DOMAIN, "--hostname", HOSTNAME,
             "--data", str(template_root / "data"), "--run-as", "",
             "--password-file", str(password_file)],
            check=True, capture_output=True, text=True, timeout=60,
        )
        _TEMPLATE = template_root / "data"
    shutil.copytree(_TEMPLATE, data, symlinks=True)
    return data


@pytest.fixture
def data_dir(tmp_path):
    return make_data_dir(tmp_path)


@pytest.fixture
def server_factory(tmp_path, dns_fixture):
    servers = []

    def factory(extra_config="", data=None):
        server = Server(data or make_data_dir(tmp_path / f"s{len(servers)}"), extra_config)
        server.configure(dns=dns_fixture)
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory):
    return server_factory()


def strip_trace_headers(message: bytes) -> bytes:
    """Removes the Return-Path, Received and Authentication-Results fields we prepend (with
    their folded lines)."""
    lines = message.split(b"\r\n")
    i = 0
    while i < len(lines) and (
        lines[i].startswith(b"Return-Path:") or lines[i].startswith(b"Received:")
        or lines[i].startswith(b"Authentication-Results:")
    ):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])


# --------------------------------------------------------------------- test DNS and test CA
# Session-scoped: NSD with the standard zone set (dnsfixture.py) and a private CA (testca.py).
# A test that changes zones should use its own DnsFixture (tmp_path) rather than edit these.


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    from testca import TestCA

    return TestCA(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture(scope="session")
def peer_cert(test_ca):
    """(cert, key) presented by the Postfix peers that play the MX hosts of the standard zones;
    dane-ok.test's TLSA record pins this key."""
    from dnsfixture import PEER_CERT_NAMES

    return test_ca.issue(PEER_CERT_NAMES)


@pytest.fixture(scope="session")
def dns_fixture(tmp_path_factory, peer_cert):
    """A running DnsFixture with the standard zones; `dns_fixture.plan` describes them."""
    from dnsfixture import DnsFixture, standard_zones

    fx = DnsFixture(tmp_path_factory.mktemp("dns"))
    standard_zones(fx, peer_cert[0])
    fx.start()
    yield fx
    fx.stop()


def dns_config(fx) -> str:
    """[dns] settings (for merge_config) that make Sovereign resolve through `fx` only: forward to
    NSD, trust only the fixture's `test.` anchor, and let the RFC 6761 `test` zone through."""
    return (
        "[dns]\n"
        f'forwarders = ["{fx.forwarder}"]\n'
        'root_trust_anchor = ""\n'
        f'trust_anchors = ["{fx.trust_anchor_file}"]\n'
        'private_zones = ["test"]\n'
        'timeout = "5s"\n'
    )


@pytest.fixture
def dns_data_dir(tmp_path, dns_fixture):
    """A quickstart data directory whose [dns] points at the session's test DNS."""
    data = make_data_dir(tmp_path)
    config = data / "sovereign.toml"
    config.write_text(merge_config(config.read_text(), dns_config(dns_fixture)))
    return data
