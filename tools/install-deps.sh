#!/usr/bin/env bash
# Installs every Debian 12 package Sovereign needs to build, run and test.
# Idempotent: safe to run again; apt-get skips what is already there.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (apt-get)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

build_pkgs=(
    build-essential cmake ninja-build ccache pkg-config git
    g++ clang-14 libclang-rt-14-dev clang-format-19
    libboost1.81-dev libboost-json1.81-dev libssl-dev libsqlite3-dev sqlite3 libsodium-dev zlib1g-dev
    libfmt-dev libtomlplusplus-dev libidn2-dev libunbound-dev libpsl-dev libxml2-dev
    libyaml-cpp-dev  # the SPF and ARC conformance suites are YAML (tests only)
    libxml2-utils  # xmllint: DMARC aggregate reports validate against the RFC 9990 schema
    libevent-dev nettle-dev  # named by libunbound.pc (Requires), not pulled in by libunbound-dev
    dns-root-data  # the DNSSEC root trust anchor the resolver validates from
    libgtest-dev libgmock-dev libbenchmark-dev
)
# Real peers for integration tests and benchmarks. Postfix and Dovecot are
# installed but their system services are stopped and disabled: tests start
# private instances on loopback high ports with their own configuration.
test_pkgs=(
    swaks libnet-ssleay-perl libio-socket-ssl-perl postfix dovecot-core dovecot-imapd dovecot-lmtpd
    python3 python3-pytest procps iproute2 openssl sqlite3 curl
    # IMAP clients for tests/integration/test_imap_clients.py; mbsync authenticates through
    # Cyrus SASL, whose PLAIN and SCRAM mechanisms are in libsasl2-modules.
    isync libsasl2-modules offlineimap3
    # DNSSEC test zones (tests/integration/dnsfixture.py): NSD serves zones signed by
    # ldns-signzone; ldns-dane and danetool cross-check our TLSA records; kdig for debugging.
    nsd ldnsutils knot-dnsutils gnutls-bin
    # dkimpy verifies our DKIM signatures (tests/integration/test_dkim.py); PyNaCl for ed25519.
    python3-dkim python3-nacl
    # bench/auth_speed.py: pyspf, the SPF evaluator our check_host is compared with.
    python3-spf
    # bench/run.py --workload smtp-submission: the Postfix side signs through OpenDKIM milters.
    opendkim
)

want=("${build_pkgs[@]}")
if [ "${1:-}" != "--build-only" ]; then
    want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    # Postfix asks questions at install time; answer them up front.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The distribution's own daemons must not hold ports or eat CPU during tests.
for svc in postfix dovecot nsd opendkim; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" || true
        systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
done
echo "install-deps: ok"
