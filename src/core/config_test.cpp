#include "core/config.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace sov::core {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kBase = "/srv/mail";

// A minimal valid file; `extra` is appended (tables after it are fine).
std::string minimal(const std::string& extra = "") {
    return "hostname = \"mx.example.org\"\n" + extra;
}

ConfigLoad parse(const std::string& text) {
    return parse_config(text, "sovereign.toml", kBase);
}

std::string all_diagnostics(const ConfigLoad& load) {
    std::string out;
    for (const auto& d : load.diagnostics) {
        out += d.to_string() + "\n";
    }
    return out;
}

// The only diagnostic's text; fails the test when there is not exactly one.
std::string only_diagnostic(const ConfigLoad& load) {
    EXPECT_EQ(load.diagnostics.size(), 1U) << all_diagnostics(load);
    return load.diagnostics.empty() ? std::string() : load.diagnostics[0].to_string();
}

TEST(Config, TableIsConsistent) {
    const auto problems = detail::config_table_problems_for_test();
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
}

TEST(Config, DefaultsFromTable) {
    const auto load = parse(minimal());
    ASSERT_TRUE(load.ok()) << all_diagnostics(load);
    const Config& c = load.config;
    EXPECT_EQ(c.hostname, "mx.example.org");
    EXPECT_EQ(c.data_dir, kBase) << "data_dir defaults to the file's directory";
    EXPECT_EQ(c.run_as_user, "");
    EXPECT_EQ(c.worker_threads, 4U);
    EXPECT_EQ(c.io_threads, 2U);
    EXPECT_EQ(c.shutdown_grace, 10s);
    EXPECT_EQ(c.tls.certificate, kBase / "keys/cert.pem");
    EXPECT_EQ(c.tls.private_key, kBase / "keys/key.pem");
    EXPECT_TRUE(c.listeners.empty());
    EXPECT_EQ(c.smtp.max_message_bytes, 50ULL * 1024 * 1024);
    EXPECT_EQ(c.smtp.max_recipients, 100U);
    EXPECT_EQ(c.smtp.max_command_line, 2048U);
    EXPECT_EQ(c.smtp.max_text_line, 64000U);
    EXPECT_EQ(c.smtp.max_errors, 20U);
    EXPECT_EQ(c.smtp_timeouts.command, 300s);
    EXPECT_EQ(c.smtp_timeouts.data_block, 180s);
    EXPECT_EQ(c.smtp_timeouts.data_end, 600s);
    EXPECT_EQ(c.smtp_timeouts.tls_handshake, 30s);
    EXPECT_EQ(c.connections.max_total, 1000U);
    EXPECT_EQ(c.connections.max_per_ip, 20U);
    EXPECT_EQ(c.default_quota.max_bytes, 1ULL << 30);
    EXPECT_EQ(c.default_quota.max_messages, 0U);
    EXPECT_EQ(c.log.level, log::Level::Info);
    EXPECT_EQ(c.log.format, log::Format::Logfmt);
    EXPECT_TRUE(c.log.file.empty());
    EXPECT_EQ(c.source, "sovereign.toml");
}

// Where the table and the header's in-code defaults agree (modules' tests build Config{}).
TEST(Config, TableDefaultsMatchStructDefaults) {
    const auto load = parse(minimal());
    ASSERT_TRUE(load.ok());
    const Config plain;
    const Config& c = load.config;
    EXPECT_EQ(c.smtp.max_message_bytes, plain.smtp.max_message_bytes);
    EXPECT_EQ(c.smtp.max_recipients, plain.smtp.max_recipients);
    EXPECT_EQ(c.smtp.max_command_line, plain.smtp.max_command_line);
    EXPECT_EQ(c.smtp.max_text_line, plain.smtp.max_text_line);
    EXPECT_EQ(c.smtp.max_errors, plain.smtp.max_errors);
    EXPECT_EQ(c.smtp_timeouts.command, plain.smtp_timeouts.command);
    EXPECT_EQ(c.smtp_timeouts.data_block, plain.smtp_timeouts.data_block);
    EXPECT_EQ(c.smtp_timeouts.data_end, plain.smtp_timeouts.data_end);
    EXPECT_EQ(c.smtp_timeouts.tls_handshake, plain.smtp_timeouts.tls_handshake);
    EXPECT_EQ(c.connections.max_total, plain.connections.max_total);
    EXPECT_EQ(c.connections.max_per_ip, plain.connections.max_per_ip);
    EXPECT_EQ(c.worker_threads, plain.worker_threads);
    EXPECT_EQ(c.io_threads, plain.io_threads);
    EXPECT_EQ(c.shutdown_grace, plain.shutdown_grace);
    EXPECT_EQ(c.log.level, plain.log.level);
    EXPECT_EQ(c.log.format, plain.log.format);
    // Documented difference: Quota{} is unlimited (tests), the file default is 1G.
}

TEST(Config, EveryKeyType) {
    const auto load = parse(R"(hostname = "mail.example.net"
data_dir = "/var/lib/sovereign"
run_as_user = "sov-mail"
worker_threads = 8
io_threads = 3
shutdown_grace = "1m"

[tls]
certificate = "/etc/ssl/chain.pem"
private_key = "private/key.pem"

[listener.in]
protocol = "mx"
address = "::"
port = 25
tls = "starttls"

[listener.web]
protocol = "http"
address = "192.0.2.10"
port = 443
tls = "implicit"

[listener.sub]
protocol = "submission"
port = 465
tls = "implicit"

[smtp]
max_message_size = "25M"
max_recipients = 500
max_command_line = 4096
max_text_line = 2000
max_errors = 5

[smtp.timeouts]
command = 120
data_block = "2m30s"
data_end = "1h"
tls_handshake = "15s"

[connections]
max_total = 50
max_per_ip = 5

[quota]
max_bytes = 1048576
max_messages = 10000

[log]
level = "debug"
format = "json"
file = "log/sovereign.log"
)");
    ASSERT_TRUE(load.ok()) << all_diagnostics(load);
    const Config& c = load.config;
    EXPECT_EQ(c.hostname, "mail.example.net");
    EXPECT_EQ(c.data_dir, "/var/lib/sovereign");
    EXPECT_EQ(c.run_as_user, "sov-mail");
    EXPECT_EQ(c.worker_threads, 8U);
    EXPECT_EQ(c.io_threads, 3U);
    EXPECT_EQ(c.shutdown_grace, 60s);
    EXPECT_EQ(c.tls.certificate, "/etc/ssl/chain.pem");
    EXPECT_EQ(c.tls.private_key, "/var/lib/sovereign/private/key.pem");
    ASSERT_EQ(c.listeners.size(), 3U);
    // File order, not key order.
    EXPECT_EQ(c.listeners[0].name, "in");
    EXPECT_EQ(c.listeners[0].protocol, Protocol::Mx);
    EXPECT_EQ(c.listeners[0].address, "::");
    EXPECT_EQ(c.listeners[0].port, 25);
    EXPECT_EQ(c.listeners[0].tls, TlsMode::StartTls);
    EXPECT_EQ(c.listeners[1].name, "web");
    EXPECT_EQ(c.listeners[1].protocol, Protocol::Http);
    EXPECT_EQ(c.listeners[1].address, "192.0.2.10");
    EXPECT_EQ(c.listeners[1].tls, TlsMode::Implicit);
    EXPECT_EQ(c.listeners[2].name, "sub");
    EXPECT_EQ(c.listeners[2].protocol, Protocol::Submission);
    EXPECT_EQ(c.listeners[2].address, "127.0.0.1") << "default address";
    EXPECT_EQ(c.listeners[2].port, 465);
    EXPECT_EQ(c.smtp.max_message_bytes, 25ULL * 1024 * 1024);
    EXPECT_EQ(c.smtp.max_recipients, 500U);
    EXPECT_EQ(c.smtp.max_command_line, 4096U);
    EXPECT_EQ(c.smtp.max_text_line, 2000U);
    EXPECT_EQ(c.smtp.max_errors, 5U);
    EXPECT_EQ(c.smtp_timeouts.command, 120s);
    EXPECT_EQ(c.smtp_timeouts.data_block, 150s);
    EXPECT_EQ(c.smtp_timeouts.data_end, 3600s);
    EXPECT_EQ(c.smtp_timeouts.tls_handshake, 15s);
    EXPECT_EQ(c.connections.max_total, 50U);
    EXPECT_EQ(c.connections.max_per_ip, 5U);
    EXPECT_EQ(c.default_quota.max_bytes, 1048576U);
    EXPECT_EQ(c.default_quota.max_messages, 10000U);
    EXPECT_EQ(c.log.level, log::Level::Debug);
    EXPECT_EQ(c.log.format, log::Format::Json);
    EXPECT_EQ(c.log.file, "/var/lib/sovereign/log/sovereign.log");
}

TEST(Config, ListenerDefaultsAndInlineTable) {
    const auto load = parse(minimal("listener.l = { protocol = \"lmtp\", port = 2424 }\n"));
    ASSERT_TRUE(load.ok()) << all_diagnostics(load);
    ASSERT_EQ(load.config.listeners.size(), 1U);
    EXPECT_EQ(load.config.listeners[0].name, "l");
    EXPECT_EQ(load.config.listeners[0].protocol, Protocol::Lmtp);
    EXPECT_EQ(load.config.listeners[0].address, "127.0.0.1");
    EXPECT_EQ(load.config.listeners[0].tls, TlsMode::None);
}

TEST(Config, MailAuthSettings) {
    const auto defaults = parse(minimal(""));
    ASSERT_TRUE(defaults.ok()) << all_diagnostics(defaults);
    EXPECT_TRUE(defaults.config.mailauth.verify);
    EXPECT_EQ(defaults.config.authserv_id(), defaults.config.hostname) << "falls back";
    EXPECT_EQ(defaults.config.mailauth.dmarc_enforcement, DmarcEnforcement::Record);

    const auto set =
        parse(minimal("[mailauth]\nverify = \"off\"\nauthserv_id = \"mx.example.org\"\n"
                      "dmarc_enforcement = \"reject\"\n"));
    ASSERT_TRUE(set.ok()) << all_diagnostics(set);
    EXPECT_FALSE(set.config.mailauth.verify);
    EXPECT_EQ(set.config.authserv_id(), "mx.example.org");
    EXPECT_EQ(set.config.mailauth.dmarc_enforcement, DmarcEnforcement::Reject);
    EXPECT_EQ(defaults.config.mailauth.dmarc_report_contact, "");
    auto contact = parse(minimal("[mailauth]\ndmarc_report_contact = \"dmarc@example.org\"\n"));
    ASSERT_TRUE(contact.ok());
    EXPECT_EQ(contact.config.mailauth.dmarc_report_contact, "dmarc@example.org");

    // The id goes into a header field: only a host name is accepted.
    const auto bad = parse(minimal("[mailauth]\nauthserv_id = \"mx; dkim=pass\"\n"));
    EXPECT_FALSE(bad.ok());
}

TEST(Config, TlsRptSettings) {
    const auto defaults = parse(minimal(""));
    ASSERT_TRUE(defaults.ok()) << all_diagnostics(defaults);
    EXPECT_TRUE(defaults.config.tlsrpt.enabled);
    EXPECT_EQ(defaults.config.tlsrpt.organization, "");

    const auto set =
        parse(minimal("[tlsrpt]\nenabled = \"off\"\norganization = \"example.org\"\n"));
    ASSERT_TRUE(set.ok()) << all_diagnostics(set);
    EXPECT_FALSE(set.config.tlsrpt.enabled);
    EXPECT_EQ(set.config.tlsrpt.organization, "example.org");
    EXPECT_EQ(defaults.config.tlsrpt.contact, "");
    auto contact = parse(minimal("[tlsrpt]\ncontact = \"tls-admin@example.org\"\n"));
    ASSERT_TRUE(contact.ok());
    EXPECT_EQ(contact.config.tlsrpt.contact, "tls-admin@example.org");
    EXPECT_FALSE(parse(minimal("[tlsrpt]\ncontact = \"a\\nb\"\n")).ok());

    EXPECT_FALSE(parse(minimal("[tlsrpt]\nenabled = \"maybe\"\n")).ok());
    EXPECT_FALSE(parse(minimal("[tlsrpt]\norganisation = \"x\"\n")).ok());
}

TEST(Config, SmarthostSettings) {
    const auto defaults = parse(minimal(""));
    ASSERT_TRUE(defaults.ok()) << all_diagnostics(defaults);
    EXPECT_TRUE(defaults.config.queue.smarthost.host.empty());
    EXPECT_EQ(defaults.config.queue.smarthost.port, 587);
    EXPECT_EQ(defaults.config.queue.smarthost.tls, TlsMode::StartTls);

    const auto set = parse(
        minimal("[queue.smarthost]\nhost = \"smtp.provider.example\"\nport = 465\n"
                "tls = \"implicit\"\nusername = \"me@example.org\"\npassword_file = \"relay.pw\"\n")
    );
    ASSERT_TRUE(set.ok()) << all_diagnostics(set);
    const auto& relay = set.config.queue.smarthost;
    EXPECT_EQ(relay.host, "smtp.provider.example");
    EXPECT_EQ(relay.port, 465);
    EXPECT_EQ(relay.tls, TlsMode::Implicit);
    EXPECT_EQ(relay.username, "me@example.org");
    EXPECT_TRUE(relay.password_file.is_absolute());  // resolved against data_dir
    EXPECT_EQ(relay.password_file.filename(), "relay.pw");

    // Plaintext is not a choice; no password in the file; credentials need each other and a host.
    EXPECT_FALSE(parse(minimal("[queue.smarthost]\nhost = \"r.example\"\ntls = \"none\"\n")).ok());
    EXPECT_FALSE(parse(minimal("[queue.smarthost]\nhost = \"r.example\"\npassword = \"x\"\n")).ok()
    );
    EXPECT_FALSE(parse(minimal("[queue.smarthost]\nhost = \"r.example\"\nusername = \"me\"\n")).ok()
    );
    EXPECT_FALSE(
        parse(minimal("[queue.smarthost]\nusername = \"me\"\npassword_file = \"p\"\n")).ok()
    );
    EXPECT_FALSE(parse(minimal("[queue.smarthost]\nhost = \"r.example\"\nusername = \"a\\u0001\"\n"
                               "password_file = \"p\"\n"))
                     .ok());
}

TEST(Config, MissingHostname) {
    const auto load = parse("worker_threads = 2\n");
    EXPECT_EQ(only_diagnostic(load), "sovereign.toml: missing required key 'hostname'");
}

TEST(Config, UnknownTopLevelKeyHasItsLine) {
    const auto load = parse(minimal("\n# comment\nworker_thread = 3\n"));
    EXPECT_EQ(
        only_diagnostic(load),
        "sovereign.toml:4: unknown key 'worker_thread' at the top level (did you mean "
        "'worker_threads'?)"
    );
}

TEST(Config, UnknownKeyInsideListenerHasItsLine) {
    const auto load = parse(minimal(R"(
[listener.mx]
protocol = "mx"
port = 25
tls = "starttls"
backlog = 10
)"));
    EXPECT_EQ(only_diagnostic(load), "sovereign.toml:7: unknown key 'backlog' in [listener.mx]");
}

TEST(Config, UnknownSectionAndKeyInSection) {
    const auto load = parse(minimal("[smpt]\nmax_errors = 3\n[log]\nlevels = \"info\"\n"));
    ASSERT_EQ(load.diagnostics.size(), 2U) << all_diagnostics(load);
    EXPECT_EQ(
        load.diagnostics[0].to_string(),
        "sovereign.toml:2: unknown key 'smpt' at the top level (did you mean 'smtp'?)"
    );
    EXPECT_EQ(
        load.diagnostics[1].to_string(),
        "sovereign.toml:5: unknown key 'levels' in [log] (did you mean 'level'?)"
    );
}

TEST(Config, SeveralErrorsAllReportedInLineOrder) {
    const auto load = parse(R"(hostname = "bad host"
worker_threads = 0
io_threads = "two"

[listener.a]
protocol = "pop3"
port = 70000
tls = "maybe"
address = "localhost"

[listener.b]
port = 25

[smtp]
max_recipients = 10
max_message_size = "lots"

[smtp.timeouts]
command = "5 minutes"

[log]
format = "xml"
)");
    ASSERT_FALSE(load.ok());
    std::vector<std::uint32_t> lines;
    for (const auto& d : load.diagnostics) {
        lines.push_back(d.line);
    }
    const std::vector<std::uint32_t> expected{1, 2, 3, 6, 7, 8, 9, 11, 15, 16, 19, 22};
    EXPECT_EQ(lines, expected) << all_diagnostics(load);
    const auto text = all_diagnostics(load);
    EXPECT_NE(text.find(":1: hostname: \"bad host\" is not a valid host name"), std::string::npos);
    EXPECT_NE(text.find(":2: worker_threads: 0 is out of range (1 … 256)"), std::string::npos);
    EXPECT_NE(text.find(":3: io_threads: expected an integer, got a string"), std::string::npos);
    EXPECT_NE(text.find(":6: listener.a.protocol: \"pop3\" is not one of"), std::string::npos);
    EXPECT_NE(
        text.find(":7: listener.a.port: 70000 is out of range (0 … 65535)"), std::string::npos
    );
    EXPECT_NE(text.find(":8: listener.a.tls: \"maybe\" is not one of"), std::string::npos);
    EXPECT_NE(text.find(":9: listener.a.address: \"localhost\" is not an IPv4"), std::string::npos);
    EXPECT_NE(text.find(":11: [listener.b] is missing required key 'protocol'"), std::string::npos);
    EXPECT_NE(
        text.find(":15: smtp.max_recipients: 10 is out of range (100 … 100000)"), std::string::npos
    );
    EXPECT_NE(
        text.find(":16: smtp.max_message_size: \"lots\": expected a size"), std::string::npos
    );
    EXPECT_NE(
        text.find(":19: smtp.timeouts.command: \"5 minutes\": expected a duration"),
        std::string::npos
    );
    EXPECT_NE(
        text.find(":22: log.format: \"xml\" is not one of \"logfmt\", \"json\""), std::string::npos
    );
}

TEST(Config, SyntaxErrorHasItsLine) {
    const auto load = parse(minimal("[smtp]\nmax_errors = = 3\n"));
    const auto text = only_diagnostic(load);
    EXPECT_EQ(text.rfind("sovereign.toml:3: syntax error: ", 0), 0U) << text;
}

TEST(Config, DuplicateKeyIsASyntaxError) {
    const auto load = parse(minimal("io_threads = 1\nio_threads = 2\n"));
    const auto text = only_diagnostic(load);
    EXPECT_EQ(text.rfind("sovereign.toml:3: syntax error: ", 0), 0U) << text;
}

TEST(Config, WrongTypes) {
    const auto load = parse(minimal(R"(smtp = 5
worker_threads = 2.5
data_dir = 7
listener = "mx"
[quota]
max_bytes = true
)"));
    ASSERT_EQ(load.diagnostics.size(), 5U) << all_diagnostics(load);
    EXPECT_EQ(load.diagnostics[0].to_string(), "sovereign.toml:2: 'smtp' must be a table ([smtp])");
    EXPECT_EQ(
        load.diagnostics[1].to_string(),
        "sovereign.toml:3: worker_threads: expected an integer, got a floating-point number"
    );
    EXPECT_EQ(
        load.diagnostics[2].to_string(),
        "sovereign.toml:4: data_dir: expected a string, got an integer"
    );
    EXPECT_EQ(load.diagnostics[3].line, 5U);
    EXPECT_EQ(
        load.diagnostics[4].to_string(),
        "sovereign.toml:7: quota.max_bytes: expected a size (integer or string), got a boolean"
    );
}

TEST(Config, ListenerTlsCombinations) {
    auto with = [](const std::string& protocol, const std::string& tls) {
        return parse(minimal(
            "[listener.x]\nprotocol = \"" + protocol + "\"\nport = 1000\ntls = \"" + tls + "\"\n"
        ));
    };
    EXPECT_TRUE(with("mx", "none").ok());
    EXPECT_TRUE(with("mx", "starttls").ok());
    EXPECT_NE(
        only_diagnostic(with("mx", "implicit")).find(":5: listener.x.tls: \"implicit\""),
        std::string::npos
    );
    EXPECT_NE(
        only_diagnostic(with("http", "starttls")).find(":5: listener.x.tls"), std::string::npos
    );
    EXPECT_TRUE(with("http", "implicit").ok());
    for (const std::string p : {"lmtp", "submission", "imap"}) {
        for (const std::string t : {"none", "starttls", "implicit"}) {
            EXPECT_TRUE(with(p, t).ok()) << p << " " << t;
        }
    }
}

TEST(Config, ListenerNameMustBeBare) {
    const auto load = parse(minimal("[listener.\"a b\"]\nprotocol = \"mx\"\nport = 25\n"));
    EXPECT_NE(only_diagnostic(load).find(":2: listener name 'a b' may only"), std::string::npos);
}

TEST(Config, DuplicatePorts) {
    const auto load = parse(minimal(R"(
[listener.one]
protocol = "mx"
port = 25

[listener.two]
protocol = "lmtp"
port = 25

[listener.three]
protocol = "lmtp"
address = "127.0.0.2"
port = 25

[listener.four]
protocol = "imap"
address = "0.0.0.0"
port = 143

[listener.five]
protocol = "imap"
port = 143

[listener.six]
protocol = "imap"
address = "::1"
port = 143

[listener.seven]
protocol = "imap"
port = 0

[listener.eight]
protocol = "imap"
port = 0
)"));
    ASSERT_EQ(load.diagnostics.size(), 2U) << all_diagnostics(load);
    EXPECT_EQ(
        load.diagnostics[0].to_string(),
        "sovereign.toml:9: listener.two: port 25 on 127.0.0.1 is already used by listener.one "
        "(line 3)"
    );
    // 127.0.0.2 is another address; 127.0.0.1:143 is inside the 0.0.0.0:143 wildcard, ::1 is
    // not (other family); port 0 never clashes.
    EXPECT_EQ(
        load.diagnostics[1].to_string(),
        "sovereign.toml:23: listener.five: port 143 on 127.0.0.1 is already used by "
        "listener.four (line 16)"
    );
    EXPECT_EQ(load.config.listeners.size(), 8U);
}

TEST(Config, MaxPerIpNotAboveMaxTotal) {
    const auto load = parse(minimal("[connections]\nmax_total = 10\nmax_per_ip = 11\n"));
    EXPECT_EQ(
        only_diagnostic(load),
        "sovereign.toml:4: connections.max_per_ip (11) exceeds connections.max_total (10)"
    );
}

TEST(Config, SizeParsing) {
    using detail::parse_size_for_test;
    EXPECT_EQ(parse_size_for_test("0"), 0U);
    EXPECT_EQ(parse_size_for_test("4096"), 4096U);
    EXPECT_EQ(parse_size_for_test("512K"), 512U * 1024);
    EXPECT_EQ(parse_size_for_test("512k"), 512U * 1024);
    EXPECT_EQ(parse_size_for_test("50M"), 50ULL << 20);
    EXPECT_EQ(parse_size_for_test("50MB"), 50ULL << 20);
    EXPECT_EQ(parse_size_for_test("50MiB"), 50ULL << 20);
    EXPECT_EQ(parse_size_for_test("1G"), 1ULL << 30);
    EXPECT_EQ(parse_size_for_test("2T"), 2ULL << 40);
    EXPECT_EQ(parse_size_for_test("10b"), 10U);
    for (const char* bad :
         {"",
          "M",
          "-1",
          "1.5G",
          "50 M",
          "50X",
          "50MX",
          "5MiBs",
          " 5",
          "99999999999999999999",
          "20000000T"}) {
        EXPECT_FALSE(parse_size_for_test(bad).has_value()) << bad;
    }
    // Through the file: integer bytes and bounds.
    EXPECT_EQ(
        parse(minimal("[smtp]\nmax_message_size = 2048\n")).config.smtp.max_message_bytes, 2048U
    );
    EXPECT_NE(
        only_diagnostic(parse(minimal("[smtp]\nmax_message_size = \"100G\"\n")))
            .find("\"100G\" is out of range (1K … 64G)"),
        std::string::npos
    );
    EXPECT_NE(
        only_diagnostic(parse(minimal("[smtp]\nmax_message_size = -5\n")))
            .find("-5 is out of range"),
        std::string::npos
    );
}

TEST(Config, DurationParsing) {
    using detail::parse_duration_for_test;
    EXPECT_EQ(parse_duration_for_test("0"), 0U);
    EXPECT_EQ(parse_duration_for_test("90"), 90U);
    EXPECT_EQ(parse_duration_for_test("30s"), 30U);
    EXPECT_EQ(parse_duration_for_test("5m"), 300U);
    EXPECT_EQ(parse_duration_for_test("2h"), 7200U);
    EXPECT_EQ(parse_duration_for_test("1d"), 86400U);
    EXPECT_EQ(parse_duration_for_test("1h30m"), 5400U);
    EXPECT_EQ(parse_duration_for_test("1m30s"), 90U);
    for (const char* bad :
         {"",
          "s",
          "5x",
          "1m30",
          "5 m",
          "-5s",
          "1.5h",
          "5M",
          "500ms",
          "99999999999999999999s",
          "9999999999999d"}) {
        EXPECT_FALSE(parse_duration_for_test(bad).has_value()) << bad;
    }
    EXPECT_NE(
        only_diagnostic(parse(minimal("[smtp.timeouts]\ntls_handshake = \"11m\"\n")))
            .find(":3: smtp.timeouts.tls_handshake: \"11m\" is out of range (1s … 10m)"),
        std::string::npos
    );
    EXPECT_EQ(parse(minimal("shutdown_grace = 0\n")).config.shutdown_grace, 0s);
}

TEST(Config, RelativePathResolution) {
    const auto rel = parse(
        minimal("data_dir = \"data\"\n[tls]\ncertificate = \"../c.pem\"\n[log]\nfile = \"s.log\"\n")
    );
    ASSERT_TRUE(rel.ok()) << all_diagnostics(rel);
    EXPECT_EQ(rel.config.data_dir, "/srv/mail/data");
    EXPECT_EQ(rel.config.tls.certificate, "/srv/mail/c.pem");
    EXPECT_EQ(rel.config.tls.private_key, "/srv/mail/data/keys/key.pem");
    EXPECT_EQ(rel.config.log.file, "/srv/mail/data/s.log");
    EXPECT_EQ(rel.config.accounts_db(), "/srv/mail/data/accounts.db");

    const auto abs = parse(minimal("data_dir = \"/var/x/\"\n[tls]\nprivate_key = \"/k.pem\"\n"));
    ASSERT_TRUE(abs.ok());
    EXPECT_EQ(abs.config.data_dir, "/var/x/");
    EXPECT_EQ(abs.config.tls.private_key, "/k.pem");
    EXPECT_EQ(abs.config.tls.certificate, "/var/x/keys/cert.pem");

    EXPECT_NE(
        only_diagnostic(parse(minimal("[tls]\ncertificate = \"\"\n"))).find("must not be empty"),
        std::string::npos
    );
}

TEST(Config, LoadConfigResolvesAgainstTheFilesDirectory) {
    const sov::test::TempDir dir;
    const auto file = dir.path() / "sovereign.toml";
    {
        std::ofstream out(file);
        out << minimal("[tls]\ncertificate = \"c.pem\"\n");
    }
    const auto load = load_config(file);
    ASSERT_TRUE(load.ok()) << all_diagnostics(load);
    EXPECT_EQ(load.config.data_dir, dir.path());
    EXPECT_EQ(load.config.tls.certificate, dir.path() / "c.pem");
    EXPECT_EQ(load.config.source, file);

    const auto missing = load_config(dir.path() / "nope.toml");
    ASSERT_EQ(missing.diagnostics.size(), 1U);
    EXPECT_EQ(missing.diagnostics[0].line, 0U);
    EXPECT_NE(missing.diagnostics[0].reason.find("cannot read"), std::string::npos);
}

TEST(Config, DefaultConfigTextRoundTrip) {
    const auto text = default_config_text("mail.example.com", 10000, "sovereign");
    const auto load = parse(text);
    ASSERT_TRUE(load.ok()) << all_diagnostics(load) << text;
    const Config& c = load.config;
    EXPECT_EQ(c.hostname, "mail.example.com");
    EXPECT_EQ(c.run_as_user, "sovereign");
    ASSERT_EQ(c.listeners.size(), 7U);
    struct Want {
        const char* name;
        Protocol protocol;
        std::uint16_t port;
        TlsMode tls;
    };
    const Want want[] = {
        {"mx", Protocol::Mx, 10025, TlsMode::StartTls},
        {"lmtp", Protocol::Lmtp, 10024, TlsMode::None},
        {"submission", Protocol::Submission, 10587, TlsMode::StartTls},
        {"submissions", Protocol::Submission, 10465, TlsMode::Implicit},
        {"imap", Protocol::Imap, 10143, TlsMode::StartTls},
        {"imaps", Protocol::Imap, 10993, TlsMode::Implicit},
        {"https", Protocol::Http, 10443, TlsMode::Implicit},
    };
    for (std::size_t i = 0; i < 7; ++i) {
        EXPECT_EQ(c.listeners[i].name, want[i].name);
        EXPECT_EQ(c.listeners[i].protocol, want[i].protocol);
        EXPECT_EQ(c.listeners[i].address, "127.0.0.1");
        EXPECT_EQ(c.listeners[i].port, want[i].port);
        EXPECT_EQ(c.listeners[i].tls, want[i].tls);
    }
    // The commented-out defaults are the defaults: uncommenting them changes nothing.
    std::string uncommented;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        auto line = text.substr(pos, end - pos);
        if (line.rfind("# ", 0) == 0 && line.find(" = ") != std::string::npos &&
            line.find(' ', 2) == line.find(" = ")) {
            line = line.substr(2);
        }
        uncommented += line + "\n";
        pos = end + 1;
    }
    const auto full = parse(uncommented);
    ASSERT_TRUE(full.ok()) << all_diagnostics(full) << uncommented;
    EXPECT_EQ(full.config.smtp.max_message_bytes, c.smtp.max_message_bytes);
    EXPECT_EQ(full.config.default_quota.max_bytes, c.default_quota.max_bytes);
    EXPECT_EQ(full.config.data_dir, c.data_dir);
    EXPECT_NE(uncommented.find("\nmax_recipients = 100\n"), std::string::npos);

    // Port 0 base, empty user (don't drop), a host name needing no escaping.
    const auto zero = parse(default_config_text("localhost", 0, ""));
    ASSERT_TRUE(zero.ok()) << all_diagnostics(zero);
    EXPECT_EQ(zero.config.listeners[0].port, 25);
    EXPECT_EQ(zero.config.run_as_user, "");
    // Hostile input stays valid TOML and is rejected by validation, not by the TOML parser.
    const auto bad = parse(default_config_text("a\"b\\\n", 65000, "x"));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(all_diagnostics(bad).find("syntax error"), std::string::npos) << all_diagnostics(bad);
}

TEST(Config, DocsAreUpToDate) {
    const std::filesystem::path path = std::filesystem::path(SOV_SOURCE_DIR) / "docs" / "config.md";
    const std::string generated = config_reference_markdown();
    if (const char* regen = std::getenv("SOV_REGENERATE_DOCS"); regen != nullptr && *regen == '1') {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << generated;
        ASSERT_TRUE(out.good()) << "cannot write " << path;
    }
    std::ifstream in(path, std::ios::binary);
    const std::string committed{
        std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()
    };
    if (committed == generated) {
        return;
    }
    // Point at the first differing line instead of dumping both files.
    std::size_t line = 1;
    std::size_t at = 0;
    while (at < committed.size() && at < generated.size() && committed[at] == generated[at]) {
        line += committed[at] == '\n' ? 1 : 0;
        ++at;
    }
    const auto line_at = [](const std::string& text, std::size_t pos) {
        const auto begin = text.rfind('\n', pos == 0 ? 0 : pos - 1);
        const auto from = begin == std::string::npos || pos == 0 ? 0 : begin + 1;
        return text.substr(from, text.find('\n', from) - from);
    };
    ADD_FAILURE(
    ) << path
      << " is out of date with src/core/config_table.cpp (first difference at "
      << "line " << line << ")\n  committed: " << line_at(committed, at)
      << "\n  generated: " << line_at(generated, at)
      << "\nRegenerate it with:\n  SOV_REGENERATE_DOCS=1 <build>/src/core/sov_core_tests "
         "--gtest_filter=Config.DocsAreUpToDate";
}

TEST(Config, DocsMentionEveryKey) {
    const auto md = config_reference_markdown();
    for (const char* key :
         {"`hostname`",
          "`max_per_ip`",
          "`tls_handshake`",
          "[listener.NAME]",
          "`private_key`",
          "`format`",
          "`max_messages`"}) {
        EXPECT_NE(md.find(key), std::string::npos) << key;
    }
}

TEST(Config, DiagnosticToString) {
    EXPECT_EQ((ConfigDiagnostic{"a.toml", 3, "bad"}).to_string(), "a.toml:3: bad");
    EXPECT_EQ((ConfigDiagnostic{"a.toml", 0, "bad"}).to_string(), "a.toml: bad");
}

}  // namespace
}  // namespace sov::core
