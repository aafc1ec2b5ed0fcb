// The settings table (STYLE.md §3.7; PowerDNS table.py, userver additionalProperties:false): one
// row per key. The table is the single truth for validation, defaults, docs/config.md and the
// quickstart file. Only core/config*.cpp includes toml++.
//
// toml++ throws toml::parse_error here: Debian ships it as a shared library built with exceptions
// (its noexcept ABI is not in libtomlplusplus.so). Config loading is a startup edge where
// exceptions are allowed (STYLE.md §3.4); the exception never leaves parse_config().
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/config.hpp"

namespace sov::core {
namespace {

using namespace std::string_view_literals;

// ---------------------------------------------------------------------------------------------
// Value kinds and their parsers

enum class Kind {
    Count,     // integer with bounds
    Size,      // bytes: integer or "50M"
    Duration,  // seconds: integer or "5m", "1h30m"
    Hostname,
    User,
    Path,
    Choice,  // one of `choices`
    Address,
    Port,
    ResolverList,  // array of "IP" or "IP@port"
    PathList,      // array of paths
    NameList,      // array of domain names
    Text           // any string without NUL or control characters
};

struct Value {
    std::uint64_t number = 0;  // Count, Size, Port, Choice (index into choices)
    std::chrono::seconds duration{0};
    std::string text;               // Hostname, User, Path, Address
    std::vector<std::string> list;  // ResolverList, PathList
};

struct Target {
    Config* config = nullptr;
    Listener* listener = nullptr;  // set only for listener.* keys
};
using Setter = void (*)(const Target&, const Value&);

constexpr unsigned kRequired = 1U;    // no default; a missing key is an error
constexpr unsigned kAllowEmpty = 2U;  // "" is a meaningful value

struct Setting {
    std::string_view key;  // dotted; "listener.*.port" for keys of every [listener.NAME]
    Kind kind;
    std::string_view default_literal{};  // a TOML value, exactly as shown in the docs
    std::uint64_t min = 0;
    std::uint64_t max = 0;
    std::span<const std::string_view> choices{};
    unsigned flags = 0;
    std::string_view doc{};
    Setter set = nullptr;
};

struct Section {
    std::string_view name;  // "" is the top level
    std::string_view doc{};
};

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = kKiB * 1024;
constexpr std::uint64_t kGiB = kMiB * 1024;
constexpr std::uint64_t kTiB = kGiB * 1024;

// Indexes match the enums' order (static_asserts below).
constexpr std::array<std::string_view, 5> kProtocolNames{
    "mx", "lmtp", "submission", "imap", "http"
};
constexpr std::array<std::string_view, 3> kTlsNames{"none", "starttls", "implicit"};
constexpr std::array<std::string_view, 4> kLevelNames{"debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 2> kFormatNames{"logfmt", "json"};
constexpr std::array<std::string_view, 3> kMtaStsModes{"none", "testing", "enforce"};
static_assert(static_cast<int>(Protocol::Http) == 4 && static_cast<int>(TlsMode::Implicit) == 2);
static_assert(static_cast<int>(MtaStsMode::Enforce) == 2);
static_assert(static_cast<int>(log::Level::Error) == 3 && static_cast<int>(log::Format::Json) == 1);

template <class T>
T narrow(std::uint64_t v) {
    return static_cast<T>(v);  // the row's bounds guarantee the fit
}

// ---------------------------------------------------------------------------------------------
// The table. Order here is the order of docs/config.md and of the quickstart file.

constexpr std::array kSections{
    Section{"", "Top-level keys."},
    Section{
        "tls",
        "Certificate and key used by every listener with `tls = \"starttls\"` or "
        "`\"implicit\"`. Relative paths are resolved against `data_dir`. Every listener speaks "
        "TLS 1.2 and 1.3 only, with Mozilla's \"intermediate\" suites (forward secrecy, AEAD) "
        "in the server's order, AES-128-GCM first; no compression, no renegotiation."
    },
    Section{
        "listener.*",
        "One table per listening socket, e.g. `[listener.mx]`. The name (letters, digits, `-`, "
        "`_`) only labels the listener in logs and messages. Two listeners may not use the same "
        "port on the same (or a wildcard) address. TLS combinations: `mx` takes `none` or "
        "`starttls` (sending MTAs connect in plaintext and upgrade, RFC 3207; there is no implicit "
        "TLS for relay, RFC 8314 covers only access protocols); `http` takes `none` or `implicit` "
        "(HTTP has no STARTTLS); `lmtp`, `submission` and `imap` take all three (RFC 8314 prefers "
        "`implicit` for submission on 465 and IMAP on 993). With no listener at all the process "
        "accepts no connection (useful only for roles that listen to nothing)."
    },
    Section{"smtp", "Limits of the SMTP and LMTP servers (mx, submission, lmtp listeners)."},
    Section{"smtp.timeouts", "Server-side timeouts, RFC 5321 §4.5.3.2."},
    Section{"imap", "The IMAP server (imap listeners, RFC 9051)."},
    Section{"connections", "Concurrent connection limits, over all listeners."},
    Section{"quota", "Default quota of a new account (each account can override it)."},
    Section{
        "dns",
        "The DNSSEC-validating resolver used for every lookup (MX, TLSA, MTA-STS, SPF, DKIM, "
        "DMARC). Answers are classified secure, insecure or bogus; bogus answers are never used."
    },
    Section{
        "mta_sts",
        "Our MTA-STS policy (RFC 8461), served by `http` listeners at "
        "`https://mta-sts.<domain>/.well-known/mta-sts.txt` for every hosted domain. "
        "`sovereign dns records` prints the DNS records that announce it."
    },
    Section{
        "submission",
        "What an authenticated user may send through `submission` listeners (RFC 6409)."
    },
    Section{
        "mailauth",
        "Authentication of mail arriving on `mx` listeners: SPF (RFC 7208), DKIM (RFC 6376), "
        "DMARC (RFC 9989) and ARC (RFC 8617). Every message gets an Authentication-Results "
        "field (RFC 8601) saying what was found; fields from elsewhere claiming our authserv-id "
        "are removed first."
    },
    Section{
        "tlsrpt",
        "SMTP TLS Reporting (RFC 8460): every TLS session with a remote MX is counted per "
        "recipient domain and UTC day (`<data>/reports/tlsrpt.db`); after midnight UTC a JSON "
        "report goes to each `mailto:` address in the domain's `_smtp._tls` TXT record, and "
        "is POSTed to each `https:` one. "
        "`sovereign tlsrpt pending|send-now` shows and sends them. See docs/tls-rpt.md."
    },
    Section{
        "queue",
        "The outbound queue: mail for other domains waits here (`<data>/queue/`) until the "
        "receiving server accepts it, and is retried with back-off (RFC 5321 §4.5.4.1)."
    },
    Section{
        "queue.smarthost",
        "Send all mail for other domains through one relay (a provider's submission server) "
        "instead of the recipient domains' MX hosts: for connections whose port 25 is blocked "
        "or whose address is on blocklists. The relay is reached over TLS only, its certificate "
        "verified for `host`; AUTH PLAIN or LOGIN with `username` and the password in "
        "`password_file`. No fallback to MX delivery; a relay failure defers the mail. "
        "`queue.max_per_domain` limits the connections to the relay. See docs/outbound.md."
    },
    Section{"log", "Logging (one line per event)."},
};

constexpr std::array<std::string_view, 3> kSenderPolicies{"own", "domain", "any"};
constexpr std::array<std::string_view, 2> kDmarcEnforcements{"record", "reject"};
constexpr std::array<std::string_view, 2> kOnOff{"off", "on"};
constexpr std::array<std::string_view, 2> kSmarthostTls{"starttls", "implicit"};
static_assert(static_cast<int>(DmarcEnforcement::Reject) == 1);
static_assert(static_cast<int>(SenderPolicy::Any) == 2);

constexpr std::array kSettings{
    // Top level
    Setting{
        .key = "hostname",
        .kind = Kind::Hostname,
        .flags = kRequired,
        .doc = "This server's fully qualified host name, used in the SMTP greeting, EHLO and "
               "Received: fields (RFC 5321 §4.1.1.1). Letters, digits, `-` and `.`, at most 253 "
               "characters.",
        .set = [](const Target& t, const Value& v) { t.config->hostname = v.text; },
    },
    Setting{
        .key = "data_dir",
        .kind = Kind::Path,
        .default_literal = "\".\"",
        .doc = "The data directory: accounts.db, mail/, queue/, keys/ live under it. A relative "
               "path is resolved against the directory holding this file, so the default is that "
               "directory.",
        .set = [](const Target& t, const Value& v) { t.config->data_dir = v.text; },
    },
    Setting{
        .key = "run_as_user",
        .kind = Kind::User,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "When started as root, Sovereign binds its listeners and then drops privileges to "
               "this user. Empty: keep running as the user that started the process (the right "
               "choice when a service manager already starts it unprivileged).",
        .set = [](const Target& t, const Value& v) { t.config->run_as_user = v.text; },
    },
    Setting{
        .key = "worker_threads",
        .kind = Kind::Count,
        .default_literal = "4",
        .min = 1,
        .max = 256,
        .doc = "Threads for blocking work: SQLite, fsync, password hashing (Argon2id).",
        .set = [](const Target& t,
                  const Value& v) { t.config->worker_threads = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "io_threads",
        .kind = Kind::Count,
        .default_literal = "2",
        .min = 1,
        .max = 64,
        .doc = "Threads running client sessions (SMTP, IMAP, HTTP), one `io_context` each: a "
               "connection stays on one thread. As many again run the rest of the network I/O "
               "(outbound delivery, DNS, accepting connections).",
        .set = [](const Target& t,
                  const Value& v) { t.config->io_threads = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "busy_poll_us",
        .kind = Kind::Count,
        .default_literal = "200",
        .min = 0,
        .max = 10000,
        .doc = "Microseconds a session thread out of work goes on polling for the next event "
               "before it sleeps: a client on the same host (webmail, a sync tool) gets its "
               "reply without waiting for an idle CPU to wake. The window adapts: it shrinks to "
               "nothing while the waits are longer, so far-away or quiet clients cost no CPU, and "
               "no thread polls while blocking work (SQLite, fsync) runs. 0 turns it off; it is "
               "off anyway where the server may use one CPU only.",
        .set = [](const Target& t,
                  const Value& v) { t.config->busy_poll_us = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "shutdown_grace",
        .kind = Kind::Duration,
        .default_literal = "\"10s\"",
        .min = 0,
        .max = 3600,
        .doc = "On SIGTERM, how long running sessions may take to finish before they are closed.",
        .set = [](const Target& t, const Value& v) { t.config->shutdown_grace = v.duration; },
    },
    // [tls]
    Setting{
        .key = "tls.certificate",
        .kind = Kind::Path,
        .default_literal = "\"keys/cert.pem\"",
        .doc = "PEM certificate chain, leaf first.",
        .set = [](const Target& t, const Value& v) { t.config->tls.certificate = v.text; },
    },
    Setting{
        .key = "tls.private_key",
        .kind = Kind::Path,
        .default_literal = "\"keys/key.pem\"",
        .doc = "PEM private key of the certificate. Keep it readable only by Sovereign's user.",
        .set = [](const Target& t, const Value& v) { t.config->tls.private_key = v.text; },
    },
    Setting{
        .key = "tls.trusted_cas",
        .kind = Kind::Path,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "PEM file of the certificate authorities trusted for outbound TLS where PKIX "
               "applies: MTA-STS policy fetches and MTA-STS-enforced SMTP (RFC 8461 §4.2). "
               "Empty: the system's store (Debian: /etc/ssl/certs). DANE does not use it.",
        .set = [](const Target& t, const Value& v) { t.config->tls.trusted_cas = v.text; },
    },
    // [listener.NAME]
    Setting{
        .key = "listener.*.protocol",
        .kind = Kind::Choice,
        .choices = kProtocolNames,
        .flags = kRequired,
        .doc = "What the listener speaks: `mx` (SMTP from other servers, port 25), `lmtp` "
               "(delivery from a gateway, RFC 2033), `submission` (SMTP from your users, 587/465), "
               "`imap` (143/993), `http` (web and admin).",
        .set = [](const Target& t,
                  const Value& v) { t.listener->protocol = static_cast<Protocol>(v.number); },
    },
    Setting{
        .key = "listener.*.address",
        .kind = Kind::Address,
        .default_literal = "\"127.0.0.1\"",
        .doc = "IPv4 or IPv6 address literal to bind (no host names). `0.0.0.0` or `::` listen on "
               "every address.",
        .set = [](const Target& t, const Value& v) { t.listener->address = v.text; },
    },
    Setting{
        .key = "listener.*.port",
        .kind = Kind::Port,
        .min = 0,
        .max = 65535,
        .flags = kRequired,
        .doc = "TCP port. 0 asks the kernel for a free port (tests only).",
        .set = [](const Target& t,
                  const Value& v) { t.listener->port = narrow<std::uint16_t>(v.number); },
    },
    Setting{
        .key = "listener.*.tls",
        .kind = Kind::Choice,
        .default_literal = "\"none\"",
        .choices = kTlsNames,
        .doc = "`none`, `starttls` (plaintext, upgraded by STARTTLS: RFC 3207, RFC 9051 §6.2.1) or "
               "`implicit` (TLS from the first byte, RFC 8314). See the section text for the "
               "combinations each protocol allows.",
        .set = [](const Target& t,
                  const Value& v) { t.listener->tls = static_cast<TlsMode>(v.number); },
    },
    // [smtp]
    Setting{
        .key = "smtp.max_message_size",
        .kind = Kind::Size,
        .default_literal = "\"50M\"",
        .min = kKiB,
        .max = 64 * kGiB,
        .doc = "Largest message accepted, announced by the SIZE extension (RFC 1870). Larger "
               "messages get 552 5.3.4.",
        .set = [](const Target& t, const Value& v) { t.config->smtp.max_message_bytes = v.number; },
    },
    Setting{
        .key = "smtp.max_recipients",
        .kind = Kind::Count,
        .default_literal = "100",
        .min = 100,  // RFC 5321 §4.5.3.1.8: servers MUST accept at least 100
        .max = 100000,
        .doc = "Recipients per message; further RCPT commands get 452 4.5.3. RFC 5321 §4.5.3.1.8 "
               "requires at least 100.",
        .set = [](const Target& t, const Value& v
               ) { t.config->smtp.max_recipients = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "smtp.max_command_line",
        .kind = Kind::Count,
        .default_literal = "2048",
        .min = 512,  // RFC 5321 §4.5.3.1.4
        .max = 65536,
        .doc =
            "Longest command line in octets, CRLF included. RFC 5321 §4.5.3.1.4 sets 512; "
            "extensions (SIZE, AUTH, SMTPUTF8 parameters) need more. Longer lines get 500 5.5.2.",
        .set = [](const Target& t, const Value& v
               ) { t.config->smtp.max_command_line = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "smtp.max_text_line",
        .kind = Kind::Count,
        .default_literal = "64000",
        .min = 1000,  // RFC 5321 §4.5.3.1.6
        .max = 1048576,
        .doc = "Longest line of message text (DATA) in octets. RFC 5321 §4.5.3.1.6 sets 1000; "
               "real mail often exceeds it, so the default is generous.",
        .set = [](const Target& t, const Value& v
               ) { t.config->smtp.max_text_line = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "smtp.max_errors",
        .kind = Kind::Count,
        .default_literal = "20",
        .min = 1,
        .max = 1000,
        .doc = "Failed commands in one session before the server answers 421 4.7.0 and closes.",
        .set = [](const Target& t,
                  const Value& v) { t.config->smtp.max_errors = narrow<std::uint32_t>(v.number); },
    },
    // [smtp.timeouts]
    Setting{
        .key = "smtp.timeouts.command",
        .kind = Kind::Duration,
        .default_literal = "\"5m\"",
        .min = 1,
        .max = 3600,
        .doc = "Waiting for the next command (RFC 5321 §4.5.3.2.7: at least 5 minutes).",
        .set = [](const Target& t,
                  const Value& v) { t.config->smtp_timeouts.command = v.duration; },
    },
    Setting{
        .key = "smtp.timeouts.data_block",
        .kind = Kind::Duration,
        .default_literal = "\"3m\"",
        .min = 1,
        .max = 3600,
        .doc = "Between two blocks of message data (RFC 5321 §4.5.3.2.5: 3 minutes).",
        .set = [](const Target& t,
                  const Value& v) { t.config->smtp_timeouts.data_block = v.duration; },
    },
    Setting{
        .key = "smtp.timeouts.data_end",
        .kind = Kind::Duration,
        .default_literal = "\"10m\"",
        .min = 1,
        .max = 7200,
        .doc = "Storing the message after the final dot (RFC 5321 §4.5.3.2.6: the client waits "
               "10 minutes).",
        .set = [](const Target& t,
                  const Value& v) { t.config->smtp_timeouts.data_end = v.duration; },
    },
    Setting{
        .key = "smtp.timeouts.tls_handshake",
        .kind = Kind::Duration,
        .default_literal = "\"30s\"",
        .min = 1,
        .max = 600,
        .doc = "Completing a TLS handshake (after STARTTLS or on an implicit-TLS port).",
        .set = [](const Target& t,
                  const Value& v) { t.config->smtp_timeouts.tls_handshake = v.duration; },
    },
    // [imap]
    Setting{
        .key = "imap.max_append_size",
        .kind = Kind::Size,
        .default_literal = "\"50M\"",
        .min = kKiB,
        .max = 64 * kGiB,
        .doc = "Largest message a client may APPEND, announced as APPENDLIMIT (RFC 7889). "
               "Larger ones get NO [TOOBIG].",
        .set = [](const Target& t, const Value& v) { t.config->imap.max_append_bytes = v.number; },
    },
    Setting{
        .key = "imap.login_timeout",
        .kind = Kind::Duration,
        .default_literal = "\"1m\"",
        .min = 1,
        .max = 3600,
        .doc = "A connection that has not logged in is closed after this long without input.",
        .set = [](const Target& t, const Value& v) { t.config->imap.login_timeout = v.duration; },
    },
    Setting{
        .key = "imap.idle_timeout",
        .kind = Kind::Duration,
        .default_literal = "\"30m\"",
        .min = 1800,  // RFC 9051 §5.4: the autologout timer is at least 30 minutes
        .max = 86400,
        .doc = "An authenticated connection (also one in IDLE) is closed after this long without "
               "a command. RFC 9051 §5.4 requires at least 30 minutes.",
        .set = [](const Target& t, const Value& v) { t.config->imap.idle_timeout = v.duration; },
    },
    Setting{
        .key = "imap.max_errors",
        .kind = Kind::Count,
        .default_literal = "50",
        .min = 1,
        .max = 10000,
        .doc = "Unparsable commands (BAD) in one connection before the server says BYE.",
        .set = [](const Target& t,
                  const Value& v) { t.config->imap.max_errors = narrow<std::uint32_t>(v.number); },
    },
    // [connections]
    Setting{
        .key = "connections.max_total",
        .kind = Kind::Count,
        .default_literal = "1000",
        .min = 1,
        .max = 1000000,
        .doc = "Open connections over all listeners; beyond it new ones are refused.",
        .set = [](const Target& t, const Value& v
               ) { t.config->connections.max_total = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "connections.max_per_ip",
        .kind = Kind::Count,
        .default_literal = "20",
        .min = 1,
        .max = 1000000,
        .doc = "Open connections from one client address. Must not exceed `max_total`.",
        .set = [](const Target& t, const Value& v
               ) { t.config->connections.max_per_ip = narrow<std::uint32_t>(v.number); },
    },
    // [quota]
    Setting{
        .key = "quota.max_bytes",
        .kind = Kind::Size,
        .default_literal = "\"1G\"",
        .min = 0,
        .max = 1024 * kTiB,
        .doc = "Storage per account. 0 means unlimited.",
        .set = [](const Target& t,
                  const Value& v) { t.config->default_quota.max_bytes = v.number; },
    },
    Setting{
        .key = "quota.max_messages",
        .kind = Kind::Count,
        .default_literal = "0",
        .min = 0,
        .max = 1000000000,
        .doc = "Messages per account. 0 means unlimited.",
        .set = [](const Target& t,
                  const Value& v) { t.config->default_quota.max_messages = v.number; },
    },
    // [dns]
    Setting{
        .key = "dns.forwarders",
        .kind = Kind::ResolverList,
        .default_literal = "[]",
        .doc = "Resolvers every query is sent to, as `\"192.0.2.53\"` or `\"192.0.2.53@5353\"`. "
               "Empty: Sovereign resolves from the root servers itself (recommended: a forwarder "
               "that strips DNSSEC records makes every signed answer bogus). Validation happens "
               "here either way; the forwarder is not trusted.",
        .set = [](const Target& t, const Value& v) { t.config->dns.forwarders = v.list; },
    },
    Setting{
        .key = "dns.root_trust_anchor",
        .kind = Kind::Path,
        .default_literal = "\"/usr/share/dns/root.key\"",
        .flags = kAllowEmpty,
        .doc = "The root zone's trust anchor (Debian's dns-root-data package keeps it current). "
               "Empty: no root anchor, only `trust_anchors` (test set-ups with a private root).",
        .set = [](const Target& t, const Value& v) { t.config->dns.root_trust_anchor = v.text; },
    },
    Setting{
        .key = "dns.trust_anchors",
        .kind = Kind::PathList,
        .default_literal = "[]",
        .doc = "Further trust-anchor files: DS or DNSKEY records in zone-file format, for "
               "private signed zones that are not reachable from the root.",
        .set = [](const Target& t, const Value& v
               ) { t.config->dns.trust_anchors.assign(v.list.begin(), v.list.end()); },
    },
    Setting{
        .key = "dns.private_zones",
        .kind = Kind::NameList,
        .default_literal = "[]",
        .doc = "Special-use zones (RFC 6761: `test`, `home.arpa`, ...) that the resolver would "
               "otherwise answer itself with \"no such domain\", but that `forwarders` serve in "
               "this set-up: a lab or the project's own test zones.",
        .set = [](const Target& t, const Value& v) { t.config->dns.private_zones = v.list; },
    },
    Setting{
        .key = "dns.timeout",
        .kind = Kind::Duration,
        .default_literal = "\"10s\"",
        .min = 1,
        .max = 300,
        .doc = "How long one lookup may take; then it counts as a temporary failure (mail is "
               "deferred, never treated as if the record did not exist).",
        .set = [](const Target& t, const Value& v) { t.config->dns.timeout = v.duration; },
    },
    // [mta_sts]
    Setting{
        .key = "mta_sts.mode",
        .kind = Kind::Choice,
        .default_literal = "\"testing\"",
        .choices = kMtaStsModes,
        .doc = "`testing`: senders report TLS failures (TLS-RPT) but deliver anyway; `enforce`: "
               "senders that honour MTA-STS deliver only over TLS with a certificate valid for "
               "this host name (switch once `sovereign dns check` is clean and the certificate is "
               "from a public CA); `none`: withdraw a policy.",
        .set = [](const Target& t,
                  const Value& v) { t.config->mta_sts.mode = static_cast<MtaStsMode>(v.number); },
    },
    Setting{
        .key = "mta_sts.max_age",
        .kind = Kind::Duration,
        .default_literal = "\"7d\"",
        .min = 86400,
        .max = 31557600,
        .doc = "How long senders may cache the policy (RFC 8461 §3.2 allows up to a year; "
               "§3.2 recommends weeks).",
        .set = [](const Target& t, const Value& v) { t.config->mta_sts.max_age = v.duration; },
    },
    // [submission]
    Setting{
        .key = "submission.sender_policy",
        .kind = Kind::Choice,
        .default_literal = "\"own\"",
        .choices = kSenderPolicies,
        .doc = "Which From/MAIL FROM addresses an authenticated user may use, else 550 5.7.1: "
               "`own` (the account's address, its +tags, and aliases that deliver to it), "
               "`domain` (any address of the account's domain), `any`.",
        .set = [](const Target& t, const Value& v
               ) { t.config->submission.sender_policy = static_cast<SenderPolicy>(v.number); },
    },
    Setting{
        .key = "submission.max_messages_per_hour",
        .kind = Kind::Count,
        .default_literal = "200",
        .min = 0,
        .max = 1000000,
        .doc = "Messages one account may submit per hour (0: unlimited); over it, 451 4.7.1.",
        .set = [](const Target& t, const Value& v
               ) { t.config->submission.max_messages_per_hour = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "submission.max_recipients_per_hour",
        .kind = Kind::Count,
        .default_literal = "1000",
        .min = 0,
        .max = 10000000,
        .doc = "Recipients one account may address per hour (0: unlimited); over it, 452 4.5.3 "
               "for the recipients that do not fit.",
        .set =
            [](const Target& t, const Value& v) {
                t.config->submission.max_recipients_per_hour = narrow<std::uint32_t>(v.number);
            },
    },
    // [mailauth]
    Setting{
        .key = "mailauth.verify",
        .kind = Kind::Choice,
        .default_literal = "\"on\"",
        .choices = kOnOff,
        .doc = "`off` skips the checks and the header, for an MX behind a gateway that already "
               "made them (and whose Authentication-Results carry this authserv-id).",
        .set = [](const Target& t, const Value& v) { t.config->mailauth.verify = v.number == 1; },
    },
    Setting{
        .key = "mailauth.authserv_id",
        .kind = Kind::Hostname,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "The authserv-id of our Authentication-Results fields (RFC 8601 §2.5); empty: "
               "`hostname`. Set the same value on every MX of a domain so that the mailbox "
               "trusts the results of all of them.",
        .set = [](const Target& t, const Value& v) { t.config->mailauth.authserv_id = v.text; },
    },
    Setting{
        .key = "mailauth.dmarc_enforcement",
        .kind = Kind::Choice,
        .default_literal = "\"record\"",
        .choices = kDmarcEnforcements,
        .doc = "`record`: a DMARC failure is noted in Authentication-Results and the message is "
               "delivered; `reject`: a failure under `p=reject` (not in test mode `t=y`) is "
               "refused with 550 5.7.1. Forwarded mail and mailing lists fail DMARC often; "
               "start with `record`.",
        .set =
            [](const Target& t, const Value& v) {
                t.config->mailauth.dmarc_enforcement = static_cast<DmarcEnforcement>(v.number);
            },
    },
    Setting{
        .key = "mailauth.dmarc_report_contact",
        .kind = Kind::Text,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "The contact address in the DMARC aggregate reports we send (`email` of "
               "report_metadata, RFC 9990 §3.1.1.2); empty: postmaster@ the first hosted "
               "domain, which is also the reports' sender.",
        .set = [](const Target& t,
                  const Value& v) { t.config->mailauth.dmarc_report_contact = v.text; },
    },
    // [tlsrpt]
    Setting{
        .key = "tlsrpt.enabled",
        .kind = Kind::Choice,
        .default_literal = "\"on\"",
        .choices = kOnOff,
        .doc = "`off`: no TLS sessions are recorded and no reports are sent.",
        .set = [](const Target& t, const Value& v) { t.config->tlsrpt.enabled = v.number == 1; },
    },
    Setting{
        .key = "tlsrpt.organization",
        .kind = Kind::Hostname,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "The `organization-name` of our reports (RFC 8460 §4.4), as a domain name; "
               "empty: `hostname`. Reports come from postmaster@ the first hosted domain.",
        .set = [](const Target& t, const Value& v) { t.config->tlsrpt.organization = v.text; },
    },
    Setting{
        .key = "tlsrpt.contact",
        .kind = Kind::Text,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "The `contact-info` of our reports (RFC 8460 §4.4): an address or URI where the "
               "report's recipients reach us; empty: postmaster@ the first hosted domain, which "
               "is also the reports' sender.",
        .set = [](const Target& t, const Value& v) { t.config->tlsrpt.contact = v.text; },
    },
    // [queue]
    Setting{
        .key = "queue.retry_first",
        .kind = Kind::Duration,
        .default_literal = "\"5m\"",
        .min = 1,
        .max = 86400,
        .doc = "Wait after the first failed attempt; each later wait doubles, up to `retry_max`.",
        .set = [](const Target& t, const Value& v) { t.config->queue.retry_first = v.duration; },
    },
    Setting{
        .key = "queue.retry_max",
        .kind = Kind::Duration,
        .default_literal = "\"4h\"",
        .min = 1,
        .max = 86400,
        .doc = "Longest wait between two attempts.",
        .set = [](const Target& t, const Value& v) { t.config->queue.retry_max = v.duration; },
    },
    Setting{
        .key = "queue.max_age",
        .kind = Kind::Duration,
        .default_literal = "\"5d\"",
        .min = 1,
        .max = 30 * 86400,
        .doc = "How long a message is retried before it is returned to its sender with a DSN "
               "(RFC 5321 §4.5.4.1: at least 4-5 days).",
        .set = [](const Target& t, const Value& v) { t.config->queue.max_age = v.duration; },
    },
    Setting{
        .key = "queue.delay_warning",
        .kind = Kind::Duration,
        .default_literal = "\"0s\"",
        .min = 0,
        .max = 30 * 86400,
        .doc = "Send the sender one \"delayed\" DSN (RFC 3464) once a message has waited this "
               "long; `0s` never.",
        .set = [](const Target& t, const Value& v) { t.config->queue.delay_warning = v.duration; },
    },
    Setting{
        .key = "queue.max_connections",
        .kind = Kind::Count,
        .default_literal = "20",
        .min = 1,
        .max = 10000,
        .doc = "Outbound SMTP connections at once.",
        .set = [](const Target& t, const Value& v
               ) { t.config->queue.max_connections = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "queue.max_per_domain",
        .kind = Kind::Count,
        .default_literal = "2",
        .min = 1,
        .max = 1000,
        .doc = "Outbound connections at once to one destination domain.",
        .set = [](const Target& t, const Value& v
               ) { t.config->queue.max_per_domain = narrow<std::uint32_t>(v.number); },
    },
    Setting{
        .key = "queue.remote_port",
        .kind = Kind::Port,
        .default_literal = "25",
        .min = 1,
        .max = 65535,
        .doc = "The port of remote MX hosts. Only tests and unusual private networks change it.",
        .set = [](const Target& t, const Value& v
               ) { t.config->queue.remote_port = narrow<std::uint16_t>(v.number); },
    },
    // [queue.smarthost]
    Setting{
        .key = "queue.smarthost.host",
        .kind = Kind::Hostname,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "The relay's host name, as its TLS certificate names it. Empty: no smarthost, "
               "mail goes to each domain's MX hosts.",
        .set = [](const Target& t, const Value& v) { t.config->queue.smarthost.host = v.text; },
    },
    Setting{
        .key = "queue.smarthost.port",
        .kind = Kind::Port,
        .default_literal = "587",
        .min = 1,
        .max = 65535,
        .doc = "The relay's port: 587 with `tls = \"starttls\"`, 465 with `\"implicit\"`.",
        .set = [](const Target& t, const Value& v
               ) { t.config->queue.smarthost.port = narrow<std::uint16_t>(v.number); },
    },
    Setting{
        .key = "queue.smarthost.tls",
        .kind = Kind::Choice,
        .default_literal = "\"starttls\"",
        .choices = kSmarthostTls,
        .doc = "`starttls` (RFC 3207, required: a relay without it is not used) or `implicit` "
               "(TLS from the first byte, RFC 8314). Plaintext is not an option.",
        .set =
            [](const Target& t, const Value& v) {
                t.config->queue.smarthost.tls =
                    v.number == 0 ? TlsMode::StartTls : TlsMode::Implicit;
            },
    },
    Setting{
        .key = "queue.smarthost.username",
        .kind = Kind::Text,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "The account at the relay (often an e-mail address). Empty: no AUTH.",
        .set = [](const Target& t, const Value& v) { t.config->queue.smarthost.username = v.text; },
    },
    Setting{
        .key = "queue.smarthost.password_file",
        .kind = Kind::Path,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "File whose first line is the relay password (never put the password in this "
               "file). Read at every connection to the relay, so a new password needs no "
               "restart. Keep it `chmod 600`: a world-readable file is logged as a warning.",
        .set = [](const Target& t,
                  const Value& v) { t.config->queue.smarthost.password_file = v.text; },
    },
    // [log]
    Setting{
        .key = "log.level",
        .kind = Kind::Choice,
        .default_literal = "\"info\"",
        .choices = kLevelNames,
        .doc = "Least severe level written.",
        .set = [](const Target& t,
                  const Value& v) { t.config->log.level = static_cast<log::Level>(v.number); },
    },
    Setting{
        .key = "log.format",
        .kind = Kind::Choice,
        .default_literal = "\"logfmt\"",
        .choices = kFormatNames,
        .doc = "`logfmt` (`key=value`, for people) or `json` (one object per line, for machines).",
        .set = [](const Target& t,
                  const Value& v) { t.config->log.format = static_cast<log::Format>(v.number); },
    },
    Setting{
        .key = "log.file",
        .kind = Kind::Path,
        .default_literal = "\"\"",
        .flags = kAllowEmpty,
        .doc = "File the log is appended to; relative paths are resolved against `data_dir`. "
               "Empty: standard error (journald under systemd).",
        .set = [](const Target& t, const Value& v) { t.config->log.file = v.text; },
    },
};

const Setting* find_setting(std::string_view key) {
    for (const auto& s : kSettings) {
        if (s.key == key) {
            return &s;
        }
    }
    return nullptr;
}

bool is_section(std::string_view name) {
    return name == "listener" || std::any_of(kSections.begin(), kSections.end(), [&](auto& s) {
               return !s.name.empty() && s.name == name;
           });
}

// ---------------------------------------------------------------------------------------------
// Scalar parsers

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return out;
}

// Leading decimal digits of `s` (consumed); nullopt on none or overflow.
std::optional<std::uint64_t> take_number(std::string_view& s) {
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        const auto digit = static_cast<std::uint64_t>(s[i] - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return std::nullopt;
        }
        n = n * 10 + digit;
    }
    if (i == 0) {
        return std::nullopt;
    }
    s.remove_prefix(i);
    return n;
}

/// "50M", "1G", "512k", "10MB", "2GiB", "4096": K/M/G/T are powers of 1024.
std::optional<std::uint64_t> parse_size(std::string_view text) {
    std::string_view s = text;
    auto n = take_number(s);
    if (!n) {
        return std::nullopt;
    }
    const std::string unit = lower(s);
    std::uint64_t mult = 1;
    if (unit.empty() || unit == "b") {
        mult = 1;
    } else {
        switch (unit[0]) {
            case 'k':
                mult = kKiB;
                break;
            case 'm':
                mult = kMiB;
                break;
            case 'g':
                mult = kGiB;
                break;
            case 't':
                mult = kTiB;
                break;
            default:
                return std::nullopt;
        }
        const std::string_view rest = std::string_view(unit).substr(1);
        if (!rest.empty() && rest != "b" && rest != "ib") {
            return std::nullopt;
        }
    }
    if (*n > std::numeric_limits<std::uint64_t>::max() / mult) {
        return std::nullopt;
    }
    return *n * mult;
}

/// "30s", "5m", "1h30m", "2d", "90": a sequence of number+unit (s, m, h, d); a bare number is
/// seconds.
std::optional<std::uint64_t> parse_duration(std::string_view text) {
    std::string_view s = text;
    if (s.empty()) {
        return std::nullopt;
    }
    std::uint64_t total = 0;
    bool bare = true;
    while (!s.empty()) {
        auto n = take_number(s);
        if (!n) {
            return std::nullopt;
        }
        std::uint64_t mult = 1;
        if (s.empty()) {
            if (!bare) {
                return std::nullopt;  // "1m30" is ambiguous
            }
        } else {
            bare = false;
            switch (s[0]) {
                case 's':
                    mult = 1;
                    break;
                case 'm':
                    mult = 60;
                    break;
                case 'h':
                    mult = 3600;
                    break;
                case 'd':
                    mult = 86400;
                    break;
                default:
                    return std::nullopt;
            }
            s.remove_prefix(1);
        }
        constexpr std::uint64_t kMax = std::uint64_t{1} << 40;  // far beyond any bound below
        if (*n > kMax / mult || total + *n * mult > kMax) {
            return std::nullopt;
        }
        total += *n * mult;
        bare = false;
    }
    return total;
}

std::string format_size(std::uint64_t bytes) {
    constexpr std::array<std::pair<std::uint64_t, char>, 4> kUnits{
        {{kTiB, 'T'}, {kGiB, 'G'}, {kMiB, 'M'}, {kKiB, 'K'}}
    };
    for (const auto& [mult, suffix] : kUnits) {
        if (bytes != 0 && bytes % mult == 0) {
            return fmt::format("{}{}", bytes / mult, suffix);
        }
    }
    return std::to_string(bytes);
}

std::string format_duration(std::uint64_t seconds) {
    if (seconds != 0 && seconds % 3600 == 0) {
        return fmt::format("{}h", seconds / 3600);
    }
    if (seconds != 0 && seconds % 60 == 0) {
        return fmt::format("{}m", seconds / 60);
    }
    return fmt::format("{}s", seconds);
}

bool valid_hostname(std::string_view s) {
    if (s.empty() || s.size() > 253) {
        return false;
    }
    std::size_t label = 0;
    char prev = '.';
    for (const char c : s) {
        if (c == '.') {
            if (label == 0 || prev == '-') {
                return false;
            }
            label = 0;
        } else {
            const bool alnum =
                (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!alnum && !(c == '-' && label > 0)) {
                return false;
            }
            if (++label > 63) {
                return false;
            }
        }
        prev = c;
    }
    return label > 0 && prev != '-';
}

// POSIX portable user names as useradd(8) accepts them by default.
bool valid_user(std::string_view s) {
    if (s.empty() || s.size() > 32) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool ok =
            (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && ((c >= '0' && c <= '9') || c == '-'));
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool valid_address(const std::string& s) {
    std::array<unsigned char, 16> buf{};
    return inet_pton(AF_INET, s.c_str(), buf.data()) == 1 ||
           inet_pton(AF_INET6, s.c_str(), buf.data()) == 1;
}

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date/time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

std::string join_choices(std::span<const std::string_view> choices) {
    std::string out;
    for (const auto c : choices) {
        out += out.empty() ? "" : ", ";
        out += fmt::format("\"{}\"", c);
    }
    return out;
}

std::string range_text(const Setting& s) {
    switch (s.kind) {
        case Kind::Size:
            return fmt::format("{} … {}", format_size(s.min), format_size(s.max));
        case Kind::Duration:
            return fmt::format("{} … {}", format_duration(s.min), format_duration(s.max));
        case Kind::Count:
        case Kind::Port:
            return fmt::format("{} … {}", s.min, s.max);
        case Kind::Choice:
            return join_choices(s.choices);
        default:
            return {};
    }
}

// "192.0.2.53" or "2001:db8::53@5353" (libunbound's forwarder syntax).
bool valid_resolver(const std::string& s) {
    const auto at = s.find('@');
    if (at == std::string::npos) {
        return valid_address(s);
    }
    std::string_view port = std::string_view(s).substr(at + 1);
    const auto n = take_number(port);
    return valid_address(s.substr(0, at)) && n && port.empty() && *n >= 1 && *n <= 65535;
}

std::optional<Value> convert_list(const Setting& s, const toml::node& node, std::string& error) {
    const auto* array = node.as_array();
    if (array == nullptr) {
        error = fmt::format("expected an array of strings, got {}", type_name(node));
        return std::nullopt;
    }
    Value v;
    for (const auto& item : *array) {
        const auto* str = item.as_string();
        if (str == nullptr) {
            error = fmt::format("expected an array of strings, found {}", type_name(item));
            return std::nullopt;
        }
        const std::string& text = str->get();
        if (text.empty() || text.find('\0') != std::string::npos) {
            error = "an entry is empty or contains a NUL character";
            return std::nullopt;
        }
        if (s.kind == Kind::NameList && !valid_hostname(text)) {
            error = fmt::format("\"{}\" is not a valid domain name", text);
            return std::nullopt;
        }
        if (s.kind == Kind::ResolverList && !valid_resolver(text)) {
            error = fmt::format("\"{}\" is not an IP address or IP@port", text);
            return std::nullopt;
        }
        v.list.push_back(text);
    }
    return v;
}

// Converts one TOML value by the row's kind and bounds; on failure returns nullopt and `error`.
std::optional<Value> convert(const Setting& s, const toml::node& node, std::string& error) {
    Value v;
    const auto out_of_range = [&](std::string_view shown) {
        error = fmt::format("{} is out of range ({})", shown, range_text(s));
        return std::nullopt;
    };
    switch (s.kind) {
        case Kind::Count:
        case Kind::Port: {
            const auto* i = node.as_integer();
            if (i == nullptr) {
                error = fmt::format("expected an integer, got {}", type_name(node));
                return std::nullopt;
            }
            const std::int64_t n = i->get();
            if (n < 0 || static_cast<std::uint64_t>(n) < s.min ||
                static_cast<std::uint64_t>(n) > s.max) {
                return out_of_range(std::to_string(n));
            }
            v.number = static_cast<std::uint64_t>(n);
            return v;
        }
        case Kind::Size:
        case Kind::Duration: {
            const bool size = s.kind == Kind::Size;
            std::optional<std::uint64_t> n;
            std::string shown;
            if (const auto* i = node.as_integer()) {
                shown = std::to_string(i->get());
                if (i->get() >= 0) {
                    n = static_cast<std::uint64_t>(i->get());
                }
            } else if (const auto* str = node.as_string()) {
                shown = fmt::format("\"{}\"", str->get());
                n = size ? parse_size(str->get()) : parse_duration(str->get());
                if (!n) {
                    error = size
                                ? fmt::format(
                                      "{}: expected a size such as 4096, \"512K\", \"50M\", \"1G\"",
                                      shown
                                  )
                                : fmt::format(
                                      "{}: expected a duration such as 30, \"30s\", \"5m\", "
                                      "\"1h30m\"",
                                      shown
                                  );
                    return std::nullopt;
                }
            } else {
                error = fmt::format(
                    "expected {} (integer or string), got {}",
                    size ? "a size" : "a duration",
                    type_name(node)
                );
                return std::nullopt;
            }
            if (!n || *n < s.min || *n > s.max) {
                return out_of_range(shown);
            }
            v.number = *n;
            v.duration = std::chrono::seconds{static_cast<std::int64_t>(*n)};
            return v;
        }
        case Kind::ResolverList:
        case Kind::PathList:
        case Kind::NameList:
            return convert_list(s, node, error);
        case Kind::Hostname:
        case Kind::User:
        case Kind::Path:
        case Kind::Choice:
        case Kind::Address:
        case Kind::Text:
            break;
    }
    const auto* str = node.as_string();
    if (str == nullptr) {
        error = fmt::format("expected a string, got {}", type_name(node));
        return std::nullopt;
    }
    v.text = str->get();
    if (v.text.find('\0') != std::string::npos) {
        error = "contains a NUL character";
        return std::nullopt;
    }
    if (v.text.empty() && (s.flags & kAllowEmpty) != 0) {
        return v;
    }
    switch (s.kind) {
        case Kind::Hostname:
            if (!valid_hostname(v.text)) {
                error = fmt::format("\"{}\" is not a valid host name", v.text);
                return std::nullopt;
            }
            break;
        case Kind::User:
            if (!valid_user(v.text)) {
                error = fmt::format("\"{}\" is not a valid user name", v.text);
                return std::nullopt;
            }
            break;
        case Kind::Path:
            if (v.text.empty()) {
                error = "must not be empty";
                return std::nullopt;
            }
            break;
        case Kind::Address:
            if (!valid_address(v.text)) {
                error = fmt::format("\"{}\" is not an IPv4 or IPv6 address literal", v.text);
                return std::nullopt;
            }
            break;
        case Kind::Text:
            if (v.text.empty() || std::any_of(v.text.begin(), v.text.end(), [](unsigned char c) {
                    return c < 0x20 || c == 0x7f;
                })) {
                error = "must be non-empty text without control characters";
                return std::nullopt;
            }
            break;
        case Kind::Choice: {
            const auto it = std::find(s.choices.begin(), s.choices.end(), v.text);
            if (it == s.choices.end()) {
                error = fmt::format("\"{}\" is not one of {}", v.text, join_choices(s.choices));
                return std::nullopt;
            }
            v.number = static_cast<std::uint64_t>(it - s.choices.begin());
            break;
        }
        default:
            break;
    }
    return v;
}

// The defaults go through the same converter as the file, so a bad default cannot hide.
std::optional<Value> default_value(const Setting& s) {
    if (s.default_literal.empty()) {
        return std::nullopt;
    }
    try {
        const toml::table t = toml::parse(fmt::format("v = {}", s.default_literal));
        std::string error;
        return convert(s, *t.get("v"), error);
    } catch (const toml::parse_error&) {
        return std::nullopt;
    }
}

const std::vector<std::optional<Value>>& defaults() {
    static const std::vector<std::optional<Value>> kDefaults = [] {
        std::vector<std::optional<Value>> out;
        for (const auto& s : kSettings) {
            out.push_back(default_value(s));
        }
        return out;
    }();
    return kDefaults;
}

void apply_defaults(const Target& target, bool listener) {
    const auto& values = defaults();
    for (std::size_t i = 0; i < kSettings.size(); ++i) {
        const bool is_listener_key = kSettings[i].key.starts_with("listener.*.");
        if (is_listener_key == listener && values[i]) {
            kSettings[i].set(target, *values[i]);
        }
    }
}

std::uint32_t line_of(const toml::source_region& r) {
    return r.begin.line;
}

// Levenshtein distance, for "did you mean" on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::filesystem::path& p) {
    if (p.empty() || p.is_absolute() || base.empty()) {
        return p.lexically_normal();
    }
    auto r = (base / p).lexically_normal();
    if (!r.has_filename() && r.has_relative_path()) {
        r = r.parent_path();  // "/srv/mail/." normalises to "/srv/mail/"
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// The walk over the parsed document

struct ListenerSeen {
    Listener listener;
    std::uint32_t line = 0;  // of the [listener.NAME] header
    std::map<std::string, std::uint32_t, std::less<>> key_lines;
};

class Checker {
public:
    Checker(std::string file, ConfigLoad& out) : file_(std::move(file)), out_(out) {}

    void run(const toml::table& root, const std::filesystem::path& base_dir) {
        Config& config = out_.config;
        apply_defaults(Target{&config, nullptr}, false);
        std::map<std::string, std::uint32_t, std::less<>> lines;
        walk(root, "", "", Target{&config, nullptr}, lines);
        for (const auto& s : kSettings) {
            if ((s.flags & kRequired) != 0 && !s.key.starts_with("listener.") &&
                !lines.contains(s.key)) {
                add(0, fmt::format("missing required key '{}'", s.key));
            }
        }
        if (config.connections.max_per_ip > config.connections.max_total) {
            const auto it = lines.find("connections.max_per_ip");
            add(it != lines.end() ? it->second : 0,
                fmt::format(
                    "connections.max_per_ip ({}) exceeds connections.max_total ({})",
                    config.connections.max_per_ip,
                    config.connections.max_total
                ));
        }
        check_listeners();
        config.data_dir = resolve(base_dir, config.data_dir);
        config.tls.certificate = resolve(config.data_dir, config.tls.certificate);
        config.tls.private_key = resolve(config.data_dir, config.tls.private_key);
        if (!config.tls.trusted_cas.empty()) {
            config.tls.trusted_cas = resolve(config.data_dir, config.tls.trusted_cas);
        }
        if (!config.log.file.empty()) {
            config.log.file = resolve(config.data_dir, config.log.file);
        }
        check_smarthost(lines);
        if (!config.queue.smarthost.password_file.empty()) {
            config.queue.smarthost.password_file =
                resolve(config.data_dir, config.queue.smarthost.password_file);
        }
        if (!config.dns.root_trust_anchor.empty()) {
            config.dns.root_trust_anchor = resolve(config.data_dir, config.dns.root_trust_anchor);
        }
        for (auto& anchor : config.dns.trust_anchors) {
            anchor = resolve(config.data_dir, anchor);
        }
    }

private:
    void add(std::uint32_t line, std::string reason) {
        out_.diagnostics.push_back(ConfigDiagnostic{file_, line, std::move(reason)});
    }

    // `pattern` is the table's key in kSettings terms ("smtp", "listener.*"); `shown` its name in
    // the file ("listener.mx").
    void walk(
        const toml::table& table,
        std::string_view pattern,
        std::string_view shown,
        const Target& target,
        std::map<std::string, std::uint32_t, std::less<>>& lines
    ) {
        for (const auto& [key, node] : table) {
            const std::string name(key.str());
            const std::string full = pattern.empty() ? name : fmt::format("{}.{}", pattern, name);
            const std::string full_shown = shown.empty() ? name : fmt::format("{}.{}", shown, name);
            const std::uint32_t line = line_of(key.source());
            if (full == "listener") {
                walk_listeners(node, line);
            } else if (is_section(full)) {
                if (const auto* sub = node.as_table()) {
                    walk(*sub, full, full_shown, target, lines);
                } else {
                    add(line, fmt::format("'{}' must be a table ([{}])", full_shown, full_shown));
                }
            } else if (const Setting* s = find_setting(full)) {
                lines[std::string(s->key)] = line_of(node.source());
                std::string error;
                if (auto v = convert(*s, node, error)) {
                    s->set(target, *v);
                } else {
                    add(line_of(node.source()), fmt::format("{}: {}", full_shown, error));
                }
            } else {
                unknown(name, pattern, shown, line);
            }
        }
    }

    void unknown(
        std::string_view name, std::string_view pattern, std::string_view shown, std::uint32_t line
    ) {
        std::string where =
            shown.empty() ? std::string("at the top level") : fmt::format("in [{}]", shown);
        std::string best;
        std::size_t best_distance = 3;  // suggest only close misspellings
        const std::string prefix = pattern.empty() ? "" : fmt::format("{}.", pattern);
        const auto consider = [&](std::string_view candidate_full) {
            if (!candidate_full.starts_with(prefix)) {
                return;
            }
            auto rest = candidate_full.substr(prefix.size());
            rest = rest.substr(0, rest.find('.'));
            const auto d = edit_distance(name, rest);
            if (d < best_distance) {
                best_distance = d;
                best = rest;
            }
        };
        for (const auto& s : kSettings) {
            consider(s.key);
        }
        for (const auto& s : kSections) {
            consider(s.name);
        }
        add(line,
            best.empty()
                ? fmt::format("unknown key '{}' {}", name, where)
                : fmt::format("unknown key '{}' {} (did you mean '{}'?)", name, where, best));
    }

    void walk_listeners(const toml::node& node, std::uint32_t line) {
        const auto* listeners = node.as_table();
        if (listeners == nullptr) {
            add(line,
                "'listener' must hold named tables such as [listener.mx], got " +
                    std::string(type_name(node)));
            return;
        }
        for (const auto& [key, sub] : *listeners) {
            const std::string name(key.str());
            const std::uint32_t name_line = line_of(key.source());
            const auto* table = sub.as_table();
            if (table == nullptr) {
                add(name_line, fmt::format("'listener.{}' must be a table", name));
                continue;
            }
            const bool name_ok =
                !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return std::isalnum(c) != 0 || c == '-' || c == '_';
                });
            if (!name_ok) {
                add(name_line,
                    fmt::format(
                        "listener name '{}' may only contain letters, digits, '-' and '_'", name
                    ));
            }
            ListenerSeen seen;
            seen.listener.name = name;
            seen.line = name_line;
            const Target target{&out_.config, &seen.listener};
            apply_defaults(target, true);
            std::map<std::string, std::uint32_t, std::less<>> lines;
            walk(*table, "listener.*", fmt::format("listener.{}", name), target, lines);
            for (const auto& s : kSettings) {
                if ((s.flags & kRequired) != 0 && s.key.starts_with("listener.*.") &&
                    !lines.contains(s.key)) {
                    add(name_line,
                        fmt::format(
                            "[listener.{}] is missing required key '{}'",
                            name,
                            s.key.substr(std::string_view("listener.*.").size())
                        ));
                }
            }
            seen.key_lines = std::move(lines);
            listeners_.push_back(std::move(seen));
        }
    }

    std::uint32_t key_line(const ListenerSeen& l, std::string_view key) const {
        const auto it = l.key_lines.find(fmt::format("listener.*.{}", key));
        return it != l.key_lines.end() ? it->second : l.line;
    }

    static bool wildcard(const std::string& address) {
        return address == "0.0.0.0" || address == "::";
    }

    static bool overlaps(const Listener& a, const Listener& b) {
        if (a.port != b.port || a.port == 0) {
            return false;
        }
        const bool a6 = a.address.find(':') != std::string::npos;
        const bool b6 = b.address.find(':') != std::string::npos;
        // A wildcard bind conflicts with every address of its family (Linux without
        // SO_REUSEPORT).
        return a.address == b.address || (a6 == b6 && (wildcard(a.address) || wildcard(b.address)));
    }

    // A username needs a password and the other way round; neither without a host.
    void check_smarthost(const std::map<std::string, std::uint32_t, std::less<>>& lines) {
        const auto& relay = out_.config.queue.smarthost;
        const auto line_of = [&lines](std::string_view key) {
            const auto it = lines.find(key);
            return it != lines.end() ? it->second : 0U;
        };
        if (relay.host.empty() && (!relay.username.empty() || !relay.password_file.empty())) {
            add(line_of("queue.smarthost.username"),
                "queue.smarthost: username/password_file set but no host");
        } else if (relay.username.empty() != relay.password_file.empty()) {
            add(line_of(
                    relay.username.empty() ? "queue.smarthost.password_file"
                                           : "queue.smarthost.username"
                ),
                "queue.smarthost: username and password_file go together");
        }
    }

    void check_listeners() {
        // File order, not toml++'s (sorted) key order.
        std::stable_sort(listeners_.begin(), listeners_.end(), [](auto& a, auto& b) {
            return a.line < b.line;
        });
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            const auto& l = listeners_[i].listener;
            if (l.protocol == Protocol::Mx && l.tls == TlsMode::Implicit) {
                add(key_line(listeners_[i], "tls"),
                    fmt::format(
                        "listener.{}.tls: \"implicit\" is not allowed for protocol \"mx\": sending "
                        "servers connect in plaintext and use STARTTLS (RFC 3207)",
                        l.name
                    ));
            }
            if (l.protocol == Protocol::Http && l.tls == TlsMode::StartTls) {
                add(key_line(listeners_[i], "tls"),
                    fmt::format(
                        "listener.{}.tls: \"starttls\" is not allowed for protocol \"http\" "
                        "(use \"implicit\" or \"none\")",
                        l.name
                    ));
            }
            for (std::size_t j = 0; j < i; ++j) {
                const auto& other = listeners_[j];
                if (overlaps(l, other.listener)) {
                    add(key_line(listeners_[i], "port"),
                        fmt::format(
                            "listener.{}: port {} on {} is already used by listener.{} (line {})",
                            l.name,
                            l.port,
                            l.address,
                            other.listener.name,
                            other.line
                        ));
                    break;
                }
            }
        }
        for (auto& l : listeners_) {
            out_.config.listeners.push_back(std::move(l.listener));
        }
    }

    std::string file_;
    ConfigLoad& out_;
    std::vector<ListenerSeen> listeners_;
};

// ---------------------------------------------------------------------------------------------
// Docs and quickstart text

std::string_view kind_name(Kind k) {
    switch (k) {
        case Kind::Count:
            return "integer";
        case Kind::Size:
            return "size";
        case Kind::Duration:
            return "duration";
        case Kind::Hostname:
            return "host name";
        case Kind::User:
            return "user name";
        case Kind::Path:
            return "path";
        case Kind::Choice:
            return "string";
        case Kind::Address:
            return "IP address";
        case Kind::Port:
            return "port";
        case Kind::ResolverList:
            return "array of IP addresses (optionally `@port`)";
        case Kind::PathList:
            return "array of paths";
        case Kind::NameList:
            return "array of domain names";
        case Kind::Text:
            return "string";
    }
    return "?";
}

std::string section_header(std::string_view name) {
    if (name.empty()) {
        return "Top level";
    }
    if (name == "listener.*") {
        return "[listener.NAME]";
    }
    return fmt::format("[{}]", name);
}

std::string_view leaf(std::string_view key) {
    return key.substr(key.rfind('.') + 1);
}

bool in_section(const Setting& s, std::string_view section) {
    const auto dot = s.key.rfind('.');
    const std::string_view owner = dot == std::string_view::npos ? "" : s.key.substr(0, dot);
    return owner == section;
}

// TOML basic string (TOML 1.0 "Basic strings"): escape quote, backslash and controls.
std::string toml_quote(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\u{:04X}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// Wraps `text` as comment lines of at most ~96 columns.
void append_comment(std::string& out, std::string_view text) {
    std::string line = "#";
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find(' ', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto word = text.substr(pos, end - pos);
        if (line.size() + 1 + word.size() > 96 && line.size() > 1) {
            out += line + "\n";
            line = "#";
        }
        line += " ";
        line += word;
        pos = end + 1;
    }
    out += line + "\n";
}

}  // namespace

ConfigLoad parse_config(
    std::string_view toml_text, const std::string& file_name, const std::filesystem::path& base_dir
) {
    ConfigLoad out;
    out.config.source = file_name;
    toml::table root;
    try {
        root = toml::parse(toml_text, file_name);
    } catch (const toml::parse_error& e) {
        out.diagnostics.push_back(ConfigDiagnostic{
            file_name, line_of(e.source()), fmt::format("syntax error: {}", e.description())
        });
        return out;
    }
    Checker checker(file_name, out);
    checker.run(root, base_dir);
    std::stable_sort(out.diagnostics.begin(), out.diagnostics.end(), [](auto& a, auto& b) {
        return a.line < b.line;
    });
    return out;
}

std::string config_reference_markdown() {
    std::string out =
        "<!-- Generated from src/core/config_table.cpp by config_reference_markdown(); do not "
        "edit.\n"
        "     Regenerate: SOV_REGENERATE_DOCS=1 build/<dir>/src/core/sov_core_tests "
        "--gtest_filter='Config.DocsAreUpToDate' -->\n"
        "# sovereign.toml reference\n\n"
        "Sovereign reads one file, `<data>/sovereign.toml` ([TOML "
        "1.0](https://toml.io/en/v1.0.0)). "
        "Every key is listed below; an unknown key or a bad value is an error reported as "
        "`file:line: reason`, and all errors are reported at once. `sovereign config check` "
        "runs the same checks.\n\n"
        "Value types:\n\n"
        "- **size**: bytes as an integer, or a string with a unit: `\"512K\"`, `\"50M\"`, "
        "`\"1G\"`, `\"2T\"` (powers of 1024; `\"50MB\"` and `\"50MiB\"` mean the same).\n"
        "- **duration**: seconds as an integer, or a string of number+unit groups: `\"30s\"`, "
        "`\"5m\"`, `\"1h30m\"`, `\"2d\"`.\n"
        "- **path**: a relative path is resolved against `data_dir` (and `data_dir` itself "
        "against the directory holding the file).\n";
    for (const auto& section : kSections) {
        out += fmt::format("\n## {}\n\n{}\n", section_header(section.name), section.doc);
        for (const auto& s : kSettings) {
            if (!in_section(s, section.name)) {
                continue;
            }
            out += fmt::format("\n### `{}`\n\n", leaf(s.key));
            out += fmt::format("- Type: {}\n", kind_name(s.kind));
            if ((s.flags & kRequired) != 0) {
                out += "- Required\n";
            } else {
                out += fmt::format("- Default: `{}`\n", s.default_literal);
            }
            const auto range = range_text(s);
            if (!range.empty()) {
                out +=
                    fmt::format("- {}: {}\n", s.kind == Kind::Choice ? "Values" : "Range", range);
            }
            out += fmt::format("\n{}\n", s.doc);
        }
    }
    return out;
}

std::string default_config_text(
    const std::string& hostname, std::uint16_t port_base, const std::string& run_as_user
) {
    std::string out =
        "# sovereign.toml, written by `sovereign quickstart`. Reference: docs/config.md.\n"
        "# Commented-out keys show their defaults. Unknown keys are errors.\n"
        "# Check this file with `sovereign config check`.\n\n";
    for (const auto& section : kSections) {
        if (section.name == "listener.*") {
            continue;  // written below, with real values
        }
        if (!section.name.empty()) {
            out += fmt::format("\n[{}]\n", section.name);
        }
        append_comment(out, section.doc);
        for (const auto& s : kSettings) {
            if (!in_section(s, section.name)) {
                continue;
            }
            out += "\n";
            append_comment(out, s.doc);
            const auto name = leaf(s.key);
            if (s.key == "hostname") {
                out += fmt::format("{} = {}\n", name, toml_quote(hostname));
            } else if (s.key == "run_as_user") {
                out += fmt::format("{} = {}\n", name, toml_quote(run_as_user));
            } else {
                out += fmt::format("# {} = {}\n", name, s.default_literal);
            }
        }
    }
    // Listeners bind loopback: open them to the world by changing `address` once DNS and TLS are
    // ready. A port_base too large for 16 bits is written as is, so parse_config reports it.
    struct Quick {
        std::string_view name;
        std::string_view protocol;
        std::uint32_t port;
        std::string_view tls;
        std::string_view comment;
    };
    const std::array<Quick, 7> quick{{
        {"mx", "mx", 25, "starttls", "Mail from other servers (SMTP, RFC 5321)."},
        {"lmtp", "lmtp", 24, "none", "Local delivery (LMTP, RFC 2033), e.g. from a gateway."},
        {"submission", "submission", 587, "starttls", "Mail from your users (RFC 6409)."},
        {"submissions",
         "submission",
         465,
         "implicit",
         "Mail from your users over implicit TLS (RFC 8314)."},
        {"imap", "imap", 143, "starttls", "Mailbox access (IMAP4rev2, RFC 9051)."},
        {"imaps", "imap", 993, "implicit", "Mailbox access over implicit TLS (RFC 8314)."},
        {"https", "http", 443, "implicit", "Web: the MTA-STS policy (RFC 8461) for now."},
    }};
    out += "\n";
    for (const auto& section : kSections) {
        if (section.name == "listener.*") {
            append_comment(out, section.doc);
        }
    }
    append_comment(
        out,
        "The listeners below bind 127.0.0.1 only: set `address` to a public address (or "
        "\"0.0.0.0\" / \"::\") once DNS and the TLS certificate are in place."
    );
    for (const auto& q : quick) {
        out += fmt::format("\n[listener.{}]\n", q.name);
        append_comment(out, q.comment);
        out += fmt::format("protocol = \"{}\"\n", q.protocol);
        out += "address = \"127.0.0.1\"\n";
        out += fmt::format("port = {}\n", std::uint32_t{port_base} + q.port);
        out += fmt::format("tls = \"{}\"\n", q.tls);
    }
    return out;
}

namespace detail {
// Test hook: every default literal converts (a broken row would otherwise be silently skipped).
std::vector<std::string> config_table_problems_for_test() {
    std::vector<std::string> problems;
    const auto& values = defaults();
    for (std::size_t i = 0; i < kSettings.size(); ++i) {
        const auto& s = kSettings[i];
        const bool required = (s.flags & kRequired) != 0;
        if (required == values[i].has_value() || required != s.default_literal.empty()) {
            problems.push_back(fmt::format("{}: default and kRequired disagree", s.key));
        }
        if (s.set == nullptr) {
            problems.push_back(fmt::format("{}: no setter", s.key));
        }
        const auto dot = s.key.rfind('.');
        if (dot != std::string_view::npos && !is_section(s.key.substr(0, dot))) {
            problems.push_back(fmt::format("{}: section not listed", s.key));
        }
    }
    return problems;
}
std::optional<std::uint64_t> parse_size_for_test(std::string_view s) {
    return parse_size(s);
}
std::optional<std::uint64_t> parse_duration_for_test(std::string_view s) {
    return parse_duration(s);
}
}  // namespace detail

}  // namespace sov::core
