"""DMARC aggregate reports end to end (RFC 9990). Sending: swaks delivers mail to our MX from a
domain whose DMARC record asks for reports at an address of another organisation (peer.test,
which confirms with <domain>._report._dmarc.peer.test, RFC 9990 §4); `sovereign dmarc send-now
--include-today` queues the report, the outbound queue delivers it to a real Postfix playing
peer.test's MX, and the attachment validates against the RFC 9990 schema with xmllint and says
what happened. Reading: a report email built around one of the parsedmarc samples and delivered
to postmaster is listed by `sovereign dmarc reports`."""
import email
import email.policy
import gzip
import json
import subprocess
import xml.etree.ElementTree as ET
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import ADMIN, DOMAIN, HOSTNAME, dns_config, make_data_dir, merge_config, run_cli
from conftest import wait_for
from dnsfixture import DnsFixture, standard_zones
from test_dnsfixture import needs_postfix
from test_outbound import PeerMx

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / "tests" / "conformance" / "reports" / "rfc9990.xsd"
SAMPLE = (REPO / "tests" / "conformance" / "reports" / "parsedmarc-samples" / "aggregate"
          / "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz")
NS = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}

SENDER = "reporting.test"  # SPF: 127.0.0.1 only; DMARC p=quarantine, rua at peer.test
RUA = "alice@peer.test"    # a mailbox the Postfix peer keeps (test_outbound.USERS)
GOOD_IP = "127.0.0.1"
BAD_IP = "127.0.0.9"
QUEUE_CONFIG = '[queue]\nretry_first = "1s"\nretry_max = "2s"\n'


def txt(name, value):
    return f'{name} TXT "{value}"'


@pytest.fixture(scope="module")
def zones(tmp_path_factory, peer_cert):
    fx = DnsFixture(tmp_path_factory.mktemp("dns"))
    standard_zones(fx, peer_cert[0])
    # peer.test accepts reports about reporting.test (the external-destination record).
    fx.update_zone("peer.test", fx.records("peer.test") + [
        txt(f"{SENDER}._report._dmarc", "v=DMARC1"),
    ])
    fx.add_zone(SENDER, [
        txt("@", f"v=spf1 ip4:{GOOD_IP} -all"),
        txt("_dmarc", f"v=DMARC1; p=quarantine; rua=mailto:{RUA}"),
        "mx A 127.0.0.1",
    ])
    fx.start()
    yield fx
    fx.stop()


@pytest.fixture
def mx(tmp_path, server_factory, zones):
    data = make_data_dir(tmp_path / "mx")
    config = data / "sovereign.toml"
    config.write_text(merge_config(config.read_text(), dns_config(zones)))
    return server_factory(QUEUE_CONFIG, data=data)


@pytest.fixture
def peer(tmp_path, zones, peer_cert):
    peer_mx = PeerMx(tmp_path / "peer", zones.plan, peer_cert).start()
    yield peer_mx
    peer_mx.stop()


def swaks(server, path, source_ip, sender):
    result = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.ports['mx']}", "--local-interface", source_ip,
         "--helo", f"mx.{sender.split('@')[-1]}", "--from", sender, "--to", ADMIN,
         "--data", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def deliver(server, tmp_path, msg: bytes, source_ip, sender):
    path = tmp_path / f"msg{len(list(tmp_path.glob('msg*')))}.eml"
    path.write_bytes(msg)
    before = len(server.messages())
    swaks(server, path, source_ip, sender)
    wait_for(lambda: len(server.messages()) == before + 1, timeout=10, what="stored message")


def message(subject):
    return (f"From: Alice <alice@{SENDER}>\r\nTo: {ADMIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@{SENDER}>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
            "\r\nHello.\r\n").encode()


def dmarc(server, *args, check=True):
    return run_cli(server.data_dir, "dmarc", *args, check=check)


def pending_messages(server):
    """Messages waiting in our report store for SENDER (sum over days)."""
    total = 0
    for line in dmarc(server, "pending").stdout.splitlines():
        fields = line.split()
        if SENDER in fields:
            total += int(fields[fields.index("message(s)") - 1])
    return total


@needs_postfix
def test_report_is_sent_to_the_confirmed_rua_and_validates(mx, peer, tmp_path):
    deliver(mx, tmp_path, message("one"), GOOD_IP, f"alice@{SENDER}")
    deliver(mx, tmp_path, message("two"), GOOD_IP, f"alice@{SENDER}")
    deliver(mx, tmp_path, message("three"), BAD_IP, f"alice@{SENDER}")
    # The MX records off the session thread: await the rows.
    wait_for(lambda: pending_messages(mx) == 3, timeout=10, what="3 recorded evaluations")

    out = dmarc(mx, "send-now", "--include-today").stdout
    assert out.startswith("1 report(s), 1 message(s) queued, 0 destination(s) refused"), out
    assert pending_messages(mx) == 0

    [delivered] = wait_for(lambda: peer.mailbox(RUA), timeout=60, what="report at the peer")
    msg = email.message_from_bytes(delivered.read_bytes(), policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == f"postmaster@{DOMAIN}"
    assert " ".join(str(msg["Subject"]).split()).startswith(
        f"Report Domain: {SENDER} Submitter: {HOSTNAME} Report-ID: <")
    [attachment] = [p for p in msg.iter_attachments()
                    if p.get_content_type() == "application/gzip"]
    filename = attachment.get_filename()
    assert filename.startswith(f"{HOSTNAME}!{SENDER}!") and filename.endswith(".xml.gz")
    xml = gzip.decompress(attachment.get_content())
    report = tmp_path / "report.xml"
    report.write_bytes(xml)
    lint = subprocess.run(["xmllint", "--noout", "--schema", str(XSD), str(report)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr

    root = ET.fromstring(xml)
    assert root.findtext("d:report_metadata/d:org_name", namespaces=NS) == HOSTNAME
    begin = int(root.findtext("d:report_metadata/d:date_range/d:begin", namespaces=NS))
    end = int(root.findtext("d:report_metadata/d:date_range/d:end", namespaces=NS))
    assert begin % 86400 == 0 and end == begin + 86399
    assert f"!{begin}!{end}." in filename
    assert root.findtext("d:policy_published/d:domain", namespaces=NS) == SENDER
    assert root.findtext("d:policy_published/d:p", namespaces=NS) == "quarantine"
    records = {}
    for record in root.findall("d:record", NS):
        row = record.find("d:row", NS)
        records[row.findtext("d:source_ip", namespaces=NS)] = record
    assert set(records) == {GOOD_IP, BAD_IP}

    good = records[GOOD_IP]
    assert good.findtext("d:row/d:count", namespaces=NS) == "2"
    assert good.findtext("d:row/d:policy_evaluated/d:spf", namespaces=NS) == "pass"
    assert good.findtext("d:row/d:policy_evaluated/d:disposition", namespaces=NS) == "pass"
    assert good.findtext("d:identifiers/d:header_from", namespaces=NS) == SENDER
    assert good.findtext("d:auth_results/d:spf/d:result", namespaces=NS) == "pass"

    bad = records[BAD_IP]
    assert bad.findtext("d:row/d:count", namespaces=NS) == "1"
    assert bad.findtext("d:row/d:policy_evaluated/d:spf", namespaces=NS) == "fail"
    assert bad.findtext("d:row/d:policy_evaluated/d:dkim", namespaces=NS) == "fail"
    # Recorded, not quarantined (mailauth only records by default): the reason says so.
    assert bad.findtext("d:row/d:policy_evaluated/d:disposition", namespaces=NS) == "none"
    assert bad.findtext("d:row/d:policy_evaluated/d:reason/d:type",
                        namespaces=NS) == "local_policy"
    assert bad.findtext("d:auth_results/d:spf/d:result", namespaces=NS) == "fail"


def test_received_reports_are_listed(mx, tmp_path):
    report = EmailMessage()
    report["From"] = "DMARC Aggregate Report <noreply@reporter.test>"
    report["To"] = ADMIN
    report["Subject"] = "Report Domain: example.com Submitter: fastmail.com Report-ID: 102675056"
    report["Message-ID"] = "<102675056@reporter.test>"
    report.set_content("This is an aggregate report from FastMail.")
    report.add_attachment(SAMPLE.read_bytes(), maintype="application", subtype="gzip",
                          filename=SAMPLE.name)
    deliver(mx, tmp_path, report.as_bytes(policy=email.policy.SMTP), GOOD_IP,
            "noreply@reporter.test")
    # Ordinary mail in the same mailbox is skipped.
    deliver(mx, tmp_path, message("not-a-report"), GOOD_IP, f"alice@{SENDER}")

    out = dmarc(mx, "reports").stdout
    assert out.count("report ") == 1, out
    assert "report 102675056 from FastMail Pty Ltd" in out
    assert "policy:  indemed.com p=none" in out
    line = [l for l in out.splitlines() if "104.195.80.20" in l]
    assert len(line) == 1 and "count=1" in line[0] and "dkim=fail" in line[0], out
    assert "spf: example.com=softfail" in line[0]

    [item] = json.loads(dmarc(mx, "reports", "--json").stdout)
    assert item["report_id"] == "102675056" and item["domain"] == "indemed.com"
    assert item["begin"] == 1516060800 and item["end"] == 1516147199
    assert item["records"] == [{"source_ip": "104.195.80.20", "count": 1,
                                "disposition": "none", "dkim": "fail", "spf": "fail",
                                "header_from": "example.com"}]
