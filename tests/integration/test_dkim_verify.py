"""`sovereign dkim verify` against an independent signer: dkimpy signs a corpus of varied messages
(rsa-sha256 and ed25519-sha256, every canonicalisation, with and without l=) with keys published
in the test DNS fixture, and our verifier, resolving through the validating resolver, must pass
them; tampered copies must fail. The other direction (dkimpy verifying `sovereign dkim sign`) is
in test_dkim.py for its corpus; here it is run on the messages that file does not have."""
import base64
import re
import subprocess

import dkim
import pytest

from conftest import SOVEREIGN, dns_config, make_data_dir, merge_config, run_cli
from dnsfixture import DnsFixture
from test_dkim import TRICKY, txt_records, verify_each

DOMAIN = "verify.test"

# Messages test_dkim.py does not have: MIME structure, long folded headers, l= fodder.
EXTRA = {
    "multipart": (
        b"From: Alice <alice@verify.test>\r\nTo: bob@example.org\r\nSubject: report\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"preamble\r\n--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"See attachment.  \r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b1--\r\n\r\n\r\n"),
    "long_folded": (
        b"From: alice@verify.test\r\nTo: " + b",\r\n ".join(
            f"user{i}@example.org".encode() for i in range(40)) + b"\r\n"
        b"Subject: " + b" ".join(b"word%d" % i for i in range(60)) + b"\r\n"
        b"References: " + b"\r\n\t".join(b"<%d@example.org>" % i for i in range(30)) + b"\r\n"
        b"\r\n" + b"x" * 998 + b"\r\n" + b"line\r\n" * 200),
    "whitespace_body": (
        b"From: alice@verify.test\r\nSubject: spaces\r\n\r\n"
        b"  leading\r\n\ttabs\t\tinside\t\r\ntrailing   \r\n\r\n \r\n\t\r\n"),
    "eight_bit_qp_header": (
        "From: =?utf-8?q?J=C3=B6rg?= <alice@verify.test>\r\nSubject: Grüße aus Köln\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Ärger über Öl — ünïcödé\r\n").encode(),
}


def corpus():
    messages = {f"tricky_{k}": v for k, v in TRICKY.items() if k != "no_body"}
    # (dkimpy cannot sign a message without a header/body separator; test_dkim.py covers it.)
    messages.update(EXTRA)
    return {name: re.sub(rb"(?<!\r)\n", b"\r\n", body) for name, body in messages.items()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A data directory hosting DOMAIN with an RSA and an Ed25519 key, published (DNSSEC-signed)
    in the fixture DNS that the resolver of that data directory uses."""
    base = tmp_path_factory.mktemp("dkimv")
    zones = DnsFixture(base / "dns")
    zones.start()
    try:
        data = make_data_dir(base)
        config = data / "sovereign.toml"
        text = re.sub(r'(?m)^hostname = .*$', f'hostname = "mx.{DOMAIN}"', config.read_text())
        config.write_text(merge_config(text, dns_config(zones)))
        run_cli(data, "domain", "add", DOMAIN)
        run_cli(data, "dkim", "keygen", DOMAIN)
        records, _ = txt_records(data, DOMAIN)
        out = run_cli(data, "dns", "records", DOMAIN).stdout
        published = [line for line in out.splitlines() if line and not line.startswith(";")]
        zones.add_zone(DOMAIN, published + ["mx A 127.0.0.1"])
        keys = {}
        for selector in records:
            pem = (data / "keys" / "dkim" / DOMAIN / f"{selector}.pem").read_bytes()
            if selector.endswith("-ed"):
                # dkimpy wants the 32-octet Ed25519 seed, base64: the tail of the PKCS#8 DER.
                der = base64.b64decode(b"".join(
                    line for line in pem.splitlines() if not line.startswith(b"-----")))
                keys["ed25519-sha256"] = (selector, base64.b64encode(der[-32:]))
            else:
                keys["rsa-sha256"] = (selector, pem)
        assert set(keys) == {"rsa-sha256", "ed25519-sha256"}
        yield data, keys, records
    finally:
        zones.stop()


def dkimpy_sign(message, keys, algorithm, canon, length=False):
    selector, key = keys[algorithm]
    field = dkim.sign(message, selector.encode(), DOMAIN.encode(), key,
                      canonicalize=tuple(c.encode() for c in canon.split("/")),
                      signature_algorithm=algorithm.encode(), length=length)
    return field + message


def sovereign_verify(data, tmp_path, message: bytes):
    path = tmp_path / "message.eml"
    path.write_bytes(message)
    result = subprocess.run([SOVEREIGN, "dkim", "verify", str(path), "--data", str(data)],
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout.splitlines(), result.stderr


CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]


@pytest.mark.parametrize("name", sorted(corpus()))
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_we_verify_what_dkimpy_signs(setup, tmp_path, name, algorithm):
    data, keys, _ = setup
    message = corpus()[name]
    selector = keys[algorithm][0]
    for canon in CANONS:
        for length in (False, True):
            signed = dkimpy_sign(message, keys, algorithm, canon, length)
            field = signed[:signed.index(b"\r\nFrom") if signed.startswith(b"DKIM") else 0]
            assert (re.search(rb"[\s;]l=\d", field) is not None) == length
            code, lines, err = sovereign_verify(data, tmp_path, signed)
            assert code == 0, (canon, length, lines, err)
            assert lines == [f"pass d={DOMAIN} s={selector} a={algorithm}"], (canon, length)


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_tampered_copies_fail(setup, tmp_path, algorithm):
    data, keys, _ = setup
    message = corpus()["multipart"]
    for canon in CANONS:
        signed = dkimpy_sign(message, keys, algorithm, canon)
        body = signed.replace(b"See attachment.", b"See the link.  ")
        code, lines, _ = sovereign_verify(data, tmp_path, body)
        assert code == 1 and lines[0].startswith("fail ") and "body hash" in lines[0], lines
        header = signed.replace(b"Subject: report", b"Subject: invoice")
        code, lines, _ = sovereign_verify(data, tmp_path, header)
        assert code == 1 and lines[0].startswith("fail ") and "signature" in lines[0], lines
    # l=: text appended after the signed length still verifies (and is reported as l= by the
    # library); text changed inside it does not.
    signed = dkimpy_sign(message, keys, algorithm, "relaxed/relaxed", length=True)
    code, lines, _ = sovereign_verify(data, tmp_path, signed + b"appended advert\r\n")
    assert code == 0, lines
    code, lines, _ = sovereign_verify(data, tmp_path, signed.replace(b"AAECAwQF", b"AAECAwQG"))
    assert code == 1, lines


def test_unknown_selector_and_unsigned(setup, tmp_path):
    data, keys, _ = setup
    signed = dkimpy_sign(corpus()["multipart"], keys, "ed25519-sha256", "relaxed/relaxed")
    selector = keys["ed25519-sha256"][0]
    code, lines, _ = sovereign_verify(data, tmp_path, signed.replace(
        f"s={selector}".encode(), b"s=missing"))
    assert code == 1 and lines[0].startswith("permerror ") and "no key" in lines[0], lines
    code, lines, _ = sovereign_verify(data, tmp_path, corpus()["multipart"])
    assert code == 1 and lines == ["none: no DKIM-Signature field"]


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_dkimpy_and_we_verify_what_we_sign(setup, tmp_path, name):
    """The TRICKY corpus is cross-checked in test_dkim.py; the extra messages here too, and our
    own verifier must agree with dkimpy on them."""
    data, _, records = setup
    for canon in CANONS:
        result = subprocess.run(
            [SOVEREIGN, "dkim", "sign", DOMAIN, "--data", str(data), "--canon", canon],
            input=EXTRA[name], capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr
        signed = result.stdout
        assert verify_each(signed, records, DOMAIN) == [True, True], canon
        code, lines, _ = sovereign_verify(data, tmp_path, signed)
        assert code == 0 and len(lines) == 2 and all(l.startswith("pass ") for l in lines), lines
