#include "smtp/wire/server_engine.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sov::smtp::wire {
namespace {

// Strips "FROM:" / "TO:" (case-insensitive, RFC 5321 §2.4) and the spaces some clients put
// after the colon ("MAIL FROM: <a@b>"; Postfix and Exim accept it, RFC 5321 §4.1.1.2 does not
// allow it but refusing it only breaks old clients).
bool strip_prefix(std::string_view& args, std::string_view prefix) {
    if (args.size() < prefix.size() || !iequals(args.substr(0, prefix.size()), prefix)) {
        return false;
    }
    args.remove_prefix(prefix.size());
    while (!args.empty() && args.front() == ' ') {
        args.remove_prefix(1);
    }
    return true;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    std::uint64_t v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    out = v;
    return true;
}

bool is_addr_type_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// RFC 4648 §4 as RFC 4954 §4 wants it: every character from the alphabet, padding only at the
// end and only to complete the last quantum ("=AAA" and "AAA=BBB" are errors), no whitespace.
bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    if (in.size() % 4 != 0) {
        return false;
    }
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        std::uint32_t bits = 0;
        int pad = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = in[i + k];
            if (c == '=' && last && k >= 2) {
                ++pad;
                bits <<= 6;
                continue;
            }
            const int v = base64_value(c);
            if (v < 0 || pad > 0) {
                return false;  // outside the alphabet, or data after '='
            }
            bits = (bits << 6) | static_cast<std::uint32_t>(v);
        }
        out += static_cast<char>((bits >> 16) & 0xFF);
        if (pad < 2) {
            out += static_cast<char>((bits >> 8) & 0xFF);
        }
        if (pad < 1) {
            out += static_cast<char>(bits & 0xFF);
        }
    }
    return true;
}

std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, in.size() - i);
        std::uint32_t bits = 0;
        for (std::size_t k = 0; k < 3; ++k) {
            bits <<= 8;
            if (k < n) {
                bits |= static_cast<unsigned char>(in[i + k]);
            }
        }
        for (std::size_t k = 0; k < 4; ++k) {
            out += k <= n ? kBase64Alphabet[(bits >> (18 - 6 * k)) & 0x3F] : '=';
        }
    }
    return out;
}

// SASL data must not linger in memory (STYLE.md §3.6). A volatile store is not elided.
void wipe(std::string& s) noexcept {
    volatile char* p = s.data();
    for (std::size_t i = 0; i < s.size(); ++i) {
        p[i] = 0;
    }
    s.clear();
}

// RFC 4422 §3.1: sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / HYPHEN /
// UNDERSCORE. Lower case is accepted here and upper-cased (clients are not always careful).
bool valid_mechanism(std::string_view m) noexcept {
    if (m.empty() || m.size() > 20) {
        return false;
    }
    return std::all_of(m.begin(), m.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

bool listed_mechanism(std::string_view list, std::string_view mechanism) noexcept {
    while (!list.empty()) {
        const auto sp = list.find(' ');
        if (list.substr(0, sp) == mechanism) {
            return true;
        }
        if (sp == std::string_view::npos) {
            break;
        }
        list.remove_prefix(sp + 1);
    }
    return false;
}

}  // namespace

ServerEngine::ServerEngine(ServerConfig config)
    : config_(std::move(config)), tls_active_(config_.tls_active), dot_(config_.bare_line_ending) {}

void ServerEngine::greet() {
    // RFC 5321 §4.3.1 / RFC 2034 §3: the greeting carries no enhanced status code.
    std::string text = config_.hostname;
    if (!config_.greeting_text.empty()) {
        text += ' ';
        text += config_.greeting_text;
    }
    reply(220, {}, text);
}

void ServerEngine::close_with(Reply r) {
    if (closed_) {
        return;
    }
    queue(r);
    state_ = State::Closed;
    closed_ = true;
}

std::string ServerEngine::take_output() {
    return std::exchange(output_, {});
}

void ServerEngine::queue(const Reply& r) {
    append_reply(r, output_);
}

void ServerEngine::reply(int code, std::string_view enhanced, std::string_view text) {
    queue(Reply{code, std::string(enhanced), std::string(text)});
}

void ServerEngine::error(int code, std::string_view enhanced, std::string_view text) {
    reply(code, enhanced, text);
    ++errors_;
}

bool ServerEngine::reset_transaction() {
    const bool was_body = body_started_;
    envelope_ = Envelope{};
    in_transaction_ = false;
    bdat_transaction_ = false;
    body_started_ = false;
    body_failed_ = false;
    message_bytes_ = 0;
    dot_.reset();
    return was_body;
}

std::string_view ServerEngine::with_keyword() const noexcept {
    // RFC 3848 §2 and RFC 6531 §4.3 (UTF8SMTP family); the A/S suffix order is "SA".
    const bool lmtp = config_.protocol == Protocol::Lmtp;
    if (!lmtp && !esmtp_) {
        return "SMTP";
    }
    const int idx = (tls_active_ ? 1 : 0) + (authenticated_ ? 2 : 0);
    static constexpr std::string_view kEsmtp[] = {"ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA"};
    static constexpr std::string_view kLmtp[] = {"LMTP", "LMTPS", "LMTPA", "LMTPSA"};
    static constexpr std::string_view kU8Smtp[] = {
        "UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA"
    };
    static constexpr std::string_view kU8Lmtp[] = {
        "UTF8LMTP", "UTF8LMTPS", "UTF8LMTPA", "UTF8LMTPSA"
    };
    if (envelope_.smtputf8) {
        return lmtp ? kU8Lmtp[idx] : kU8Smtp[idx];
    }
    return lmtp ? kLmtp[idx] : kEsmtp[idx];
}

std::string ServerEngine::ehlo_text() const {
    std::string t = config_.hostname;
    if (config_.pipelining) {
        t += "\nPIPELINING";  // RFC 2920
    }
    t += "\nSIZE " + std::to_string(config_.limits.max_message_bytes);  // RFC 1870 §4
    if (config_.eightbitmime) {
        t += "\n8BITMIME";  // RFC 6152
    }
    if (config_.smtputf8) {
        t += "\nSMTPUTF8";  // RFC 6531
    }
    if (config_.enhanced_status_codes) {
        t += "\nENHANCEDSTATUSCODES";  // RFC 2034
    }
    if (config_.tls_available && !tls_active_) {
        t += "\nSTARTTLS";  // RFC 3207 §4: not after the handshake
    }
    if (config_.chunking) {
        t += "\nCHUNKING";  // RFC 3030
        if (config_.binarymime) {
            t += "\nBINARYMIME";
        }
    }
    if (config_.dsn) {
        t += "\nDSN";  // RFC 3461
    }
    if (config_.requiretls && tls_active_) {
        t += "\nREQUIRETLS";  // RFC 8689 §2: only in the EHLO reply that follows STARTTLS
    }
    if (auth_offered() && !config_.auth_mechanisms.empty()) {
        t += "\nAUTH " + config_.auth_mechanisms;  // RFC 4954 §3
    }
    return t;
}

bool ServerEngine::auth_offered() const noexcept {
    // RFC 4954 §4 / RFC 8314 §3: passwords only over TLS (unless configured otherwise).
    return config_.auth_available && config_.protocol == Protocol::Smtp &&
           (tls_active_ || !config_.require_tls_for_auth);
}

Step ServerEngine::step(std::string_view input) {
    std::size_t total = 0;
    for (;;) {
        const auto rest = input.substr(total);
        switch (state_) {
            case State::Closed:
                return {Event::Close, total, {}};
            case State::AwaitSender:
                return {Event::VerifySender, total, {}};
            case State::AwaitRecipient:
                return {Event::VerifyRecipient, total, {}};
            case State::AwaitDelivery:
                return {Event::DeliverMessage, total, {}};
            case State::StartTls:
                return {Event::StartTls, total, {}};
            case State::AwaitAuth:
                return {auth_event_, total, {}};
            case State::AuthLine: {
                auto s = step_auth_line(rest);
                s.consumed += total;
                return s;
            }
            case State::Data:
            case State::Bdat: {
                auto s = state_ == State::Data ? step_data(rest) : step_bdat(rest);
                s.consumed += total;
                if (s.event == Event::NeedInput && state_ != State::Data && state_ != State::Bdat) {
                    total = s.consumed;  // body ended without an event: go on with commands
                    continue;
                }
                return s;
            }
            case State::SkipLine: {
                const auto sk = skip_to_line_end(rest);
                total += sk.consumed;
                if (!sk.found_end) {
                    return {Event::NeedInput, total, {}};
                }
                state_ = State::Command;
                continue;
            }
            case State::Command:
                break;
        }
        if (errors_ >= config_.limits.max_errors) {
            // Fatal: a peer producing this many errors is broken or probing (see ServerLimits).
            reply(421, "4.7.0", config_.hostname + " Too many errors, closing connection");
            state_ = State::Closed;
            closed_ = true;
            const bool aborted = reset_transaction();
            return {aborted ? Event::MessageAborted : Event::Close, total, {}};
        }
        if (rest.empty()) {
            return {Event::NeedInput, total, {}};
        }
        const auto pr = parse_command_line(rest, config_.limits.command);
        switch (pr.status) {
            case ParseStatus::NeedMore:
                return {Event::NeedInput, total, {}};
            case ParseStatus::LineTooLong:
                // RFC 5321 §4.5.3.1.4 "500 Line too long"; recoverable, the rest is skipped.
                total += pr.consumed;
                error(500, "5.5.2", "Line too long");
                if (!pr.terminated) {
                    state_ = State::SkipLine;
                }
                continue;
            case ParseStatus::BadBytes:
                total += pr.consumed;
                error(500, "5.5.2", "Syntax error: NUL, bare CR or bare LF in command");
                continue;
            case ParseStatus::Complete:
                break;
        }
        total += pr.consumed;
        if (auto ev = on_line(pr.line, input.size() - total)) {
            return {*ev, total, {}};
        }
    }
}

std::optional<Event> ServerEngine::on_line(std::string_view line, std::size_t remaining) {
    const auto cmd = parse_command(line);
    switch (cmd.verb) {
        case Verb::Helo:
        case Verb::Ehlo:
        case Verb::Lhlo:
            return cmd_helo(cmd);
        case Verb::Mail:
            return cmd_mail(cmd);
        case Verb::Rcpt:
            return cmd_rcpt(cmd);
        case Verb::Data:
            return cmd_data(cmd);
        case Verb::Bdat:
            return cmd_bdat(cmd);
        case Verb::Starttls:
            return cmd_starttls(cmd, remaining);
        case Verb::Rset: {
            if (cmd.has_args) {
                error(501, "5.5.4", "Syntax: RSET");  // RFC 5321 §4.1.1.5: no arguments
                return std::nullopt;
            }
            const bool aborted = reset_transaction();
            reply(250, "2.0.0", "Ok");
            return aborted ? std::optional<Event>(Event::MessageAborted) : std::nullopt;
        }
        case Verb::Noop:
            reply(250, "2.0.0", "Ok");  // §4.1.1.9: a parameter is allowed and ignored
            return std::nullopt;
        case Verb::Quit: {
            reply(221, "2.0.0", config_.hostname + " Bye");  // §4.1.1.10
            const bool aborted = reset_transaction();
            state_ = State::Closed;
            closed_ = true;
            return aborted ? Event::MessageAborted : Event::Close;
        }
        case Verb::Vrfy:
            if (!cmd.has_args) {
                error(501, "5.5.4", "Syntax: VRFY address");
                return std::nullopt;
            }
            // RFC 5321 §3.5.3: 252 when we will not verify (no address harvesting).
            reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
            return std::nullopt;
        case Verb::Help:
            reply(
                214,
                "2.0.0",
                auth_offered()
                    ? "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS "
                      "AUTH"
                    : "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS"
            );
            return std::nullopt;
        case Verb::Auth:
            return cmd_auth(cmd);
        case Verb::Expn:  // §3.5.2 allows refusing EXPN; lists are not exposed
            error(502, "5.5.1", "Command not implemented");
            return std::nullopt;
        case Verb::Unknown:
            error(500, "5.5.2", "Command unrecognized");
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<Event> ServerEngine::cmd_helo(const Command& cmd) {
    const bool lmtp = config_.protocol == Protocol::Lmtp;
    if (lmtp && cmd.verb != Verb::Lhlo) {
        // RFC 2033 §4.1: LMTP uses LHLO; HELO/EHLO would mean an SMTP client on our LMTP port.
        error(500, "5.5.1", "Use LHLO in LMTP");
        return std::nullopt;
    }
    if (!lmtp && cmd.verb == Verb::Lhlo) {
        error(500, "5.5.2", "Command unrecognized");
        return std::nullopt;
    }
    auto arg = cmd.args;
    arg = arg.substr(0, arg.find(' '));  // Domain / address-literal; ignore trailing words
    if (arg.empty() || !valid_utf8(arg)) {
        error(501, "5.5.4", std::string("Syntax: ") + std::string(cmd.verb_text) + " hostname");
        return std::nullopt;
    }
    // §4.1.4: HELO/EHLO in a session resets like RSET.
    const bool aborted = reset_transaction();
    helo_.assign(arg);
    helo_seen_ = true;
    esmtp_ = cmd.verb != Verb::Helo;
    if (esmtp_) {
        // RFC 2034 §3: no enhanced status codes on the EHLO reply.
        reply(250, {}, ehlo_text());
    } else {
        reply(250, {}, config_.hostname);
    }
    return aborted ? std::optional<Event>(Event::MessageAborted) : std::nullopt;
}

std::optional<Event> ServerEngine::cmd_mail(const Command& cmd) {
    if (!helo_seen_) {
        error(503, "5.5.1", "Send HELO/EHLO first");  // RFC 5321 §4.1.4
        return std::nullopt;
    }
    if (in_transaction_ || bdat_transaction_) {
        error(503, "5.5.1", "Nested MAIL command");  // §4.1.4: MAIL only outside a transaction
        return std::nullopt;
    }
    if (config_.require_tls && !tls_active_) {
        error(530, "5.7.0", "Must issue a STARTTLS command first");  // RFC 3207 §4
        return std::nullopt;
    }
    if (config_.require_auth && !authenticated_) {
        error(530, "5.7.0", "Authentication required");  // RFC 4954 §6
        return std::nullopt;
    }
    auto args = cmd.args;
    if (!strip_prefix(args, "FROM:")) {
        error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
        return std::nullopt;
    }
    auto pr = parse_path(args, PathKind::Reverse, config_.smtputf8);
    if (pr.status == AddressStatus::NeedsUtf8 && !config_.smtputf8) {
        error(553, "5.6.7", "Non-ASCII addresses are not supported");
        return std::nullopt;
    }
    if (pr.status != AddressStatus::Ok) {
        error(501, "5.1.7", "Bad sender address syntax");
        return std::nullopt;
    }
    if (!pr.rest.empty() && pr.rest.front() != ' ') {
        error(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]");
        return std::nullopt;
    }
    std::vector<EsmtpParam> params;
    if (!parse_esmtp_params(pr.rest, params)) {
        error(501, "5.5.4", "Bad MAIL parameter syntax");
        return std::nullopt;
    }
    Envelope env;
    env.reverse_path = std::move(pr.path);
    bool seen_size = false;
    bool seen_body = false;
    bool seen_ret = false;
    bool seen_envid = false;
    bool seen_auth = false;
    bool seen_utf8 = false;
    bool seen_requiretls = false;
    const auto dup = [](bool& seen) { return std::exchange(seen, true); };
    for (const auto& p : params) {
        if (!esmtp_) {
            // RFC 5321 §4.1.1.2: parameters belong to extensions, which HELO did not enable.
            error(555, "5.5.4", "MAIL parameters require EHLO");
            return std::nullopt;
        }
        const auto& k = p.keyword;
        if (iequals(k, "SIZE")) {
            std::uint64_t n = 0;
            if (dup(seen_size) || !p.has_value || !parse_u64(p.value, n)) {
                error(501, "5.5.4", "Bad SIZE parameter");
                return std::nullopt;
            }
            env.declared_size = n;
        } else if (iequals(k, "BODY") && p.has_value && !dup(seen_body)) {
            // RFC 6152 §2 (7BIT, 8BITMIME), RFC 3030 §3 (BINARYMIME).
            if (iequals(p.value, "7BIT")) {
                env.body = BodyType::SevenBit;
            } else if (iequals(p.value, "8BITMIME") && config_.eightbitmime) {
                env.body = BodyType::EightBitMime;
            } else if (iequals(p.value, "BINARYMIME") && config_.binarymime && config_.chunking) {
                env.body = BodyType::BinaryMime;
            } else {
                error(555, "5.5.4", "Unsupported BODY type");
                return std::nullopt;
            }
        } else if (iequals(k, "SMTPUTF8") && config_.smtputf8) {
            if (p.has_value || dup(seen_utf8)) {
                error(501, "5.5.4", "Bad SMTPUTF8 parameter");  // RFC 6531 §3.4: no value
                return std::nullopt;
            }
            env.smtputf8 = true;
        } else if (iequals(k, "REQUIRETLS") && config_.requiretls) {
            if (p.has_value || dup(seen_requiretls)) {
                error(501, "5.5.4", "Bad REQUIRETLS parameter");  // RFC 8689 §2: no value
                return std::nullopt;
            }
            if (!tls_active_) {
                // RFC 8689 §2: only in a session that employs TLS (not advertised before it).
                error(530, "5.7.10", "REQUIRETLS needs a TLS session");
                return std::nullopt;
            }
            env.requiretls = true;
        } else if (iequals(k, "RET") && config_.dsn) {
            // RFC 3461 §4.3: RET=FULL / RET=HDRS, at most once.
            if (dup(seen_ret) || !p.has_value) {
                error(501, "5.5.4", "Bad RET parameter");
                return std::nullopt;
            }
            if (iequals(p.value, "FULL")) {
                env.ret = DsnRet::Full;
            } else if (iequals(p.value, "HDRS")) {
                env.ret = DsnRet::Hdrs;
            } else {
                error(501, "5.5.4", "Bad RET parameter");
                return std::nullopt;
            }
        } else if (iequals(k, "ENVID") && config_.dsn) {
            // RFC 3461 §4.4: xtext, at most 100 characters.
            if (dup(seen_envid) || !p.has_value || p.value.size() > 100 ||
                !xtext_decode(p.value, env.envid)) {
                error(501, "5.5.4", "Bad ENVID parameter");
                return std::nullopt;
            }
        } else if (iequals(k, "AUTH")) {
            // RFC 4954 §5: AUTH=<xtext mailbox> or AUTH=<>; kept, trusted only by the driver.
            if (dup(seen_auth) || !p.has_value || !xtext_decode(p.value, env.auth)) {
                error(501, "5.5.4", "Bad AUTH parameter");
                return std::nullopt;
            }
        } else {
            error(555, "5.5.4", "Unsupported MAIL parameter");  // RFC 5321 §4.1.1.11
            return std::nullopt;
        }
    }
    if (env.reverse_path.utf8 && !env.smtputf8) {
        error(553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8");  // RFC 6531 §3.5
        return std::nullopt;
    }
    if (env.declared_size && *env.declared_size > config_.limits.max_message_bytes) {
        // RFC 1870 §6.2: a declared size over the fixed limit fails at MAIL with 552.
        error(552, "5.3.4", "Message size exceeds fixed maximum message size");
        return std::nullopt;
    }
    envelope_ = std::move(env);
    if (config_.verify_sender) {
        state_ = State::AwaitSender;
        return Event::VerifySender;
    }
    in_transaction_ = true;
    reply(250, "2.1.0", "Ok");
    return std::nullopt;
}

void ServerEngine::answer_sender(Reply r) {
    if (state_ != State::AwaitSender) {
        return;
    }
    state_ = State::Command;
    queue(r);
    if (r.code >= 200 && r.code < 300) {
        in_transaction_ = true;
    } else {
        ++errors_;
        envelope_ = Envelope{};
    }
}

std::optional<Event> ServerEngine::cmd_rcpt(const Command& cmd) {
    if (!in_transaction_) {
        error(503, "5.5.1", "Need MAIL before RCPT");  // RFC 5321 §4.1.4
        return std::nullopt;
    }
    if (bdat_transaction_) {
        error(503, "5.5.1", "RCPT after BDAT");  // RFC 3030 §2: BDAT follows MAIL and RCPT
        return std::nullopt;
    }
    auto args = cmd.args;
    if (!strip_prefix(args, "TO:")) {
        error(501, "5.5.4", "Syntax: RCPT TO:<address>");
        return std::nullopt;
    }
    auto pr = parse_path(args, PathKind::Forward, config_.smtputf8);
    if (pr.status == AddressStatus::NeedsUtf8 && !config_.smtputf8) {
        error(553, "5.6.7", "Non-ASCII addresses are not supported");
        return std::nullopt;
    }
    if (pr.status != AddressStatus::Ok) {
        error(501, "5.1.3", "Bad recipient address syntax");
        return std::nullopt;
    }
    if (pr.path.utf8 && !envelope_.smtputf8) {
        error(553, "5.6.7", "Non-ASCII recipient address requires SMTPUTF8");  // RFC 6531 §3.5
        return std::nullopt;
    }
    if (!pr.rest.empty() && pr.rest.front() != ' ') {
        error(501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]");
        return std::nullopt;
    }
    std::vector<EsmtpParam> params;
    if (!parse_esmtp_params(pr.rest, params)) {
        error(501, "5.5.4", "Bad RCPT parameter syntax");
        return std::nullopt;
    }
    Recipient rcpt;
    rcpt.path = std::move(pr.path);
    bool seen_notify = false;
    bool seen_orcpt = false;
    for (const auto& p : params) {
        if (!esmtp_) {
            error(555, "5.5.4", "RCPT parameters require EHLO");
            return std::nullopt;
        }
        if (iequals(p.keyword, "NOTIFY") && config_.dsn) {
            // RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )
            if (std::exchange(seen_notify, true) || !p.has_value) {
                error(501, "5.5.4", "Bad NOTIFY parameter");
                return std::nullopt;
            }
            auto v = p.value;
            unsigned flags = 0;
            bool ok = true;
            while (ok) {
                const auto comma = v.find(',');
                const auto item = v.substr(0, comma);
                unsigned bit = 0;
                if (iequals(item, "NEVER")) {
                    bit = kNotifyNever;
                } else if (iequals(item, "SUCCESS")) {
                    bit = kNotifySuccess;
                } else if (iequals(item, "FAILURE")) {
                    bit = kNotifyFailure;
                } else if (iequals(item, "DELAY")) {
                    bit = kNotifyDelay;
                }
                ok = bit != 0 && (flags & bit) == 0;
                flags |= bit;
                if (comma == std::string_view::npos) {
                    break;
                }
                v.remove_prefix(comma + 1);
            }
            if (!ok || ((flags & kNotifyNever) != 0 && flags != kNotifyNever)) {
                error(501, "5.5.4", "Bad NOTIFY parameter");
                return std::nullopt;
            }
            rcpt.notify = flags;
        } else if (iequals(p.keyword, "ORCPT") && config_.dsn) {
            // RFC 3461 §4.2: ORCPT=addr-type ";" xtext
            const auto semi = p.value.find(';');
            const auto type = p.value.substr(0, semi);
            const bool type_ok = !type.empty() && std::all_of(type.begin(), type.end(), [](char c) {
                return is_addr_type_char(c);
            });
            std::string decoded;
            if (std::exchange(seen_orcpt, true) || !p.has_value || semi == std::string_view::npos ||
                !type_ok || p.value.size() > 500 ||
                !xtext_decode(p.value.substr(semi + 1), decoded) || decoded.empty()) {
                error(501, "5.5.4", "Bad ORCPT parameter");
                return std::nullopt;
            }
            rcpt.orcpt_type.assign(type);
            rcpt.orcpt_value = std::move(decoded);
        } else {
            error(555, "5.5.4", "Unsupported RCPT parameter");
            return std::nullopt;
        }
    }
    if (envelope_.recipients.size() >= config_.limits.max_recipients) {
        // RFC 5321 §4.5.3.1.10: 452, the client sends the rest in another transaction.
        error(452, "4.5.3", "Too many recipients");
        return std::nullopt;
    }
    pending_rcpt_ = std::move(rcpt);
    state_ = State::AwaitRecipient;
    return Event::VerifyRecipient;
}

void ServerEngine::answer_recipient(Reply r) {
    if (state_ != State::AwaitRecipient) {
        return;
    }
    state_ = State::Command;
    queue(r);
    if (r.code >= 200 && r.code < 300) {
        envelope_.recipients.push_back(std::move(pending_rcpt_));
    } else {
        ++errors_;  // rejected recipients count: address harvesting is what the limit stops
    }
    pending_rcpt_ = Recipient{};
}

std::optional<Event> ServerEngine::cmd_data(const Command& cmd) {
    if (cmd.has_args) {
        error(501, "5.5.4", "Syntax: DATA");  // RFC 5321 §4.1.1.4: no parameters
        return std::nullopt;
    }
    if (!in_transaction_) {
        error(503, "5.5.1", "Need MAIL command");
        return std::nullopt;
    }
    if (bdat_transaction_) {
        error(503, "5.5.1", "DATA after BDAT");  // RFC 3030 §2: no mixing in a transaction
        return std::nullopt;
    }
    if (envelope_.body == BodyType::BinaryMime) {
        error(503, "5.5.1", "BINARYMIME requires BDAT");  // RFC 3030 §3
        return std::nullopt;
    }
    if (envelope_.recipients.empty()) {
        // RFC 5321 §3.3 (554 "no valid recipients"); RFC 2033 §4.2 requires 503 for LMTP.
        if (config_.protocol == Protocol::Lmtp) {
            error(503, "5.5.1", "No valid recipients");
        } else {
            error(554, "5.5.1", "No valid recipients");
        }
        return std::nullopt;
    }
    // 354 carries no enhanced code: RFC 3463 has no class 3.
    reply(354, {}, "End data with <CR><LF>.<CR><LF>");
    state_ = State::Data;
    dot_.reset();
    message_bytes_ = 0;
    body_failed_ = false;
    body_started_ = true;
    return Event::MessageBegin;
}

std::optional<Event> ServerEngine::fail_body(Reply r) {
    body_failed_ = true;
    body_reply_ = std::move(r);
    if (body_started_) {
        body_started_ = false;
        return Event::MessageAborted;
    }
    return std::nullopt;
}

Step ServerEngine::step_data(std::string_view input) {
    std::size_t total = 0;
    for (;;) {
        const auto d = dot_.decode(input.substr(total));
        if (d.consumed == 0) {
            return {Event::NeedInput, total, {}};
        }
        total += d.consumed;
        if (d.done) {
            state_ = State::Command;
            if (body_failed_) {
                queue(body_reply_);
                ++errors_;
                reset_transaction();
                return {Event::NeedInput, total, {}};  // step() continues with commands
            }
            state_ = State::AwaitDelivery;
            body_started_ = false;
            return {Event::DeliverMessage, total, {}};
        }
        if (body_failed_) {
            continue;  // draining: keep in sync with the client, store nothing
        }
        if (dot_.bad_line_ending()) {
            // See dot_decoder.hpp: bare CR (or bare LF under Reject) fails the message.
            if (auto ev = fail_body({550, "5.6.0", "Bare CR or LF in message not allowed"})) {
                return {*ev, total, {}};
            }
            continue;
        }
        message_bytes_ += d.data.size();
        if (message_bytes_ > config_.limits.max_message_bytes) {
            // RFC 1870 §6.3: over the limit → drain, then 552.
            if (auto ev =
                    fail_body({552, "5.3.4", "Message size exceeds fixed maximum message size"})) {
                return {*ev, total, {}};
            }
            continue;
        }
        if (!d.data.empty()) {
            return {Event::BodyChunk, total, d.data};
        }
    }
}

std::optional<Event> ServerEngine::cmd_bdat(const Command& cmd) {
    const auto args = parse_bdat_args(cmd.args);
    if (!args.ok) {
        // Without a valid size we cannot tell chunk bytes from commands; reading on would run
        // message text as commands, so close.
        error(501, "5.5.4", "Syntax: BDAT size [LAST]");
        reset_transaction();
        state_ = State::Closed;
        closed_ = true;
        return Event::Close;
    }
    bdat_remaining_ = args.size;
    bdat_chunk_size_ = args.size;
    bdat_last_ = args.last;
    bdat_discard_ = false;
    state_ = State::Bdat;
    const auto discard = [&](int code, std::string_view enh, std::string_view text) {
        // RFC 3030 §2: the chunk is read and discarded even when the command fails.
        bdat_discard_ = true;
        bdat_reply_ = Reply{code, std::string(enh), std::string(text)};
        return std::nullopt;
    };
    if (!config_.chunking) {
        return discard(502, "5.5.1", "CHUNKING not supported");
    }
    if (!in_transaction_) {
        return discard(503, "5.5.1", "Need MAIL command");
    }
    if (envelope_.recipients.empty()) {
        return discard(
            config_.protocol == Protocol::Lmtp ? 503 : 554, "5.5.1", "No valid recipients"
        );
    }
    if (message_bytes_ + args.size > config_.limits.max_message_bytes ||
        args.size > config_.limits.max_message_bytes) {
        // RFC 1870 §6.3 / RFC 3030 §2: drain the chunk, then 552 and the transaction fails.
        bdat_transaction_ = true;
        return fail_body({552, "5.3.4", "Message size exceeds fixed maximum message size"});
    }
    if (!bdat_transaction_) {
        bdat_transaction_ = true;
        body_started_ = true;
        message_bytes_ = 0;
        return Event::MessageBegin;
    }
    return std::nullopt;
}

Step ServerEngine::step_bdat(std::string_view input) {
    std::size_t total = 0;
    for (;;) {
        if (bdat_remaining_ == 0) {
            state_ = State::Command;
            if (bdat_discard_) {
                queue(bdat_reply_);
                ++errors_;
                bdat_discard_ = false;
                return {Event::NeedInput, total, {}};
            }
            if (body_failed_) {
                // RFC 3030 §2: a failed BDAT fails the transaction; later BDATs get 503.
                queue(body_reply_);
                ++errors_;
                reset_transaction();
                return {Event::NeedInput, total, {}};
            }
            if (bdat_last_) {
                state_ = State::AwaitDelivery;
                body_started_ = false;
                return {Event::DeliverMessage, total, {}};
            }
            reply(250, "2.0.0", std::to_string(bdat_chunk_size_) + " octets received");
            return {Event::NeedInput, total, {}};
        }
        const auto rest = input.substr(total);
        if (rest.empty()) {
            return {Event::NeedInput, total, {}};
        }
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(bdat_remaining_, static_cast<std::uint64_t>(rest.size()))
        );
        bdat_remaining_ -= n;
        total += n;
        if (bdat_discard_ || body_failed_) {
            continue;
        }
        message_bytes_ += n;
        return {Event::BodyChunk, total, rest.substr(0, n)};
    }
}

void ServerEngine::answer_delivery(std::span<const Reply> replies) {
    if (state_ != State::AwaitDelivery) {
        return;
    }
    state_ = State::Command;
    const Reply fallback{451, "4.3.0", "Delivery status unknown"};
    if (config_.protocol == Protocol::Lmtp) {
        // RFC 2033 §4.2: one reply per successful RCPT, in RCPT order.
        for (std::size_t i = 0; i < envelope_.recipients.size(); ++i) {
            queue(i < replies.size() ? replies[i] : fallback);
        }
    } else {
        queue(replies.empty() ? fallback : replies[0]);
    }
    ++transactions_;
    reset_transaction();
}

std::optional<Event> ServerEngine::cmd_starttls(const Command& cmd, std::size_t remaining) {
    if (tls_active_) {
        error(503, "5.5.1", "TLS already active");  // RFC 3207 §4.2: not offered after TLS
        return std::nullopt;
    }
    if (!config_.tls_available) {
        error(502, "5.5.1", "STARTTLS not available");
        return std::nullopt;
    }
    if (cmd.has_args) {
        error(501, "5.5.4", "Syntax: STARTTLS");  // RFC 3207 §4: no parameters
        return std::nullopt;
    }
    if (in_transaction_) {
        error(503, "5.5.1", "STARTTLS not allowed in a mail transaction");
        return std::nullopt;
    }
    if (remaining > 0) {
        // Plaintext pipelined after STARTTLS would otherwise be read as if it came through
        // TLS (Postfix CVE-2011-0411). Like Dovecot's smtp-server, refuse rather than drop
        // the bytes silently: a client that does this is broken or an attacker's injection.
        reply(421, "4.7.0", "Pipelined data after STARTTLS, closing connection");
        state_ = State::Closed;
        closed_ = true;
        return Event::Close;
    }
    reply(220, "2.0.0", "Ready to start TLS");
    state_ = State::StartTls;
    return Event::StartTls;
}

void ServerEngine::tls_started() {
    if (state_ != State::StartTls) {
        return;
    }
    // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS; the client
    // must send EHLO again.
    reset_transaction();
    helo_.clear();
    helo_seen_ = false;
    esmtp_ = false;
    authenticated_ = false;
    auth_identity_.clear();
    tls_active_ = true;
    state_ = State::Command;
}

void ServerEngine::set_authenticated(std::string identity) {
    authenticated_ = true;
    auth_identity_ = std::move(identity);
}

// RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]
std::optional<Event> ServerEngine::cmd_auth(const Command& cmd) {
    if (!config_.auth_available || config_.protocol != Protocol::Smtp) {
        error(502, "5.5.1", "Command not implemented");  // MX and LMTP: no AUTH at all
        return std::nullopt;
    }
    if (!auth_offered()) {
        // Not advertised before TLS; RFC 3207 §4's reply for "TLS first".
        error(530, "5.7.0", "Must issue a STARTTLS command first");
        return std::nullopt;
    }
    if (!esmtp_) {
        error(503, "5.5.1", "Send EHLO first");  // AUTH is an ESMTP extension (RFC 4954 §3)
        return std::nullopt;
    }
    if (authenticated_) {
        error(503, "5.5.1", "Already authenticated");  // RFC 4954 §4: only once per session
        return std::nullopt;
    }
    if (in_transaction_ || bdat_transaction_) {
        error(503, "5.5.1", "AUTH not permitted during a mail transaction");  // RFC 4954 §4
        return std::nullopt;
    }
    auto args = cmd.args;
    while (!args.empty() && args.back() == ' ') {
        args.remove_suffix(1);
    }
    const auto sp = args.find(' ');
    const auto mechanism = args.substr(0, sp);
    const auto initial = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
    if (!valid_mechanism(mechanism) || (sp != std::string_view::npos && initial.empty()) ||
        initial.find(' ') != std::string_view::npos) {
        error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
        return std::nullopt;
    }
    std::string upper(mechanism);
    for (auto& c : upper) {
        c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    if (!listed_mechanism(config_.auth_mechanisms, upper)) {
        error(504, "5.5.4", "Unrecognized authentication mechanism");  // RFC 4954 §4
        return std::nullopt;
    }
    auth_has_data_ = sp != std::string_view::npos;
    if (auth_has_data_ && initial != "=" && !base64_decode(initial, auth_data_)) {
        wipe(auth_data_);
        error(501, "5.5.2", "Cannot decode base64 initial response");  // RFC 4954 §4
        return std::nullopt;
    }
    // "=" is an initial response of zero length (RFC 4954 §4); auth_data_ is already empty.
    auth_mechanism_ = std::move(upper);
    auth_event_ = Event::Authenticate;
    state_ = State::AwaitAuth;
    return Event::Authenticate;
}

Step ServerEngine::step_auth_line(std::string_view input) {
    const CommandLimits limits{
        .max_line = config_.limits.max_auth_line,
        .allow_bare_lf = config_.limits.command.allow_bare_lf,
    };
    const auto pr = parse_command_line(input, limits);
    switch (pr.status) {
        case ParseStatus::NeedMore:
            return {Event::NeedInput, 0, {}};
        case ParseStatus::LineTooLong:
            // RFC 4954 §4 and §6: longer than our authentication buffer → 500 5.5.6.
            end_auth();
            error(500, "5.5.6", "Authentication exchange line is too long");
            if (!pr.terminated) {
                state_ = State::SkipLine;
            }
            return {Event::AuthAborted, pr.consumed, {}};
        case ParseStatus::BadBytes:
            end_auth();
            error(501, "5.5.2", "Invalid characters in authentication response");
            return {Event::AuthAborted, pr.consumed, {}};
        case ParseStatus::Complete:
            break;
    }
    if (pr.line == "*") {
        end_auth();
        error(501, "5.0.0", "Authentication cancelled");  // RFC 4954 §4: "*" cancels → 501
        return {Event::AuthAborted, pr.consumed, {}};
    }
    // An empty line is an empty response (RFC 4954 §4 has no "=" form for responses).
    if (!base64_decode(pr.line, auth_data_)) {
        end_auth();
        error(501, "5.5.2", "Cannot decode base64 response");  // RFC 4954 §4
        return {Event::AuthAborted, pr.consumed, {}};
    }
    auth_has_data_ = true;
    auth_event_ = Event::AuthResponse;
    state_ = State::AwaitAuth;
    return {Event::AuthResponse, pr.consumed, {}};
}

std::optional<std::string_view> ServerEngine::auth_data() const noexcept {
    if (state_ != State::AwaitAuth || !auth_has_data_) {
        return std::nullopt;
    }
    return std::string_view(auth_data_);
}

void ServerEngine::end_auth() {
    wipe(auth_data_);
    auth_has_data_ = false;
    auth_mechanism_.clear();
    state_ = State::Command;
}

void ServerEngine::auth_challenge(std::string_view challenge) {
    if (state_ != State::AwaitAuth) {
        return;
    }
    wipe(auth_data_);
    auth_has_data_ = false;
    // RFC 4954 §4: the challenge is the base64 text alone; "334 " when it is empty.
    reply(334, {}, base64_encode(challenge));
    state_ = State::AuthLine;
}

void ServerEngine::auth_success(std::string identity) {
    if (state_ != State::AwaitAuth) {
        return;
    }
    end_auth();
    set_authenticated(std::move(identity));
    reply(235, "2.7.0", "Authentication successful");  // RFC 4954 §6
}

void ServerEngine::auth_failure(AuthFailure failure) {
    if (state_ != State::AwaitAuth) {
        return;
    }
    end_auth();
    switch (failure) {
        case AuthFailure::Temporary:
            error(454, "4.7.0", "Temporary authentication failure");  // RFC 4954 §6
            return;
        case AuthFailure::InvalidCredentials:
            break;
    }
    error(535, "5.7.8", "Authentication credentials invalid");  // RFC 4954 §6
}

}  // namespace sov::smtp::wire
