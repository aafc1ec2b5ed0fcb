"""`sovereign dns records` and `sovereign dns check` against private signed test zones: the
records we print load into a real name server (NSD) as they are, `check` finds them all ok there,
and it reports a deliberately broken record set (and an unsigned zone) correctly. The TLSA record
is cross-checked with ldns-dane and GnuTLS's danetool on the same certificate."""
import re
import subprocess

import pytest

from conftest import dns_config, make_data_dir, merge_config, run_cli
from dnsfixture import DnsFixture


def data_dir_for(tmp_path, domain, fx):
    """A data directory whose host name is mx.<domain>, hosting <domain>, resolving via fx."""
    data = make_data_dir(tmp_path / domain)
    config = data / "sovereign.toml"
    text = re.sub(r'(?m)^hostname = .*$', f'hostname = "mx.{domain}"', config.read_text())
    config.write_text(merge_config(text, dns_config(fx)))
    run_cli(data, "domain", "add", domain)
    return data


def zone_records(data_dir, domain):
    out = run_cli(data_dir, "dns", "records", domain).stdout
    return [line for line in out.splitlines() if line and not line.startswith(";")]


def check(data_dir, domain):
    result = run_cli(data_dir, "dns", "check", domain, check=False)
    rows = {}
    for line in result.stdout.splitlines():
        m = re.match(r"(ok|missing|wrong|insecure|failed)\s+(.+?)\s{2,}\S", line)
        if m:
            rows.setdefault(m.group(2).strip(), []).append(m.group(1))
    return result, rows


@pytest.fixture
def zones(tmp_path):
    fx = DnsFixture(tmp_path / "dns")
    fx.start()
    yield fx
    fx.stop()


def test_published_records_check_ok(tmp_path, zones):
    data = data_dir_for(tmp_path, "good.test", zones)
    records = zone_records(data, "good.test")
    kinds = {line.split()[3] for line in records}
    assert {"MX", "TXT", "TLSA", "CNAME", "SRV", "CAA"} <= kinds
    zones.add_zone("good.test", records + ["mx A 127.0.0.1"])
    result, rows = check(data, "good.test")
    assert result.returncode == 0, result.stdout
    assert set(rows) >= {"MX", "SPF", "DMARC", "TLSA", "MTA-STS", "MTA-STS host", "TLS-RPT", "CAA"}
    assert all(statuses == ["ok"] * len(statuses) for statuses in rows.values()), result.stdout


def test_broken_record_set_is_reported(tmp_path, zones):
    data = data_dir_for(tmp_path, "bad.test", zones)
    records = zone_records(data, "bad.test")
    broken = [r for r in records if " TLSA " not in r and "v=DMARC1" not in r]
    broken = [re.sub(r"id=\w+", "id=stale1", r) for r in broken]
    broken.append('bad.test. 3600 IN TXT "v=spf1 a -all"')  # a second SPF record
    zones.add_zone("bad.test", broken + ["mx A 127.0.0.1"])
    result, rows = check(data, "bad.test")
    assert result.returncode == 1
    assert rows["TLSA"] == ["missing"]
    assert rows["DMARC"] == ["missing"]
    assert rows["MTA-STS"] == ["wrong"]
    assert rows["SPF"] == ["wrong"]
    assert rows["MX"] == ["ok"] and rows["TLS-RPT"] == ["ok"]
    assert "found: v=STSv1; id=stale1" in result.stdout
    assert "more than one record of this kind" in result.stdout


def test_unsigned_zone_is_reported_insecure(tmp_path, zones):
    data = data_dir_for(tmp_path, "plain.test", zones)
    zones.add_zone("plain.test", zone_records(data, "plain.test") + ["mx A 127.0.0.1"],
                   kind="unsigned")
    result, rows = check(data, "plain.test")
    assert result.returncode == 1
    assert rows["MX"] == ["insecure"] and rows["TLSA"] == ["insecure"]
    assert "not DNSSEC-signed" in result.stdout


def test_tlsa_matches_ldns_dane_and_danetool(tmp_path, zones):
    data = data_dir_for(tmp_path, "tlsa.test", zones)
    [ours] = [r for r in zone_records(data, "tlsa.test") if " TLSA " in r]
    ours = " ".join(ours.split()[4:]).lower()
    cert = str(data / "keys" / "cert.pem")
    ldns = subprocess.run(["ldns-dane", "-n", "-c", cert, "create", "mx.tlsa.test", "25", "3", "1", "1"],
                          capture_output=True, text=True, check=True).stdout.split()
    from_ldns = " ".join(ldns[ldns.index("TLSA") + 1:]).lower()
    gnutls = subprocess.run(["danetool", "--tlsa-rr", "--load-certificate", cert, "--host",
                             "mx.tlsa.test", "--port", "25"],
                            capture_output=True, text=True, check=True).stdout
    usage, selector, mtype, digest = re.search(r"\(\s*(\S+) (\S+) (\S+) (\S+)\s*\)", gnutls).groups()
    assert ours == from_ldns == f"{int(usage)} {int(selector)} {int(mtype)} {digest.lower()}"


def test_records_refuse_a_domain_not_hosted_here(tmp_path, zones):
    data = data_dir_for(tmp_path, "mine.test", zones)
    result = run_cli(data, "dns", "records", "theirs.test", check=False)
    assert result.returncode == 1
    assert "not a domain hosted here" in result.stderr
