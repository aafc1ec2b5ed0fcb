"""The web listener: our MTA-STS policy over HTTPS (RFC 8461 section 3.3), checked with curl.

Every HTTPS request verifies the server's certificate against the test CA (--cacert, never -k):
the data directory's [tls] files are a leaf the CA issued for the policy host names, and curl's
--resolve points those names at the server's loopback port.
"""
import re
import signal
import socket
import ssl
import struct
import subprocess

import pytest

from conftest import DOMAIN, HOSTNAME, run_cli, wait_for

POLICY_HOST = f"mta-sts.{DOMAIN}"
ALIAS_DOMAIN = "alias.test"
UNHOSTED = "mta-sts.unhosted.test"
POLICY_PATH = "/.well-known/mta-sts.txt"
EXPECTED_POLICY = (
    b"version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
)


@pytest.fixture(scope="module")
def web_cert(test_ca):
    return test_ca.issue([HOSTNAME, POLICY_HOST, f"mta-sts.{ALIAS_DOMAIN}", UNHOSTED])


def tls_config(cert) -> str:
    return f'[tls]\ncertificate = "{cert[0]}"\nprivate_key = "{cert[1]}"\n'


@pytest.fixture
def web(server_factory, web_cert):
    return server_factory(tls_config(web_cert))


class Reply:
    def __init__(self, raw: bytes):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())

    def header(self, name):
        values = self.headers.get(name.lower(), [])
        assert len(values) <= 1, values
        return values[0] if values else None


def curl(server, path, host=POLICY_HOST, *args, scheme="https", listener="https", ca=None):
    """One request with curl; TLS verified against the test CA."""
    port = server.ports[listener]
    command = [
        "curl", "-sS", "-i", "--max-time", "20", "--resolve", f"{host}:{port}:127.0.0.1",
        *args, f"{scheme}://{host}:{port}{path}",
    ]
    if scheme == "https":
        command[1:1] = ["--cacert", str(ca)]
    result = subprocess.run(command, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    return Reply(result.stdout)


def parse_policy(body: bytes) -> dict:
    """RFC 8461 section 3.2: CRLF-separated `key: value` lines; mx may repeat."""
    assert body.endswith(b"\r\n")
    policy = {"mx": []}
    for line in body.decode("ascii").split("\r\n")[:-1]:
        key, sep, value = line.partition(": ")
        assert sep, line
        if key == "mx":
            policy["mx"].append(value)
        else:
            assert key not in policy, key
            policy[key] = value
    return policy


def request_lines(server):
    return re.findall(r"event=http\.request .*", server.log_text())


def test_policy_is_served_with_verified_tls(web, test_ca):
    reply = curl(web, POLICY_PATH, ca=test_ca.ca_file)
    assert reply.status == 200
    # RFC 8461 section 3.3: media type text/plain; no redirects, so the answer is direct.
    assert reply.header("Content-Type") == "text/plain"
    assert reply.body == EXPECTED_POLICY
    assert reply.header("Content-Length") == str(len(EXPECTED_POLICY))
    policy = parse_policy(reply.body)
    assert policy == {"version": "STSv1", "mode": "testing", "mx": [HOSTNAME],
                      "max_age": "604800"}
    wait_for(lambda: any(f"host={POLICY_HOST} path={POLICY_PATH} status=200" in line
                         for line in request_lines(web)), what="the http.request log line")


def test_host_is_case_insensitive_and_port_ignored(web, test_ca):
    # curl sends "Host: MTA-STS.Example.Test:<port>".
    reply = curl(web, POLICY_PATH, "MTA-STS.Example.Test", ca=test_ca.ca_file)
    assert reply.status == 200
    assert reply.body == EXPECTED_POLICY


def test_enforce_mode(server_factory, web_cert, test_ca):
    server = server_factory(tls_config(web_cert) + '[mta_sts]\nmode = "enforce"\nmax_age = "1d"\n')
    reply = curl(server, POLICY_PATH, ca=test_ca.ca_file)
    assert reply.status == 200
    assert parse_policy(reply.body) == {"version": "STSv1", "mode": "enforce", "mx": [HOSTNAME],
                                        "max_age": "86400"}


def test_sighup_changes_the_policy(web, test_ca):
    config = web.data_dir / "sovereign.toml"
    config.write_text(config.read_text().replace("[mta_sts]\n", '[mta_sts]\nmode = "enforce"\n', 1))
    web.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=config.reloaded" in web.log_text(), what="config.reloaded")
    reply = curl(web, POLICY_PATH, ca=test_ca.ca_file)
    assert parse_policy(reply.body)["mode"] == "enforce"


def test_unknown_host_is_404(web, test_ca):
    reply = curl(web, POLICY_PATH, UNHOSTED, ca=test_ca.ca_file)
    assert reply.status == 404
    assert b"STSv1" not in reply.body
    # The bare domain and the MX name are not policy hosts either.
    reply = curl(web, POLICY_PATH, HOSTNAME, ca=test_ca.ca_file)
    assert reply.status == 404


def test_domain_alias_added_while_running_is_served(web, test_ca):
    alias_host = f"mta-sts.{ALIAS_DOMAIN}"
    assert curl(web, POLICY_PATH, alias_host, ca=test_ca.ca_file).status == 404
    run_cli(web.data_dir, "domain", "add", ALIAS_DOMAIN, "--alias-of", DOMAIN)
    reply = curl(web, POLICY_PATH, alias_host, ca=test_ca.ca_file)
    assert reply.status == 200
    assert reply.body == EXPECTED_POLICY


def test_wrong_path_is_404(web, test_ca):
    for path in ["/", "/.well-known/mta-sts.txt.bak", "/.well-known/", "/index.html"]:
        reply = curl(web, path, ca=test_ca.ca_file)
        assert reply.status == 404, path


def test_post_is_405_with_allow(web, test_ca):
    reply = curl(web, POLICY_PATH, POLICY_HOST, "-X", "POST", ca=test_ca.ca_file)
    assert reply.status == 405
    assert reply.header("Allow") == "GET, HEAD"


def test_post_with_a_body_is_413(web, test_ca):
    reply = curl(web, POLICY_PATH, POLICY_HOST, "--data-binary", "x" * 5000, ca=test_ca.ca_file)
    assert reply.status == 413
    assert reply.header("Connection") == "close"


def test_head_sends_headers_only(web, test_ca):
    reply = curl(web, POLICY_PATH, POLICY_HOST, "-I", ca=test_ca.ca_file)
    assert reply.status == 200
    assert reply.header("Content-Type") == "text/plain"
    assert reply.header("Content-Length") == str(len(EXPECTED_POLICY))
    assert reply.body == b""


def test_healthz_for_any_host(web, test_ca):
    reply = curl(web, "/healthz", HOSTNAME, ca=test_ca.ca_file)
    assert reply.status == 200
    assert reply.body == b"ok"


def test_keep_alive_reuses_the_connection(web, test_ca):
    port = web.ports["https"]
    url = f"https://{POLICY_HOST}:{port}"
    result = subprocess.run(
        ["curl", "-sS", "--cacert", str(test_ca.ca_file), "--resolve",
         f"{POLICY_HOST}:{port}:127.0.0.1", f"{url}/healthz", f"{url}{POLICY_PATH}"],
        capture_output=True, timeout=30, check=True,
    )
    assert result.stdout == b"ok" + EXPECTED_POLICY

    def two_lines():
        lines = request_lines(web)
        return lines if len(lines) >= 2 else None

    lines = wait_for(two_lines, what="two http.request lines")
    sessions = {re.search(r"session=(\S+)", line).group(1) for line in lines}
    assert len(sessions) == 1, lines  # both requests on one connection


def test_oversized_header_is_refused_and_server_keeps_serving(web, test_ca):
    reply = curl(web, POLICY_PATH, POLICY_HOST, "-H", "X-Big: " + "a" * 10000,
                 ca=test_ca.ca_file)
    assert reply.status in (431, 400)
    assert reply.header("Connection") == "close"
    assert curl(web, POLICY_PATH, ca=test_ca.ca_file).body == EXPECTED_POLICY


def tls_connect(port):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname=POLICY_HOST)


def reset(sock):
    """Closes with a TCP RST (SO_LINGER 0): the most abrupt disconnect a peer can make."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_abrupt_disconnects_do_not_disturb_the_server(web, test_ca):
    port = web.ports["https"]
    # Mid-request, after the TLS handshake.
    conn = tls_connect(port)
    conn.sendall(f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {POLICY_HOST}\r\nX-Half".encode())
    reset(conn)
    # Mid-handshake: a ClientHello start, then a reset.
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    reset(raw)
    # Plaintext HTTP sent to the TLS port: the handshake fails and the server closes (after
    # at most a TLS alert, never an HTTP answer).
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while chunk := raw.recv(4096):
        received += chunk
    assert b"HTTP/" not in received
    raw.close()
    # A slow client, still connected, does not hold up others.
    slow = tls_connect(port)
    slow.sendall(b"GET /healthz HTTP/1.1\r\n")
    assert curl(web, POLICY_PATH, ca=test_ca.ca_file).body == EXPECTED_POLICY
    slow.close()
    assert "event=session.failed" not in web.log_text()
    assert web.process.poll() is None


def plain_http_server(server_factory, web_cert, extra=""):
    return server_factory(
        tls_config(web_cert)
        + '[listener.web]\nprotocol = "http"\naddress = "127.0.0.1"\nport = 0\ntls = "none"\n'
        + extra
    )


def test_plain_http_listener(server_factory, web_cert):
    server = plain_http_server(server_factory, web_cert)
    reply = curl(server, POLICY_PATH, scheme="http", listener="web")
    assert reply.status == 200
    assert reply.header("Content-Type") == "text/plain"
    assert reply.body == EXPECTED_POLICY
    assert curl(server, "/healthz", "localhost", scheme="http", listener="web").body == b"ok"


def test_per_ip_cap_on_plain_http(server_factory, web_cert):
    server = plain_http_server(server_factory, web_cert, "[connections]\nmax_per_ip = 2\n")
    port = server.ports["web"]
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    # The accept loop takes the permits in order; make sure both are held before the third.
    for sock in held:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
    third = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert third.recv(4096).startswith(b"HTTP/1.1 503 ")
    third.close()
    for sock in held:
        sock.close()

    def served_again():
        try:
            return curl(server, "/healthz", "a", scheme="http", listener="web").status == 200
        except AssertionError:
            return False

    wait_for(served_again, what="a freed connection slot")
