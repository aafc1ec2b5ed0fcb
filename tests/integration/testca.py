"""A private certificate authority for integration tests, made with the openssl command line.

Peers on loopback (Postfix as a receiving MX, the MTA-STS policy hosts' HTTPS servers) need
certificates that a client can verify: PKIX for MTA-STS (RFC 8461 section 4.2 requires a valid
certificate for the MX name), and any certificate for DANE-EE (RFC 7672 section 3.1.1, the TLSA
record pins the key). `TestCA(dir)` creates a self-signed root once; `issue([...])` signs leaf
certificates whose subjectAltName lists every name (DNS names and IP literals).

The openssl CLI is used rather than a Python package so that the tests depend on nothing beyond
the standard library and the tools a mail administrator has anyway.
"""
import ipaddress
import re
import subprocess
from pathlib import Path

OPENSSL = "openssl"
CA_DAYS = 3650
LEAF_DAYS = 397  # the CA/Browser Forum maximum: what a real peer would present


def _openssl(*args, cwd=None) -> str:
    result = subprocess.run(
        [OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result.stdout


def _new_key(path: Path, kind: str):
    """A private key in PKCS#8 PEM: P-256 for "ec", 2048-bit for "rsa" (fast enough for tests)."""
    if kind == "ec":
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", path)
    elif kind == "rsa":
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        raise ValueError(f"key must be 'ec' or 'rsa', not {kind!r}")
    path.chmod(0o600)


def san_entry(name: str) -> str:
    """`DNS:name` or `IP:addr`: an IP literal in a dNSName would not match an IP connection."""
    try:
        return f"IP:{ipaddress.ip_address(name)}"
    except ValueError:
        return f"DNS:{name}"


class TestCA:
    """A root CA in `directory` (created if missing; an existing CA there is reused)."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, directory: Path, name: str = "Sovereign Test CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key_file = self.directory / "ca.key"
        self.ca_file = self.directory / "ca.crt"
        self._serial_file = self.directory / "ca.srl"
        if not self.ca_file.exists():
            self._create_root(name)

    def _create_root(self, name: str):
        _new_key(self.key_file, "ec")
        _openssl(
            "req", "-x509", "-new", "-key", self.key_file, "-out", self.ca_file,
            "-days", CA_DAYS, "-subj", f"/O=Sovereign tests/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
        )

    def issue(self, names: list[str], key: str = "ec", days: int = LEAF_DAYS) -> tuple[Path, Path]:
        """Signs a leaf for `names` (the first is also the CN) and returns (cert_path, key_path).

        The certificate is valid from now (openssl's default notBefore) for `days`, usable by a
        server and a client (Postfix peers are both), and its file holds the leaf only; the
        CA is `ca_file`."""
        if not names:
            raise ValueError("a certificate needs at least one name")
        stem = self._stem(names[0], key)
        key_path = self.directory / f"{stem}.key"
        cert_path = self.directory / f"{stem}.crt"
        csr_path = self.directory / f"{stem}.csr"
        ext_path = self.directory / f"{stem}.ext"
        _new_key(key_path, key)
        _openssl("req", "-new", "-key", key_path, "-out", csr_path, "-subj", f"/CN={names[0]}")
        usage = "digitalSignature" + (",keyEncipherment" if key == "rsa" else "")
        ext_path.write_text(
            "basicConstraints=critical,CA:FALSE\n"
            f"keyUsage=critical,{usage}\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
            f"subjectAltName={','.join(san_entry(n) for n in names)}\n"
        )
        _openssl(
            "x509", "-req", "-in", csr_path, "-CA", self.ca_file, "-CAkey", self.key_file,
            "-CAserial", self._serial_file, "-CAcreateserial", "-days", days,
            "-extfile", ext_path, "-out", cert_path,
        )
        csr_path.unlink()
        ext_path.unlink()
        return cert_path, key_path

    def _stem(self, first_name: str, key: str) -> str:
        """A file name for a new leaf that does not overwrite an earlier one."""
        base = re.sub(r"[^A-Za-z0-9.-]", "_", first_name.replace("*", "wildcard")) + f"-{key}"
        stem, n = base, 1
        while (self.directory / f"{stem}.crt").exists():
            n += 1
            stem = f"{base}-{n}"
        return stem
