"""A private, DNSSEC-signed DNS for integration tests, served on loopback by NSD.

Why: delivery decisions (MX choice, DANE, MTA-STS) depend on DNS answers *and* on whether they
validated. Tests need answers that are secure, insecure and bogus on demand, without the network.

Shape. Every name lives under the RFC 6761 reserved TLD `test.`. One NSD serves the zone `test.`
and all child zones delegated from it. The DS of `test.` is the only trust anchor
(`trust_anchor_file`); the resolver under test forwards every query to NSD (`forwarder`).
That is enough for a validating forwarder: NSD, authoritative for parent and child, answers a DS
query from the parent side (RFC 4035 section 3.1.4.1), so the chain test. -> child. is fetched
through the one address. test_dnsfixture.py checks this with libunbound itself.

A resolver under test (libunbound) needs three settings, all checked by test_dnsfixture.py:
  ub_ctx_set_fwd(ctx, fx.forwarder); ub_ctx_add_ta_file(ctx, fx.trust_anchor_file);
  and the removal of Unbound's built-in local zone for `test.` (RFC 6761 names are answered
  NXDOMAIN locally by default): ub_ctx_zone_add(ctx, "test.", "nodefault") -- it finalizes the
  context, so call it last -- or ub_ctx_set_option(ctx, "local-zone:", "test. transparent").
  (ub_ctx_set_option "local-zone:" "test. nodefault" is accepted but has no effect in 1.17.)
  libunbound returns a bogus answer with rcode NOERROR and its data, flagged `bogus` (and
  `why_bogus`): the caller must look at the flag.

Kinds of child zone (`add_zone(..., kind=...)`):
- "signed":   signed with its own key; its DS is in `test.` -> answers are secure.
- "unsigned": delegated without DS; the signed NSEC at the delegation point in `test.` proves
              that no DS exists (RFC 4035 section 5.2) -> answers are insecure.
- "bogus":    correctly signed with its own key, but the DS in `test.` is the digest of a
              *different* key that is never published (a "decoy"). No DNSKEY matches the DS, so
              the chain breaks (RFC 4035 section 5.2) -> a validating resolver says bogus
              (SERVFAIL, or ub_result.bogus with libunbound).

Every zone gets SOA and NS `ns.test.` (one name server, with an address record in `test.`, so no
glue is needed below it). Keys: one ECDSAP256SHA256 (algorithm 13) key per zone with the SEP
flag, used as a combined signing key. NSEC (not NSEC3). Signatures are valid from one day ago to
twenty days ahead, so clock skew between processes does not matter. TTLs are short (`ttl`, 1 s
by default) so that a resolver sees `update_zone` data within a second.

Standard zone set (`standard_zones`), the address plan every test shares:

  domain             MX host                 MX address  notes
  sovereign.test     mx.sovereign.test       127.0.0.1   our own test domain (signed)
  peer.test          mx.peer.test            127.0.0.2   a real Postfix listens on port 25
  dane-ok.test       mx.dane-ok.test         127.0.0.3   TLSA 3 1 1 = SPKI SHA-256 of peer cert
  dane-bad.test      mx.dane-bad.test        127.0.0.4   TLSA 3 1 1 with a wrong digest
  unsigned.test      mx.unsigned.test        127.0.0.5   unsigned (insecure)
  bogus.test         mx.bogus.test           127.0.0.6   bogus (DS does not match the key)
  sts-enforce.test   mx.peer.test            127.0.0.2   mta-sts.sts-enforce.test = 127.0.0.7
  sts-testing.test   mx.peer.test            127.0.0.2   mta-sts.sts-testing.test = 127.0.0.8
  NSD itself:        ns.test                 127.0.0.1   on a free port (`fx.port`)

The sts-* zones publish `_mta-sts` TXT (RFC 8461 section 3.1) and `_smtp._tls` TXT (RFC 8460
section 3); the HTTPS policy hosts are for the tests to run (the policy text is in the plan).

Command line, for poking by hand with kdig:
  python3 tests/integration/dnsfixture.py --dir /tmp/dns
prints the forwarder and trust-anchor path and serves until Ctrl-C.
"""
import argparse
import atexit
import ctypes
import ctypes.util
import hashlib
import ipaddress
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from waiting import wait_for

NSD = "/usr/sbin/nsd"
NSD_CONTROL = "/usr/sbin/nsd-control"
NSD_CHECKZONE = "/usr/sbin/nsd-checkzone"
NSD_CHECKCONF = "/usr/sbin/nsd-checkconf"
LDNS_KEYGEN = "ldns-keygen"
LDNS_SIGNZONE = "ldns-signzone"
LDNS_KEY2DS = "ldns-key2ds"
KDIG = "kdig"
OPENSSL = "openssl"

ROOT_ZONE = "test"
NS_HOST = "ns.test"
KEY_ALGORITHM = "ECDSAP256SHA256"
KINDS = ("signed", "unsigned", "bogus")
SIGNATURE_INCEPTION = timedelta(days=1)  # before now
SIGNATURE_VALIDITY = timedelta(days=20)  # after now
PATTERN = "fixture"  # the nsd.conf pattern every zone uses (also for `nsd-control addzone`)
MAX_UNIX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux


# ---------------------------------------------------------------------------- small helpers
def _run(*args, cwd=None, timeout=60) -> str:
    """Runs a tool; a failure raises with its stderr, which is what a developer needs to see."""
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def normalize(name: str) -> str:
    """Zone and host names are kept lower-case without the trailing dot."""
    return name.strip().rstrip(".").lower()


def free_port(address: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `address` (DNS needs both)."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    for _ in range(100):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for UDP and TCP on {address}")


def _signature_dates() -> tuple[str, str]:
    """(inception, expiration) in ldns-signzone's YYYYMMDDhhmmss form."""
    now = datetime.now(timezone.utc)
    fmt = "%Y%m%d%H%M%S"
    return (now - SIGNATURE_INCEPTION).strftime(fmt), (now + SIGNATURE_VALIDITY).strftime(fmt)


def tlsa_spki_sha256(cert_path: Path) -> str:
    """The TLSA "3 1 1" association data of a certificate: SHA-256 of its DER
    SubjectPublicKeyInfo (RFC 6698 section 2.1.2-2.1.3), as lower-case hex."""
    pubkey = subprocess.run(
        [OPENSSL, "x509", "-in", str(cert_path), "-noout", "-pubkey"],
        capture_output=True, check=True, timeout=30,
    ).stdout
    der = subprocess.run(
        [OPENSSL, "pkey", "-pubin", "-outform", "DER"],
        input=pubkey, capture_output=True, check=True, timeout=30,
    ).stdout
    return hashlib.sha256(der).hexdigest()


# ---------------------------------------------------------------------------- a stdlib SOA query
def soa_serial(address: str, port: int, zone: str, timeout: float = 1.0) -> int | None:
    """The SOA serial NSD serves for `zone` (authoritative answer), or None when it does not
    answer (yet). Plain UDP with the standard library: the readiness check needs no tool."""
    qid = random.randrange(0x10000)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in normalize(zone).split(".")) + b"\0"
    query = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(query, (address, port))
            reply = s.recv(4096)
        except OSError:  # includes timeouts and ICMP port unreachable
            return None
    rid, flags, _qd, ancount, _ns, _ar = struct.unpack("!HHHHHH", reply[:12])
    aa, rcode = flags & 0x0400, flags & 0x000F
    if rid != qid or not aa or rcode != 0 or ancount == 0:
        return None
    pos = _skip_name(reply, 12) + 4  # the question
    pos = _skip_name(reply, pos)  # the answer's owner
    rtype, _cls, _ttl, _rdlen = struct.unpack("!HHIH", reply[pos:pos + 10])
    if rtype != 6:
        return None
    pos = _skip_name(reply, _skip_name(reply, pos + 10))  # MNAME, RNAME
    return struct.unpack("!I", reply[pos:pos + 4])[0]


def _skip_name(packet: bytes, pos: int) -> int:
    """Position after a (possibly compressed, RFC 1035 section 4.1.4) domain name."""
    while True:
        length = packet[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + length


# ---------------------------------------------------------------------------- the fixture
@dataclass
class Zone:
    name: str
    records: list[str]
    kind: str
    serial: int = 1
    key: Path | None = None  # basename (no extension) of the signing key, signed/bogus
    decoy_key: Path | None = None  # bogus only: the unpublished key whose DS the parent holds


class DnsFixture:
    """NSD serving `test.` and its children on `address`:`port` (see the module docstring).

    fx = DnsFixture(tmp / "dns"); fx.add_zone("a.test", ["@ MX 10 mx", "mx A 127.0.0.9"])
    fx.start(); ... fx.forwarder, fx.trust_anchor_file ...; fx.update_zone(...); fx.stop()
    """

    def __init__(self, workdir: Path, address: str = "127.0.0.1", port: int | None = None,
                 ttl: int = 1):
        self.workdir = Path(workdir).resolve()
        self.address = address
        self._port = port
        self.ttl = ttl
        self.zones: dict[str, Zone] = {}
        self.plan: "ZonePlan | None" = None  # set by standard_zones()
        self.process: subprocess.Popen | None = None
        self._zones_dir = self.workdir / "zones"
        self._keys_dir = self.workdir / "keys"
        self._source_dir = self.workdir / "source"
        self.conf_path = self.workdir / "nsd.conf"
        self.log_path = self.workdir / "nsd.log"
        self._control_tmpdir: str | None = None
        self._atexit_registered = False
        self.zones[ROOT_ZONE] = Zone(ROOT_ZONE, [], "signed")

    # ------------------------------------------------------------------ public properties
    @property
    def port(self) -> int:
        if self._port is None:
            self._port = free_port(self.address)
        return self._port

    @property
    def forwarder(self) -> str:
        """`address@port`, as ub_ctx_set_fwd and unbound's forward-addr take it."""
        return f"{self.address}@{self.port}"

    @property
    def trust_anchor_file(self) -> Path:
        """A file holding the DS of `test.` in zone-file format (ub_ctx_add_ta_file)."""
        return self.workdir / "trust-anchor.ds"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ------------------------------------------------------------------ zones
    def add_zone(self, name: str, records: list[str] = (), kind: str = "signed"):
        """Adds a child zone (or sets the records of `test.` itself). Records are zone-file
        lines relative to the zone (`"@ MX 10 mx"`, `"mx A 127.0.0.2"`) or absolute. SOA, NS
        and the delegation in the parent are generated. After start() the zone is added to
        the running NSD and the parent re-signed (awaited)."""
        name = normalize(name)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if name == ROOT_ZONE:
            if kind != "signed":
                raise ValueError("test. is the trust anchor: it is always signed")
            return self.update_zone(name, records)
        if not name.endswith("." + ROOT_ZONE):
            raise ValueError(f"{name}: every zone must be below {ROOT_ZONE}.")
        if name in self.zones:
            raise ValueError(f"{name}: zone already added")
        self.zones[name] = Zone(name, list(records), kind)
        if self.running:
            self._add_running(self.zones[name])
        return self

    def records(self, name: str) -> list[str]:
        """The records last given for zone `name` (a copy: edit it and pass it to update_zone)."""
        return list(self.zones[normalize(name)].records)

    def update_zone(self, name: str, records: list[str]):
        """Replaces the records of zone `name`, re-signs it and, when running, waits until NSD
        serves the new serial."""
        zone = self.zones[normalize(name)]
        zone.records = list(records)
        zone.serial += 1
        if self.running:
            self._publish(zone)
            self._control("reload", zone.name)
            self._await_serials([zone])
        return self

    # ------------------------------------------------------------------ life cycle
    def start(self, timeout: float = 10.0):
        """Makes keys, signs every zone, writes nsd.conf and runs NSD in the foreground (-d)
        until every zone answers with its serial."""
        if self.running:
            return self
        for d in (self._zones_dir, self._keys_dir, self._source_dir):
            d.mkdir(parents=True, exist_ok=True)
        for zone in self.zones.values():
            self._make_keys(zone)
        self._write_trust_anchor()
        for zone in self.zones.values():
            self._publish(zone)
        self._write_conf()
        _run(NSD_CHECKCONF, self.conf_path)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [NSD, "-d", "-c", str(self.conf_path)], stdout=log, stderr=subprocess.STDOUT
            )
        if not self._atexit_registered:  # a test that fails before stop() leaves no NSD behind
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._await_serials(self.zones.values(), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._control_tmpdir:
            shutil.rmtree(self._control_tmpdir, ignore_errors=True)
            self._control_tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no nsd log)"

    # ------------------------------------------------------------------ querying (tests, humans)
    def kdig(self, name: str, rrtype: str, *options: str) -> str:
        """kdig's output for a query to NSD, e.g. kdig("dane-ok.test", "DS", "+dnssec")."""
        return _run(KDIG, f"@{self.address}", "-p", self.port, "+norec", "+retry=0",
                    "+timeout=2", *options, name, rrtype)

    # ------------------------------------------------------------------ internals: keys
    def _make_keys(self, zone: Zone):
        if zone.kind == "unsigned" or zone.key is not None:
            return
        zone.key = self._keygen(zone.name)
        if zone.kind == "bogus":
            zone.decoy_key = self._keygen(zone.name)

    def _keygen(self, name: str) -> Path:
        """A new KSK-flagged (257) key, used alone as a combined signing key."""
        base = _run(LDNS_KEYGEN, "-a", KEY_ALGORITHM, "-k", name + ".", cwd=self._keys_dir)
        return self._keys_dir / base.strip()

    def _ds_rdata(self, key: Path) -> str:
        """`tag alg 2 digest` of a key (SHA-256 digest type, RFC 4509)."""
        line = _run(LDNS_KEY2DS, "-n", "-2", f"{key}.key")
        fields = line.split()
        return " ".join(fields[fields.index("DS") + 1:])

    def _write_trust_anchor(self):
        rdata = self._ds_rdata(self.zones[ROOT_ZONE].key)
        self.trust_anchor_file.write_text(f"{ROOT_ZONE}. {self.ttl} IN DS {rdata}\n")

    # ------------------------------------------------------------------ internals: zone files
    def _parent(self, name: str) -> str | None:
        """The closest enclosing zone we serve (the one holding the delegation)."""
        labels = name.split(".")
        for i in range(1, len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.zones:
                return candidate
        return None

    def _delegations(self, parent: str) -> list[str]:
        """NS (and DS, for signed and bogus children) records of the zones cut from `parent`."""
        lines = []
        for child in self.zones.values():
            if child.name == parent or self._parent(child.name) != parent:
                continue
            lines.append(f"{child.name}. NS {NS_HOST}.")
            if child.kind == "signed":
                lines.append(f"{child.name}. DS {self._ds_rdata(child.key)}")
            elif child.kind == "bogus":
                lines.append(f"{child.name}. DS {self._ds_rdata(child.decoy_key)}")
        return lines

    def _zone_text(self, zone: Zone) -> str:
        ns_type = "AAAA" if ipaddress.ip_address(self.address).version == 6 else "A"
        lines = [
            f"$ORIGIN {zone.name}.",
            f"$TTL {self.ttl}",
            f"@ SOA {NS_HOST}. hostmaster.{ROOT_ZONE}. {zone.serial} 3600 600 86400 {self.ttl}",
            f"@ NS {NS_HOST}.",
        ]
        if zone.name == ROOT_ZONE:
            lines.append(f"{NS_HOST}. {ns_type} {self.address}")
            lines += self._delegations(zone.name)
        lines += zone.records
        return "\n".join(lines) + "\n"

    def _publish(self, zone: Zone):
        """Writes the zone file NSD serves: signed for signed/bogus zones, plain otherwise."""
        source = self._source_dir / f"{zone.name}.zone"
        served = self._zones_dir / f"{zone.name}.zone"
        source.write_text(self._zone_text(zone))
        if zone.kind == "unsigned":
            shutil.copyfile(source, served)
        else:
            inception, expiration = _signature_dates()
            _run(LDNS_SIGNZONE, "-i", inception, "-e", expiration, "-f", served, source,
                 zone.key)
        _run(NSD_CHECKZONE, zone.name + ".", served)

    # ------------------------------------------------------------------ internals: NSD
    def _write_conf(self):
        socket_path = self.workdir / "nsd.ctl"
        if len(str(socket_path)) > MAX_UNIX_SOCKET_PATH:
            self._control_tmpdir = tempfile.mkdtemp(prefix="nsdctl-")
            socket_path = Path(self._control_tmpdir) / "nsd.ctl"
        zones = "".join(
            f"zone:\n  name: {z.name}\n  include-pattern: {PATTERN}\n"
            for z in self.zones.values()
        )
        self.conf_path.write_text(f"""\
# Written by dnsfixture.py: a private NSD for tests; nothing here is the system instance.
server:
  ip-address: {self.address}@{self.port}
  port: {self.port}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "{self._zones_dir}"
  database: ""
  zonelistfile: "{self.workdir / 'zone.list'}"
  xfrdfile: ""
  xfrdir: "{self.workdir}"
  pidfile: "{self.workdir / 'nsd.pid'}"
  logfile: "{self.log_path}"
  verbosity: 1
  # Tests query in bursts; response rate limiting would drop answers.
  rrl-ratelimit: 0
  refuse-any: no
remote-control:
  control-enable: yes
  control-interface: "{socket_path}"
pattern:
  name: {PATTERN}
  zonefile: "%s.zone"
{zones}""")

    def _control(self, *args):
        """nsd-control over the private unix socket (no keys needed: file permissions)."""
        return _run(NSD_CONTROL, "-c", self.conf_path, *args)

    def _add_running(self, zone: Zone):
        """Adds a zone to the running NSD, then re-signs its parent with the new delegation."""
        self._make_keys(zone)
        self._publish(zone)
        self._control("addzone", zone.name, PATTERN)
        parent = self.zones[self._parent(zone.name)]
        parent.serial += 1
        self._publish(parent)
        self._control("reload", parent.name)
        self._await_serials([zone, parent])

    def _await_serials(self, zones, timeout: float = 10.0):
        """Waits until NSD answers each zone's SOA with its current serial."""
        pending = list(zones)

        def done():
            if not self.running:
                raise AssertionError(f"nsd exited ({self.process.returncode}):\n{self.log_text()}")
            while pending and soa_serial(self.address, self.port, pending[0].name, 0.5) == \
                    pending[0].serial:
                pending.pop(0)
            return not pending

        try:
            wait_for(done, timeout, what="NSD to serve the zones")
        except AssertionError as e:
            raise AssertionError(f"{e}; pending {[z.name for z in pending]}\n{self.log_text()}")


# ---------------------------------------------------------------------------- standard zones
@dataclass
class Domain:
    """One domain of the standard set: where its mail goes and what a resolver should say."""
    name: str
    kind: str  # signed | unsigned | bogus
    mx: str
    mx_ip: str
    tlsa: str | None = None  # "3 1 1 <hex>" published at _25._tcp.<mx>, if any
    sts_host: str | None = None  # mta-sts.<domain>
    sts_ip: str | None = None
    sts_policy: str | None = None  # the policy text the HTTPS host should serve


@dataclass
class ZonePlan:
    domains: dict[str, Domain] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Domain:
        return self.domains[normalize(name)]

    def mx_hosts(self) -> dict[str, str]:
        """MX host -> address, for every MX of the plan (e.g. the peer certificate's names)."""
        return {d.mx: d.mx_ip for d in self.domains.values()}


# The names of the certificate the MX peers present (PKIX needs the name; DANE-EE ignores it).
PEER_CERT_NAMES = ["mx.peer.test", "mx.dane-ok.test", "mx.dane-bad.test", "mx.unsigned.test",
                   "mx.bogus.test"]
STS_ID = "20261128T120000"
TLSRPT = "v=TLSRPTv1; rua=mailto:tlsrpt@sovereign.test"
WRONG_DIGEST = "00" * 32


def sts_policy(mode: str, mx: str) -> str:
    """An RFC 8461 section 3.2 policy file (CRLF lines)."""
    return f"version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: 86400\r\n"


def standard_zones(fx: DnsFixture, peer_cert: Path | None = None) -> ZonePlan:
    """Adds the standard zone set (see the table at the top) and returns its plan. `peer_cert`
    is the certificate the MX Postfix presents; without it dane-ok.test has no TLSA record."""
    plan = ZonePlan()

    def mail_zone(name, kind, mx_ip, extra=(), tlsa=None):
        mx = f"mx.{name}"
        records = ["@ MX 10 mx", f"mx A {mx_ip}", *extra]
        if tlsa:
            records.append(f"_25._tcp.mx TLSA {tlsa}")
        fx.add_zone(name, records, kind)
        plan.domains[name] = Domain(name, kind, mx, mx_ip, tlsa)

    mail_zone("sovereign.test", "signed", "127.0.0.1")
    mail_zone("peer.test", "signed", "127.0.0.2")
    mail_zone("dane-ok.test", "signed", "127.0.0.3",
              tlsa=f"3 1 1 {tlsa_spki_sha256(peer_cert)}" if peer_cert else None)
    mail_zone("dane-bad.test", "signed", "127.0.0.4", tlsa=f"3 1 1 {WRONG_DIGEST}")
    mail_zone("unsigned.test", "unsigned", "127.0.0.5")
    mail_zone("bogus.test", "bogus", "127.0.0.6")
    for name, mode, sts_ip in (("sts-enforce.test", "enforce", "127.0.0.7"),
                               ("sts-testing.test", "testing", "127.0.0.8")):
        peer = plan["peer.test"]
        fx.add_zone(name, [
            f"@ MX 10 {peer.mx}.",
            f'_mta-sts TXT "v=STSv1; id={STS_ID};"',
            f"mta-sts A {sts_ip}",
            f'_smtp._tls TXT "{TLSRPT}"',
        ])
        plan.domains[name] = Domain(name, "signed", peer.mx, peer.mx_ip, None,
                                    f"mta-sts.{name}", sts_ip, sts_policy(mode, peer.mx))
    fx.plan = plan
    return plan


# ---------------------------------------------------------------------------- libunbound probe
RR_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28,
            "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "TLSA": 52}


class _UbResult(ctypes.Structure):
    # struct ub_result from unbound.h (libunbound 1.17).
    _fields_ = [
        ("qname", ctypes.c_char_p), ("qtype", ctypes.c_int), ("qclass", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.POINTER(ctypes.c_char))),
        ("len", ctypes.POINTER(ctypes.c_int)), ("canonname", ctypes.c_char_p),
        ("rcode", ctypes.c_int), ("answer_packet", ctypes.c_void_p),
        ("answer_len", ctypes.c_int), ("havedata", ctypes.c_int), ("nxdomain", ctypes.c_int),
        ("secure", ctypes.c_int), ("bogus", ctypes.c_int), ("why_bogus", ctypes.c_char_p),
        ("was_ratelimited", ctypes.c_int), ("ttl", ctypes.c_int),
    ]


@dataclass
class Validated:
    rcode: int
    havedata: bool
    nxdomain: bool
    secure: bool
    bogus: bool
    why_bogus: str | None
    rdata: list[bytes]

    @property
    def status(self) -> str:
        return "bogus" if self.bogus else "secure" if self.secure else "insecure"


def _libunbound():
    path = ctypes.util.find_library("unbound") or "libunbound.so.8"
    lib = ctypes.CDLL(path)
    lib.ub_ctx_create.restype = ctypes.c_void_p
    lib.ub_ctx_delete.argtypes = [ctypes.c_void_p]
    lib.ub_ctx_set_fwd.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.ub_ctx_add_ta_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.ub_ctx_set_option.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.ub_ctx_zone_add.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.ub_resolve.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(ctypes.POINTER(_UbResult))]
    lib.ub_resolve_free.argtypes = [ctypes.POINTER(_UbResult)]
    lib.ub_strerror.restype = ctypes.c_char_p
    return lib


def unbound_resolve(fx: DnsFixture, name: str, rrtype: str) -> Validated:
    """Resolves through libunbound configured as our server will be (forward to NSD, trust
    anchor = DS of test.): an independent oracle for secure / insecure / bogus. A fresh
    context per call, so no cache hides an update."""
    lib = _libunbound()
    ctx = lib.ub_ctx_create()
    if not ctx:
        raise RuntimeError("ub_ctx_create failed")
    try:
        for step, rc in (
            ("do-ip6", lib.ub_ctx_set_option(ctx, b"do-ip6:", b"no")),
            ("set_fwd", lib.ub_ctx_set_fwd(ctx, fx.forwarder.encode())),
            ("add_ta_file", lib.ub_ctx_add_ta_file(ctx, str(fx.trust_anchor_file).encode())),
            # Unbound answers the RFC 6761 names (test., invalid., ...) itself with NXDOMAIN
            # from a default local zone: removing it lets queries for test. reach NSD. (Setting
            # the option "local-zone:" to "test. nodefault" is accepted but has no effect in
            # libunbound 1.17; "test. transparent" works too.) It finalizes the
            # context: it comes last.
            ("zone_add", lib.ub_ctx_zone_add(ctx, b"test.", b"nodefault")),
        ):
            if rc != 0:
                raise RuntimeError(f"libunbound {step}: {lib.ub_strerror(rc).decode()}")
        result = ctypes.POINTER(_UbResult)()
        rc = lib.ub_resolve(ctx, name.encode(), RR_TYPES[rrtype.upper()], 1, ctypes.byref(result))
        if rc != 0:
            raise RuntimeError(f"ub_resolve {name} {rrtype}: {lib.ub_strerror(rc).decode()}")
        try:
            r = result.contents
            rdata = []
            i = 0
            while r.data and r.data[i]:
                rdata.append(ctypes.string_at(r.data[i], r.len[i]))
                i += 1
            return Validated(r.rcode, bool(r.havedata), bool(r.nxdomain), bool(r.secure),
                             bool(r.bogus), r.why_bogus.decode() if r.why_bogus else None, rdata)
        finally:
            lib.ub_resolve_free(result)
    finally:
        lib.ub_ctx_delete(ctx)


# ---------------------------------------------------------------------------- command line
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Serve the standard test zones with NSD.")
    parser.add_argument("--dir", required=True, type=Path, help="work directory (created)")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--peer-cert", type=Path, default=None,
                        help="certificate of the MX peers (default: issued by a new test CA)")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    fx = DnsFixture(args.dir / "dns", args.address, args.port)
    peer_cert = args.peer_cert
    if peer_cert is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from testca import TestCA

        ca = TestCA(args.dir / "ca")
        peer_cert, peer_key = ca.issue(PEER_CERT_NAMES)
        print(f"test CA:        {ca.ca_file}\npeer cert/key:  {peer_cert} {peer_key}")
    plan = standard_zones(fx, peer_cert)
    fx.start()
    print(f"forwarder:      {fx.forwarder}")
    print(f"trust anchor:   {fx.trust_anchor_file}")
    print(f"nsd log:        {fx.log_path}")
    for d in plan.domains.values():
        print(f"  {d.name:18} {d.kind:9} MX {d.mx} = {d.mx_ip}"
              + (f"  mta-sts = {d.sts_ip}" if d.sts_ip else ""))
    print(f"try: kdig @{fx.address} -p {fx.port} +dnssec +multi MX dane-ok.test\nCtrl-C stops.",
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        fx.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
