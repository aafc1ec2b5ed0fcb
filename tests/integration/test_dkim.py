"""`sovereign dkim`: keys made by keygen, signatures made by `dkim sign` and checked by an
independent verifier (dkimpy, both rsa-sha256 and ed25519-sha256) on messages that exercise
canonicalisation (folded headers, trailing whitespace, empty and 8-bit bodies, duplicate headers),
and a key rotation that only switches once the new selectors are served by a (test) DNS."""
import re
import subprocess

import dkim
import pytest

from conftest import DOMAIN, SOVEREIGN, dns_config, make_data_dir, merge_config, run_cli
from dnsfixture import DnsFixture

TXT_LINE = re.compile(r"^\s*(\S+)\._domainkey\.(\S+)\. \d+ IN TXT (.*)$")


def txt_records(data, domain=DOMAIN):
    """{selector: TXT value} from `dkim list`, the quoted strings joined (RFC 1035 §3.3.14)."""
    out = run_cli(data, "dkim", "list", domain).stdout
    records = {}
    for line in out.splitlines():
        m = TXT_LINE.match(line)
        if m:
            records[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(3)))
    return records, out


def sign(data, message: bytes, domain=DOMAIN, canon=None) -> bytes:
    extra = ["--canon", canon] if canon else []
    result = subprocess.run([SOVEREIGN, "dkim", "sign", domain, "--data", str(data), *extra],
                            input=message, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def dnsfunc_for(records, domain=DOMAIN):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        selector, _, rest = name.rstrip(".").partition("._domainkey.")
        if rest != domain or selector not in records:
            return None
        return records[selector].encode()
    return dnsfunc


def verify_each(signed: bytes, records, domain=DOMAIN) -> list[bool]:
    """dkimpy's verdict on every DKIM-Signature of the message, top to bottom."""
    d = dkim.DKIM(signed)
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    verdicts = []
    for i in range(count):
        try:
            verdicts.append(d.verify(idx=i, dnsfunc=dnsfunc_for(records, domain)))
        except dkim.DKIMException:  # dkimpy raises for a body hash mismatch
            verdicts.append(False)
    return verdicts


@pytest.fixture
def keyed(tmp_path):
    data = make_data_dir(tmp_path)
    out = run_cli(data, "dkim", "keygen", DOMAIN).stdout
    assert "active" in out and "_domainkey" in out
    records, _ = txt_records(data)
    return data, records


TRICKY = {
    "plain": b"From: Alice <postmaster@example.test>\r\nTo: bob@example.org\r\n"
             b"Subject: hello\r\nDate: Sun, 29 Nov 2026 07:00:00 +0000\r\n"
             b"Message-ID: <1@example.test>\r\n\r\nHello Bob.\r\n",
    "folded": b"From: postmaster@example.test\r\nTo: a@example.org,\r\n\tb@example.org,\r\n"
              b"   c@example.org\r\nSubject: a  long\r\n  folded \t subject\r\n\r\nbody\r\n",
    "trailing_ws": b"From: postmaster@example.test \t\r\nSubject: x  \r\n\r\n"
                   b"line with trailing space   \r\n\t\r\nend\t\r\n\r\n\r\n\r\n",
    "empty_body": b"From: postmaster@example.test\r\nSubject: empty\r\n\r\n",
    "no_body": b"From: postmaster@example.test\r\nSubject: none\r\n",
    "eight_bit": "From: Jörg <postmaster@example.test>\r\nSubject: Grüße\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\nÄrger über Öl\r\n".encode()
                 + b"\xff\xfe raw\r\n",
    "duplicates": b"From: postmaster@example.test\r\nTo: one@example.org\r\n"
                  b"Received: by a\r\nTo: two@example.org\r\nReceived: by b\r\n"
                  b"Comments: x\r\nComments: y\r\n\r\nbody\r\n",
    "lf_only": b"From: postmaster@example.test\nSubject: lf\n\nunix\nline ends\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_dkimpy_verifies_both_signatures(keyed, name):
    data, records = keyed
    assert {s.split("-")[-1] for s in records} == {"rsa", "ed"}
    signed = sign(data, TRICKY[name])
    assert signed.count(b"DKIM-Signature:") == 2
    assert b"a=rsa-sha256" in signed and b"a=ed25519-sha256" in signed
    assert b"c=relaxed/relaxed" in signed
    assert verify_each(signed, records) == [True, True]
    # The other canonicalisations (what a verifier meets from other signers, issue 6).
    for canon in ("simple/simple", "simple/relaxed", "relaxed/simple"):
        signed = sign(data, TRICKY[name], canon=canon)
        assert f"c={canon};".encode() in signed
        assert verify_each(signed, records) == [True, True], canon


def test_tampering_is_detected(keyed):
    data, records = keyed
    signed = sign(data, TRICKY["plain"])
    assert verify_each(signed.replace(b"Hello Bob", b"Hello Eve"), records) == [False, False]
    # Oversigned: a second Subject (or an added Cc) breaks both signatures...
    added = signed.replace(b"Subject: hello", b"Subject: pay now\r\nSubject: hello")
    assert verify_each(added, records) == [False, False]
    added_cc = signed.replace(b"Subject: hello", b"Cc: mallory@example.net\r\nSubject: hello")
    assert verify_each(added_cc, records) == [False, False]
    # ...a relay's Received field and header refolding do not (relaxed/relaxed).
    relayed = b"Received: from relay\r\n" + signed.replace(b"Subject: hello",
                                                          b"Subject:\r\n  hello")
    assert verify_each(relayed, records) == [True, True]


def test_keygen_refuses_existing_keys_and_foreign_domains(keyed):
    data, _ = keyed
    again = run_cli(data, "dkim", "keygen", DOMAIN, check=False)
    assert again.returncode == 1 and "rotate" in again.stderr
    foreign = run_cli(data, "dkim", "keygen", "theirs.test", check=False)
    assert foreign.returncode == 1 and "not a domain hosted here" in foreign.stderr
    bad = run_cli(data, "dkim", "list", "../../etc", check=False)
    assert bad.returncode == 1
    assert not (data / "keys" / "dkim" / "..").resolve().joinpath("etc").exists()


def test_key_files_are_private(keyed):
    data, records = keyed
    key_dir = data / "keys" / "dkim" / DOMAIN
    for selector in records:
        assert (key_dir / f"{selector}.pem").stat().st_mode & 0o777 == 0o600
    assert "active" in (key_dir / "selectors").read_text()


def test_sign_without_keys_fails(tmp_path):
    data = make_data_dir(tmp_path)
    result = run_cli(data, "dkim", "sign", DOMAIN, stdin="From: a@example.test\n\n", check=False)
    assert result.returncode == 1 and "keygen" in result.stderr


# ---------------------------------------------------------------------------- rotation with DNS


@pytest.fixture
def zones(tmp_path):
    fx = DnsFixture(tmp_path / "dns")
    fx.start()
    yield fx
    fx.stop()


def zone_records(data, domain):
    out = run_cli(data, "dns", "records", domain).stdout
    return [line for line in out.splitlines() if line and not line.startswith(";")]


def test_rotation_waits_for_dns(tmp_path, zones):
    domain = "rot.test"
    data = make_data_dir(tmp_path)
    config = data / "sovereign.toml"
    text = re.sub(r'(?m)^hostname = .*$', f'hostname = "mx.{domain}"', config.read_text())
    config.write_text(merge_config(text, dns_config(zones)))
    run_cli(data, "domain", "add", domain)
    run_cli(data, "dkim", "keygen", domain, "--rsa-bits", "2048")
    old, _ = txt_records(data, domain)
    published = zone_records(data, domain)
    assert sum("._domainkey." in r for r in published) == 2
    zones.add_zone(domain, published + ["mx A 127.0.0.1"])
    check = run_cli(data, "dns", "check", domain, check=False)
    assert check.returncode == 0, check.stdout
    assert "DKIM rsa" in check.stdout and "DKIM ed25519" in check.stdout

    # Step 1: a pending pair, shown by `dns records` beside the active one; not signing yet.
    out = run_cli(data, "dkim", "rotate", domain).stdout
    assert "pending" in out
    records, listing = txt_records(data, domain)
    new = sorted(set(records) - set(old))
    assert len(new) == 2 and listing.count("pending") == 2
    both = zone_records(data, domain)
    assert sum("._domainkey." in r for r in both) == 4
    signed = sign(data, TRICKY["plain"], domain=domain)
    assert all(f"s={s};".encode() in signed for s in old)

    # Step 2 before the records are served: refused, nothing changes.
    early = run_cli(data, "dkim", "rotate", domain, check=False)
    assert early.returncode == 1 and "missing" in early.stdout
    assert txt_records(data, domain)[1].count("pending") == 2

    # A wrong key at the new name is not good enough either.
    wrong = [r if new[0] not in r else r.replace(records[new[0]][-20:], "A" * 20) for r in both]
    wrong = [r for r in wrong if new[1] not in r]
    zones.update_zone(domain, wrong + ["mx A 127.0.0.1"])
    refused = run_cli(data, "dkim", "rotate", domain, check=False)
    assert refused.returncode == 1 and "wrong" in refused.stdout

    # Served: signing switches, the old pair is retired but still listed and published.
    zones.update_zone(domain, both + ["mx A 127.0.0.1"])
    done = run_cli(data, "dkim", "rotate", domain)
    assert "Signing now uses" in done.stdout
    _, listing = txt_records(data, domain)
    assert listing.count("retired") >= 2 and "pending" not in listing
    signed = sign(data, TRICKY["plain"], domain=domain)
    assert all(f"s={s};".encode() in signed for s in new)
    assert not any(f"s={s};".encode() in signed for s in old)
    assert verify_each(signed, records, domain) == [True, True]
    assert sum("._domainkey." in r for r in zone_records(data, domain)) == 4

    # Forgetting the retired pair removes its keys and its records.
    forgot = run_cli(data, "dkim", "rotate", domain, "--forget-retired").stdout
    assert all(s in forgot for s in old)
    remaining, _ = txt_records(data, domain)
    assert sorted(remaining) == new
    assert sum("._domainkey." in r for r in zone_records(data, domain)) == 2
