#pragma once
// The one configuration file, <data>/sovereign.toml, as plain aggregates. Only core/config*.cpp
// sees toml++ (STYLE.md §3.7); modules receive these structs, and tests build them without TOML.
// Every key is listed in the settings table (config_table.cpp), which drives validation, defaults,
// `sovereign config check` and docs/config.md.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"

namespace sov::core {

enum class TlsMode {
    None,
    StartTls,
    Implicit
};

/// What a listener speaks; the role wiring picks the engine by this.
enum class Protocol {
    Mx,
    Lmtp,
    Submission,
    Imap,
    Http
};

struct Listener {
    std::string name;  // table key, e.g. "mx" for [listener.mx]
    Protocol protocol = Protocol::Mx;
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;
    TlsMode tls = TlsMode::None;
};

/// SMTP/LMTP limits. Each one separates a recoverable reply from a fatal close (STYLE.md §3.6).
struct SmtpLimits {
    std::uint64_t max_message_bytes = 50ULL * 1024 * 1024;  // SIZE; over it: 552 5.3.4
    std::uint32_t max_recipients = 100;                     // RFC 5321 §4.5.3.1.8 minimum is 100
    std::uint32_t max_command_line = 2048;                  // §4.5.3.1.4 says 512; extensions add
    std::uint32_t max_errors = 20;                          // then 421 4.7.0 and close
    std::uint32_t max_text_line = 1000 * 64;                // a DATA line longer is still accepted
};

/// RFC 5321 §4.5.3.2 timeouts (server side).
struct SmtpTimeouts {
    std::chrono::seconds command{300};     // waiting for the next command
    std::chrono::seconds data_block{180};  // between DATA/BDAT chunks
    std::chrono::seconds data_end{600};    // storing the message after the final dot
    std::chrono::seconds tls_handshake{30};
};

/// IMAP server settings (RFC 9051).
struct ImapSettings {
    std::uint64_t max_append_bytes = 50ULL * 1024 * 1024;  // APPENDLIMIT (RFC 7889)
    std::chrono::seconds login_timeout{60};                // before authentication
    std::chrono::seconds idle_timeout{30 * 60};            // RFC 9051 §5.4: at least 30 min
    std::uint32_t max_errors = 50;                         // BAD commands, then BYE
};

struct ConnectionLimits {
    std::uint32_t max_total = 1000;
    std::uint32_t max_per_ip = 20;
};

struct Quota {
    std::uint64_t max_bytes = 0;     // 0 = unlimited
    std::uint64_t max_messages = 0;  // 0 = unlimited
};

struct TlsFiles {
    std::filesystem::path certificate;  // PEM chain
    std::filesystem::path private_key;  // PEM
    std::filesystem::path trusted_cas;  // outbound PKIX trust; empty: the system store
};

enum class MtaStsMode {
    None,
    Testing,
    Enforce
};

/// Our own MTA-STS policy (RFC 8461 §3.2), served on https listeners to mta-sts.<domain>.
struct MtaStsSettings {
    MtaStsMode mode = MtaStsMode::Testing;
    std::chrono::seconds max_age{7 * 24 * 3600};
};

/// The validating resolver (libunbound, RFC 4033-4035).
struct DnsSettings {
    // Empty: full recursion from the root hints. Otherwise every query goes to these
    // ("192.0.2.1" or "192.0.2.1@5353"), which must pass DNSSEC records through.
    std::vector<std::string> forwarders;
    std::filesystem::path root_trust_anchor = "/usr/share/dns/root.key";  // empty: none
    std::vector<std::filesystem::path> trust_anchors;                     // extra DS/DNSKEY files
    std::vector<std::string> private_zones;  // RFC 6761 names the forwarders really serve
    std::chrono::seconds timeout{10};        // per query, then "temporary failure"
};

enum class SenderPolicy {
    Own,     // the account's addresses and the aliases that reach it
    Domain,  // any address in the account's domain (and its domain aliases)
    Any,     // anything (a trusted gateway for other systems)
};

/// Submission (RFC 6409) policy for authenticated senders.
struct SubmissionSettings {
    SenderPolicy sender_policy = SenderPolicy::Own;
    std::uint32_t max_messages_per_hour = 200;     // per account; 0 = unlimited
    std::uint32_t max_recipients_per_hour = 1000;  // per account; 0 = unlimited
};

/// What the MX does with a DMARC failure whose policy is p=reject (RFC 9989 §5.8 leaves it to
/// the receiver): record it in Authentication-Results, or refuse the message.
enum class DmarcEnforcement {
    Record,
    Reject,
};

/// Authentication of inbound mail on `mx` listeners: SPF, DKIM, DMARC, ARC (RFC 8601 header).
struct MailAuthSettings {
    bool verify = true;       // off: no checks and no header (a trusted gateway did them)
    std::string authserv_id;  // empty: the hostname
    DmarcEnforcement dmarc_enforcement = DmarcEnforcement::Record;
    std::string dmarc_report_contact;  // our aggregate reports' "email"; empty: postmaster@
};

/// SMTP TLS Reporting (RFC 8460): the daily reports we send about our TLS sessions to the
/// domains we deliver to that publish a "_smtp._tls" record.
struct TlsRptSettings {
    bool enabled = true;
    std::string organization;  // "organization-name" of the reports; empty: the hostname
    std::string contact;       // "contact-info" (§4.4); empty: postmaster@<first hosted domain>
};

/// [queue.smarthost]: every remote message through one relay with AUTH (issue 5).
struct SmarthostConfig {
    std::string host;  // empty: MX delivery
    std::uint16_t port = 587;
    TlsMode tls = TlsMode::StartTls;  // StartTls or Implicit; never None
    std::string username;             // empty: no AUTH
    std::filesystem::path password_file;
};

/// The outbound queue and its delivery (RFC 5321 §4.5.4.1 retry strategy).
struct QueueSettings {
    std::chrono::seconds retry_first{5 * 60};
    std::chrono::seconds retry_max{4 * 3600};
    std::chrono::seconds max_age{5 * 24 * 3600};
    std::chrono::seconds delay_warning{0};  // 0: no "delayed" DSN
    std::uint32_t max_connections = 20;
    std::uint32_t max_per_domain = 2;
    std::uint16_t remote_port = 25;  // tests and unusual networks only
    SmarthostConfig smarthost;
};

struct LogSettings {
    log::Level level = log::Level::Info;
    log::Format format = log::Format::Logfmt;
    std::filesystem::path file;  // empty: stderr
};

struct Config {
    std::filesystem::path source;    // file it was loaded from (for messages)
    std::filesystem::path data_dir;  // everything lives under here (ARCHITECTURE.md §3)
    std::string hostname;            // our name in greetings, Received, EHLO
    std::string run_as_user;         // privileges dropped to this user when started as root
    TlsFiles tls;
    std::vector<Listener> listeners;
    SmtpLimits smtp;
    SmtpTimeouts smtp_timeouts;
    ImapSettings imap;
    ConnectionLimits connections;
    Quota default_quota;
    DnsSettings dns;
    MtaStsSettings mta_sts;
    SubmissionSettings submission;
    MailAuthSettings mailauth;
    TlsRptSettings tlsrpt;
    QueueSettings queue;
    LogSettings log;
    std::uint32_t worker_threads = 4;  // blocking work (SQLite, fsync, Argon2id)
    std::uint32_t io_threads = 2;
    std::uint32_t busy_poll_us = 200;  // net/busy_poll.hpp
    std::chrono::seconds shutdown_grace{10};

    std::filesystem::path accounts_db() const { return data_dir / "accounts.db"; }
    std::filesystem::path mail_dir() const { return data_dir / "mail"; }
    std::filesystem::path spool_dir() const { return data_dir / "tmp"; }
    std::filesystem::path keys_dir() const { return data_dir / "keys"; }
    std::filesystem::path queue_dir() const { return data_dir / "queue"; }
    /// The authserv-id we write in Authentication-Results (RFC 8601 §2.5).
    const std::string& authserv_id() const {
        return mailauth.authserv_id.empty() ? hostname : mailauth.authserv_id;
    }
};

/// One problem found in a config file: "<file>:<line>: <reason>".
struct ConfigDiagnostic {
    std::string file;
    std::uint32_t line = 0;
    std::string reason;

    std::string to_string() const;
};

struct ConfigLoad {
    Config config;
    std::vector<ConfigDiagnostic> diagnostics;  // empty: the config is usable

    bool ok() const { return diagnostics.empty(); }
};

/// Parses TOML text; collects every diagnostic before failing (STYLE.md §3.4). Relative paths in
/// the file are resolved against `base_dir` (the directory holding the file).
ConfigLoad parse_config(
    std::string_view toml_text, const std::string& file_name, const std::filesystem::path& base_dir
);

/// Reads and parses a file.
ConfigLoad load_config(const std::filesystem::path& path);

/// The documentation of every key, as Markdown (docs/config.md is generated from this).
std::string config_reference_markdown();

/// A complete config file for a new data directory (used by `sovereign quickstart`).
std::string default_config_text(
    const std::string& hostname, std::uint16_t port_base, const std::string& run_as_user
);

}  // namespace sov::core

namespace sov::core::detail {
// Test hooks (config_table.cpp).
std::vector<std::string> config_table_problems_for_test();
std::optional<std::uint64_t> parse_size_for_test(std::string_view text);
std::optional<std::uint64_t> parse_duration_for_test(std::string_view text);
}  // namespace sov::core::detail
