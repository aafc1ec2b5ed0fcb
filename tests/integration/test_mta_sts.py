"""MTA-STS on the sending side (RFC 8461) through `sovereign tls probe`: `_mta-sts` TXT discovery in
the signed test zones, the policy fetched over HTTPS from Policy Hosts run here (Python's
http.server + ssl, certificates from the test CA, which `[tls] trusted_cas` makes the only PKIX
trust), the policy cache in <data>/tls/mta-sts.db, and the policy applied to a real Postfix MX
(127.0.0.2:25) presenting a certificate that is, or is not, valid for mx.peer.test.

Standard zones used (dnsfixture.py): sts-enforce.test (policy host 127.0.0.7) and
sts-testing.test (127.0.0.8), both with MX mx.peer.test. Tests that change DNS use a private
DnsFixture."""
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import dns_config, make_data_dir, merge_config, run_cli, wait_for
from dnsfixture import DnsFixture, sts_policy, tlsa_spki_sha256
from postfix import Postfix
from test_dnsfixture import needs_postfix

POLICY_PATH = "/.well-known/mta-sts.txt"


class PolicyHost:
    """An HTTPS Policy Host on ip:443 (RFC 8461 section 3.3). What it answers is set by the
    attributes and may change while it runs; `requests` records the paths asked for."""

    def __init__(self, ip, cert, body, status=200, content_type="text/plain", headers=None):
        self.ip = ip
        self.cert = cert  # (cert_file, key_file)
        self.body = body
        self.status = status
        self.content_type = content_type
        self.headers = headers or {}
        self.requests = []
        self.server = None
        self.thread = None

    def start(self):
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                host.requests.append((self.path, self.headers.get("Host")))
                if self.path != POLICY_PATH:
                    status, body = 404, b"not found"
                else:
                    status, body = host.status, host.body.encode()
                self.send_response(status)
                if host.content_type:
                    self.send_header("Content-Type", host.content_type)
                for name, value in host.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((self.ip, 443), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None


@pytest.fixture
def policy_hosts(dns_fixture, test_ca):
    """Starts Policy Hosts on demand: policy_hosts("sts-enforce.test", body=..., ...)."""
    started = []

    def start(domain, cert=None, **kwargs):
        d = dns_fixture.plan[domain]
        if cert is None:
            cert = test_ca.issue([d.sts_host])
        kwargs.setdefault("body", d.sts_policy)
        host = PolicyHost(d.sts_ip, cert, **kwargs).start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


def port_closed(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def stop_postfix(pf):
    """Stops a Postfix and waits until nothing accepts on its addresses: smtpd processes of a
    stopped master linger for a moment and would still present the old certificate."""
    pf.stop()
    for host, port in pf.listen:
        wait_for(lambda: port_closed(host, port), timeout=20, what=f"{host}:{port} to close")


@pytest.fixture
def mx_peer(tmp_path, dns_fixture):
    """Starts the Postfix playing mx.peer.test (127.0.0.2:25) with a given certificate (stopping
    the one started before, which holds the address)."""
    started = []
    count = [0]

    def start(cert):
        while started:
            stop_postfix(started.pop())
        # A directory of its own for each: `len(started)` (0 after the pops) made a second
        # Postfix in one test reuse the first one's queue, pid file and data directory.
        count[0] += 1
        pf = Postfix(tmp_path / f"postfix{count[0]}", {"peer.test": "discard:"},
                     listen=[f"{dns_fixture.plan['peer.test'].mx_ip}:25"], tls=cert).start()
        started.append(pf)
        return pf

    yield start
    for pf in started:
        stop_postfix(pf)


def trust_test_ca(data_dir, test_ca):
    config = data_dir / "sovereign.toml"
    config.write_text(merge_config(config.read_text(),
                                   f'[tls]\ntrusted_cas = "{test_ca.ca_file}"\n'))
    return data_dir


@pytest.fixture
def sts_data_dir(dns_data_dir, test_ca):
    """A data directory resolving through the test DNS and trusting only the test CA."""
    return trust_test_ca(dns_data_dir, test_ca)


def probe(data_dir, domain):
    """(result, domain line, host lines) of `sovereign tls probe DOMAIN`."""
    result = run_cli(data_dir, "tls", "probe", domain, check=False)
    print(f"$ sovereign tls probe {domain}\n{result.stdout}{result.stderr}")  # shown on failure
    lines = result.stdout.splitlines()
    hosts = [line.strip() for line in lines
             if line.startswith("  ") and not line.startswith("  failed:")]
    return result, (lines[0] if lines else ""), hosts


def policy_cache(data_dir):
    return data_dir / "tls" / "mta-sts.db"


# ------------------------------------------------------------------------------- enforce/testing
@needs_postfix
def test_enforce_with_valid_certificate_is_pkix_authenticated(sts_data_dir, dns_fixture,
                                                               policy_hosts, mx_peer, peer_cert):
    host = policy_hosts("sts-enforce.test")
    mx_peer(peer_cert)
    result, domain, hosts = probe(sts_data_dir, "sts-enforce.test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert domain.startswith("sts-enforce.test: MX secure; MTA-STS enforce, id 20261128T120000, "
                             "max_age 86400 (fetched from "
                             "https://mta-sts.sts-enforce.test/.well-known/mta-sts.txt)"), domain
    [line] = hosts
    assert "mx.peer.test [127.0.0.2] address secure, no DANE, MTA-STS enforce: ok: " \
           "PKIX authenticated (MTA-STS): certificate valid for mx.peer.test" in line, line
    assert re.search(r"TLSv1\.[23] ", line)
    assert host.requests == [(POLICY_PATH, "mta-sts.sts-enforce.test")]
    assert "event=mta_sts.fetched domain=sts-enforce.test id=20261128T120000 mode=enforce" \
        in result.stderr
    assert policy_cache(sts_data_dir).exists()


@needs_postfix
def test_enforce_refuses_a_certificate_not_valid_for_the_mx(sts_data_dir, policy_hosts, mx_peer,
                                                            test_ca):
    policy_hosts("sts-enforce.test")
    mx_peer(test_ca.issue(["mx.elsewhere.test"]))  # trusted CA, wrong name
    result, domain, hosts = probe(sts_data_dir, "sts-enforce.test")
    assert result.returncode == 1, result.stdout
    assert "MTA-STS enforce, id 20261128T120000" in domain
    [line] = hosts
    assert "no DANE, MTA-STS enforce: FAILED: MTA-STS: certificate not valid for " \
           "mx.peer.test (PKIX): " in line, line
    assert "connection not used" in line
    assert "PKIX authenticated" not in line


@needs_postfix
def test_enforce_refuses_an_untrusted_certificate(sts_data_dir, policy_hosts, mx_peer, tmp_path):
    from testca import TestCA

    policy_hosts("sts-enforce.test")
    mx_peer(TestCA(tmp_path / "other-ca").issue(["mx.peer.test"]))  # right name, unknown CA
    result, _, hosts = probe(sts_data_dir, "sts-enforce.test")
    assert result.returncode == 1, result.stdout
    [line] = hosts
    assert "MTA-STS enforce: FAILED: MTA-STS: certificate not valid" in line, line


@needs_postfix
def test_testing_mode_reports_a_failure_but_the_host_is_used(sts_data_dir, policy_hosts, mx_peer,
                                                             test_ca):
    policy_hosts("sts-testing.test")
    mx_peer(test_ca.issue(["mx.elsewhere.test"]))
    result, domain, hosts = probe(sts_data_dir, "sts-testing.test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MTA-STS testing, id 20261128T120000" in domain
    [line] = hosts
    assert "no DANE, MTA-STS testing: ok: encrypted, not authenticated (opportunistic TLS); " \
           "MTA-STS would fail under enforce: certificate not valid for mx.peer.test " \
           "(PKIX): " in line, line


@needs_postfix
def test_testing_mode_with_valid_certificate(sts_data_dir, policy_hosts, mx_peer, peer_cert):
    policy_hosts("sts-testing.test")
    mx_peer(peer_cert)
    result, _, hosts = probe(sts_data_dir, "sts-testing.test")
    assert result.returncode == 0, result.stdout
    [line] = hosts
    assert "MTA-STS testing: ok: PKIX authenticated (MTA-STS)" in line, line
    assert "would fail" not in line


def test_enforce_does_not_contact_an_mx_outside_the_policy(sts_data_dir, policy_hosts):
    """Section 4.1: mx.peer.test matches no pattern of this policy, so under enforce it is not
    contacted at all (no Postfix is needed: the address stays '-')."""
    policy_hosts("sts-enforce.test", body=sts_policy("enforce", "*.elsewhere.test"))
    result, _, hosts = probe(sts_data_dir, "sts-enforce.test")
    assert result.returncode == 1
    [line] = hosts
    assert "mx.peer.test [-] address secure, no DANE, MTA-STS enforce: FAILED: MTA-STS: " \
           "MX host matches no mx pattern of the policy" in line, line
    assert "not contacted" in line


# ------------------------------------------------------------------------------- unusable policies
@needs_postfix
@pytest.mark.parametrize("kind, settings, error", [
    ("redirect", {"status": 301, "headers": {"Location": "https://elsewhere.test/p.txt"}},
     "HTTP 301 (redirect to https://elsewhere.test/p.txt, not followed)"),
    ("html", {"content_type": "text/html"}, "Content-Type text/html"),
    ("invalid", {"body": "version: STSv1\r\nmode: strict\r\nmx: mx.peer.test\r\nmax_age: 60\r\n"},
     "invalid policy: invalid MTA-STS mode"),
    ("not-found", {"status": 404}, "HTTP 404"),
    ("wrong-certificate", {"cert": "peer"}, "certificate of mta-sts.sts-enforce.test not valid"),
])
def test_unusable_policy_means_no_policy(sts_data_dir, policy_hosts, mx_peer, peer_cert,
                                         kind, settings, error):
    """Section 3.3: no policy fetched and none cached -> deliver as if the domain had no
    MTA-STS (opportunistic TLS), and log the failure."""
    settings = dict(settings)
    if settings.get("cert") == "peer":
        settings["cert"] = peer_cert  # a trusted certificate, but not for mta-sts.<domain>
    policy_hosts("sts-enforce.test", **settings)
    mx_peer(peer_cert)
    result, domain, hosts = probe(sts_data_dir, "sts-enforce.test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sts-enforce.test: MX secure; no MTA-STS policy (fetch failed: " in domain, domain
    assert error in domain, domain
    [line] = hosts
    assert "address secure, no DANE: ok: encrypted, not authenticated" in line, line
    assert "level=warn event=mta_sts.fetch_failed domain=sts-enforce.test" in result.stderr
    assert error in result.stderr


def test_policy_host_down_and_nothing_cached_means_no_policy(sts_data_dir):
    result, domain, _ = probe(sts_data_dir, "sts-enforce.test")
    assert "no MTA-STS policy (fetch failed: " in domain, domain
    assert "connect: Connection refused" in domain
    assert "event=mta_sts.fetch_failed" in result.stderr


def test_domain_without_record_has_no_policy(sts_data_dir):
    _, domain, _ = probe(sts_data_dir, "peer.test")
    assert domain == "peer.test: MX secure; no MTA-STS policy (no _mta-sts record)"


# ------------------------------------------------------------------------------- the cache
@needs_postfix
def test_cached_policy_applies_when_the_policy_host_is_down(sts_data_dir, policy_hosts, mx_peer,
                                                            peer_cert, test_ca):
    host = policy_hosts("sts-enforce.test")
    mx_peer(peer_cert)
    result, domain, _ = probe(sts_data_dir, "sts-enforce.test")
    assert result.returncode == 0 and "(fetched from " in domain, result.stdout
    host.stop()
    # Section 3.3: the cached, non-expired policy MUST still be applied: a bad MX certificate is
    # refused although nothing could be fetched now.
    mx_peer(test_ca.issue(["mx.elsewhere.test"]))
    result, domain, hosts = probe(sts_data_dir, "sts-enforce.test")
    assert "MTA-STS enforce, id 20261128T120000, max_age 86400 (cached: policy id unchanged; " \
        in domain, domain
    assert "event=mta_sts.cached domain=sts-enforce.test" in result.stderr
    assert result.returncode == 1
    [line] = hosts
    assert "MTA-STS enforce: FAILED" in line, line
    assert len(host.requests) == 1


# ------------------------------------------------------------------------------- DNS changes
@pytest.fixture
def private_sts(tmp_path, test_ca, peer_cert):
    """A private DNS (zones change here) with
    - sts-change.test: `_mta-sts` TXT, MX mx.sts-change.test = 127.0.0.2, policy host 127.0.0.9;
    - dane-sts.test: MX mx.dane-sts.test = 127.0.0.3 with TLSA 3 1 1 of the peer certificate,
      and an MTA-STS enforce policy (host 127.0.0.10) whose mx pattern does NOT match it."""
    fx = DnsFixture(tmp_path / "dns")
    fx.add_zone("sts-change.test", [
        "@ MX 10 mx", "mx A 127.0.0.2",
        '_mta-sts TXT "v=STSv1; id=first;"', "mta-sts A 127.0.0.9",
    ])
    fx.add_zone("dane-sts.test", [
        "@ MX 10 mx", "mx A 127.0.0.3",
        f"_25._tcp.mx TLSA 3 1 1 {tlsa_spki_sha256(peer_cert[0])}",
        '_mta-sts TXT "v=STSv1; id=d1;"', "mta-sts A 127.0.0.10",
    ])
    fx.start()
    data = make_data_dir(tmp_path / "private")
    config = data / "sovereign.toml"
    config.write_text(merge_config(config.read_text(), dns_config(fx)))
    trust_test_ca(data, test_ca)
    yield fx, data
    fx.stop()


def test_changed_txt_id_triggers_a_refetch(private_sts, test_ca):
    fx, data = private_sts
    host = PolicyHost("127.0.0.9", test_ca.issue(["mta-sts.sts-change.test"]),
                      sts_policy("testing", "mx.sts-change.test")).start()
    try:
        _, domain, _ = probe(data, "sts-change.test")
        assert "MTA-STS testing, id first, max_age 86400 (fetched from " in domain, domain
        _, domain, _ = probe(data, "sts-change.test")
        assert "MTA-STS testing, id first, max_age 86400 (cached: policy id unchanged; " \
            in domain, domain
        assert len(host.requests) == 1

        # A new policy is published with a new id (section 3.1): fetched at the next lookup.
        host.body = sts_policy("enforce", "mx.sts-change.test").replace("86400", "3600")
        records = [r for r in fx.records("sts-change.test") if not r.startswith("_mta-sts")]
        fx.update_zone("sts-change.test", records + ['_mta-sts TXT "v=STSv1; id=second;"'])
        result, domain, _ = probe(data, "sts-change.test")
        assert "MTA-STS enforce, id second, max_age 3600 (fetched from " in domain, domain
        assert 'reason="policy id changed"' in result.stderr
        assert len(host.requests) == 2

        # The record disappears: the cached policy stays in force until it expires (3.1, 5.1).
        fx.update_zone("sts-change.test", records)
        _, domain, _ = probe(data, "sts-change.test")
        assert "MTA-STS enforce, id second, max_age 3600 (cached: no usable TXT record; " \
            in domain, domain
        assert len(host.requests) == 2

        # Yet another id, but the Policy Host is down: the refetch fails, the cached policy
        # stays in force (section 3.3) and the failure is logged.
        host.stop()
        fx.update_zone("sts-change.test", records + ['_mta-sts TXT "v=STSv1; id=third;"'])
        result, domain, _ = probe(data, "sts-change.test")
        assert "MTA-STS enforce, id second, max_age 3600 (cached: fetch failed: " in domain, domain
        assert "level=warn event=mta_sts.fetch_failed domain=sts-change.test id=third" \
            in result.stderr
    finally:
        host.stop()


@needs_postfix
def test_dane_takes_precedence_over_mta_sts(private_sts, test_ca, peer_cert, tmp_path):
    """RFC 8461 section 2: MTA-STS must not override DANE. The host has a usable secure TLSA
    record, so DANE authenticates it and the enforce policy (which does not list it) is not
    checked."""
    _, data = private_sts
    host = PolicyHost("127.0.0.10", test_ca.issue(["mta-sts.dane-sts.test"]),
                      sts_policy("enforce", "mx.unrelated.test")).start()
    pf = Postfix(tmp_path / "postfix", {"dane-sts.test": "discard:"}, listen=["127.0.0.3:25"],
                 tls=peer_cert).start()
    try:
        result, domain, hosts = probe(data, "dane-sts.test")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "MTA-STS enforce, id d1" in domain, domain
        [line] = hosts
        assert "mx.dane-sts.test [127.0.0.3] address secure, DANE, MTA-STS not checked " \
               "(DANE applies): ok: DANE authenticated: DANE-EE(3) SPKI(1) SHA2-256(1)" in line, line
    finally:
        stop_postfix(pf)
        host.stop()
