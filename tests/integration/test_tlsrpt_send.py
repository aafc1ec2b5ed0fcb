"""SMTP TLS reports we send (RFC 8460) end to end. Mail is submitted to a user at dane-ok.test
(the TLSA record matches the Postfix peer's key: a successful session) and at dane-bad.test (wrong
digest: DANE authentication fails, the message stays queued); both domains publish an
`_smtp._tls` record asking for reports at carol@peer.test, a mailbox of the same Postfix peer.
`sovereign tlsrpt send-now --include-today` queues one report per domain; the queue delivers them
to the peer, and each is an RFC 8460 §5.3 message whose gzipped JSON says what happened.

sts-down.test (a zone of this module) publishes an MTA-STS record whose policy host
(127.0.0.11:443) does not answer, and asks for reports by HTTPS POST (§5.4) at
https://reports.sts-down.test:8443/: a Python HTTPS server here, its certificate from the test
CA, which `[tls] trusted_cas` makes the sender trust. The sessions with its MX count as
sts-policy-fetch-error (§4.3.2.2)."""
import email
import email.policy
import gzip
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import DOMAIN, HOSTNAME, dns_config, make_data_dir, merge_config, run_cli
from conftest import wait_for
from dnsfixture import DnsFixture, standard_zones
from test_dnsfixture import needs_postfix
from test_outbound import PeerMx, queue, queue_ids, submit

RUA = "carol@peer.test"  # a mailbox the Postfix peer keeps (test_outbound.USERS)
TLSRPT = f"v=TLSRPTv1; rua=mailto:{RUA}"
QUEUE_CONFIG = '[queue]\nretry_first = "1s"\nretry_max = "2s"\n'
STS_DOWN_IP = "127.0.0.11"
HTTPS_RUA = "https://reports.sts-down.test:8443/v1/tlsrpt"


@pytest.fixture(scope="module")
def zones(tmp_path_factory, peer_cert):
    fx = DnsFixture(tmp_path_factory.mktemp("dns"))
    standard_zones(fx, peer_cert[0])
    for name in ("dane-ok.test", "dane-bad.test"):
        fx.update_zone(name, fx.records(name) + [f'_smtp._tls TXT "{TLSRPT}"'])
    fx.add_zone("sts-down.test", [
        f"@ MX 10 {fx.plan['peer.test'].mx}.",
        '_mta-sts TXT "v=STSv1; id=down1;"',
        f"mta-sts A {STS_DOWN_IP}",  # nothing listens on 443 there
        f'_smtp._tls TXT "v=TLSRPTv1; rua={HTTPS_RUA}"',
        f"reports A {STS_DOWN_IP}",
    ])
    fx.start()
    yield fx
    fx.stop()


@pytest.fixture
def sender(tmp_path, server_factory, zones):
    data = make_data_dir(tmp_path / "mx")
    config = data / "sovereign.toml"
    config.write_text(merge_config(config.read_text(), dns_config(zones)))
    return server_factory(QUEUE_CONFIG, data=data)


@pytest.fixture
def peer(tmp_path, zones, peer_cert):
    peer_mx = PeerMx(tmp_path / "peer", zones.plan, peer_cert).start()
    yield peer_mx
    peer_mx.stop()


def pending(server):
    """{domain: (successful, failed)} from `sovereign tlsrpt pending`, summed over days."""
    out = run_cli(server.data_dir, "tlsrpt", "pending").stdout
    counts = {}
    for line in out.splitlines():
        fields = line.split()
        if "successful" not in fields:
            continue
        ok = int(fields[fields.index("successful") - 1])
        failed = int(fields[fields.index("failed") - 1])
        domain = fields[fields.index("successful") - 2]
        before = counts.get(domain, (0, 0))
        counts[domain] = (before[0] + ok, before[1] + failed)
    return counts


def read_report(path):
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [attachment] = [p for p in msg.iter_attachments()
                    if p.get_content_type() == "application/tlsrpt+gzip"]
    return msg, attachment, json.loads(gzip.decompress(attachment.get_content()))


@needs_postfix
def test_daily_report_says_which_sessions_succeeded_and_failed(sender, peer):
    submit(sender, ["alice@dane-ok.test"], subject="over DANE")
    wait_for(lambda: peer.mailbox("alice@dane-ok.test"), timeout=30, what="DANE delivery")
    submit(sender, ["alice@dane-bad.test"], subject="must not leak")

    def deferred_for_dane():
        return any("DANE authentication failed" in queue(sender, "show", qid).stdout
                   for qid in queue_ids(sender))

    wait_for(deferred_for_dane, timeout=30, what="DANE deferral")

    # The runner records off its strand: await the counts.
    wait_for(lambda: pending(sender).get("dane-ok.test") == (1, 0), timeout=10,
             what="1 successful session to dane-ok.test")
    wait_for(lambda: pending(sender).get("dane-bad.test", (0, 0))[1] >= 1, timeout=10,
             what="a failed session to dane-bad.test")

    out = run_cli(sender.data_dir, "tlsrpt", "send-now", "--include-today").stdout
    # dane-ok.test and dane-bad.test have a TLSRPT record; peer.test (where earlier reports of
    # other tests might go) does not and gets none.
    assert out.startswith("2 report(s), 2 message(s) queued"), out

    delivered = wait_for(lambda: (lambda box: box if len(box) >= 2 else None)(peer.mailbox(RUA)),
                         timeout=60, what="two reports at the peer")
    reports = {}
    for path in delivered:
        msg, attachment, report = read_report(path)
        domain = msg["TLS-Report-Domain"]
        reports[domain] = report
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "tlsrpt"
        assert msg["TLS-Report-Submitter"] == HOSTNAME
        assert msg["From"].addresses[0].addr_spec == f"postmaster@{DOMAIN}"
        subject = " ".join(str(msg["Subject"]).split())
        assert subject.startswith(f"Report Domain: {domain} Submitter: {HOSTNAME} Report-ID: <")
        filename = attachment.get_filename()
        assert filename.startswith(f"{HOSTNAME}!{domain}!") and filename.endswith(".json.gz")
        # RFC 8460 §4.4 required fields.
        assert report["organization-name"] == HOSTNAME
        assert report["contact-info"] == f"postmaster@{DOMAIN}"
        assert report["report-id"]
        assert report["date-range"]["start-datetime"].endswith("T00:00:00Z")
        assert report["date-range"]["end-datetime"].endswith("T23:59:59Z")
        for policy in report["policies"]:
            assert policy["policy"]["policy-domain"] == domain
    assert set(reports) == {"dane-ok.test", "dane-bad.test"}

    [ok] = reports["dane-ok.test"]["policies"]
    assert ok["policy"]["policy-type"] == "tlsa"
    assert ok["policy"]["policy-string"][0].startswith("3 1 1 ")
    assert ok["policy"]["mx-host"] == ["mx.dane-ok.test"]
    assert ok["summary"] == {"total-successful-session-count": 1,
                             "total-failure-session-count": 0}
    assert ok.get("failure-details", []) == []

    [bad] = reports["dane-bad.test"]["policies"]
    assert bad["policy"]["policy-type"] == "tlsa"
    assert bad["policy"]["policy-string"] == ["3 1 1 " + "00" * 32]
    assert bad["summary"]["total-successful-session-count"] == 0
    failures = bad["summary"]["total-failure-session-count"]
    assert failures >= 1
    [detail] = bad["failure-details"]
    assert detail["result-type"] == "tlsa-invalid"  # RFC 8460 §4.3.2.1
    assert detail["receiving-mx-hostname"] == "mx.dane-bad.test"
    assert detail["receiving-ip"] == "127.0.0.4"
    # Our end of that loopback connection.
    assert detail["sending-mta-ip"] == "127.0.0.1"
    assert detail["failed-session-count"] == failures


class ReportEndpoint:
    """An https: rua (RFC 8460 section 5.4): records every POST (path, headers, body)."""

    def __init__(self, ip, port, cert):
        self.posts = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint.posts.append((self.path, dict(self.headers), body))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((ip, port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def report_endpoint(test_ca):
    endpoint = ReportEndpoint(STS_DOWN_IP, 8443, test_ca.issue(["reports.sts-down.test"]))
    yield endpoint
    endpoint.stop()


@pytest.fixture
def trusting_sender(tmp_path, server_factory, zones, test_ca):
    """A sender resolving through this module's zones and trusting only the test CA for PKIX."""
    data = make_data_dir(tmp_path / "mx")
    config = data / "sovereign.toml"
    config.write_text(merge_config(config.read_text(), dns_config(zones)))
    config.write_text(merge_config(config.read_text(),
                                   f'[tls]\ntrusted_cas = "{test_ca.ca_file}"\n'))
    return server_factory(QUEUE_CONFIG, data=data)


@needs_postfix
def test_policy_fetch_failure_is_reported_by_https_post(trusting_sender, peer, report_endpoint):
    # The peer refuses the recipient (sts-down.test is not its domain), but the session, and
    # its STARTTLS, happened: RFC 8461 section 5, without a policy mail goes opportunistically.
    submit(trusting_sender, ["alice@sts-down.test"], subject="policy host down")
    wait_for(lambda: pending(trusting_sender).get("sts-down.test", (0, 0))[1] >= 1, timeout=30,
             what="a failed session to sts-down.test")

    out = run_cli(trusting_sender.data_dir, "tlsrpt", "send-now", "--include-today").stdout
    # The POST counts as the report's one delivery ("message").
    assert out.splitlines()[0] == ("1 report(s), 1 message(s) queued, 0 destination(s) skipped, "
                                   "0 deferred, 0 failed"), out
    assert "sts-down.test" not in pending(trusting_sender)

    [(path, headers, body)] = report_endpoint.posts
    assert path == "/v1/tlsrpt"
    assert headers["Content-Type"] == "application/tlsrpt+gzip"
    assert headers["Host"] == "reports.sts-down.test:8443"
    report = json.loads(gzip.decompress(body))
    assert report["contact-info"] == f"postmaster@{DOMAIN}"
    [policy] = report["policies"]
    assert policy["policy"]["policy-type"] == "sts"
    assert policy["policy"]["policy-domain"] == "sts-down.test"
    assert policy["summary"]["total-successful-session-count"] == 0
    failures = policy["summary"]["total-failure-session-count"]
    assert failures >= 1
    [detail] = policy["failure-details"]
    assert detail["result-type"] == "sts-policy-fetch-error"  # RFC 8460 section 4.3.2.2
    assert detail["receiving-mx-hostname"] == "mx.peer.test"
    assert "connect" in detail["failure-reason-code"], detail
    assert detail["failed-session-count"] == failures
