#include "roles/inbound_auth.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "accounts/address.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "mailauth/arc_verify.hpp"

namespace sov::roles {

namespace asio = boost::asio;
namespace ma = sov::mailauth;

namespace {

ma::DmarcSpfResult dmarc_spf(ma::SpfResult r) {
    switch (r) {
        case ma::SpfResult::None:
            return ma::DmarcSpfResult::None;
        case ma::SpfResult::Neutral:
            return ma::DmarcSpfResult::Neutral;
        case ma::SpfResult::Pass:
            return ma::DmarcSpfResult::Pass;
        case ma::SpfResult::Fail:
            return ma::DmarcSpfResult::Fail;
        case ma::SpfResult::SoftFail:
            return ma::DmarcSpfResult::SoftFail;
        case ma::SpfResult::TempError:
            return ma::DmarcSpfResult::TempError;
        case ma::SpfResult::PermError:
            return ma::DmarcSpfResult::PermError;
    }
    return ma::DmarcSpfResult::None;
}

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

// The end of the header field starting at `pos` (after its CRLF and continuation lines).
std::size_t field_end(std::string_view message, std::size_t pos) {
    std::size_t end = pos;
    do {
        const auto lf = message.find('\n', end);
        end = lf == std::string_view::npos ? message.size() : lf + 1;
    } while (end < message.size() && is_wsp(message[end]));
    return end;
}

bool starts_with_field(std::string_view message, std::size_t pos, std::string_view name) {
    return message.substr(pos, name.size()) == name;
}

// The pure verification step as a coroutine the worker pool can run; the caller awaits it, so
// the referenced message, requests and keys outlive it.
asio::awaitable<std::vector<ma::DkimVerdict>> verify_signatures(
    std::string_view message,
    const std::vector<ma::DkimKeyRequest>& requests,
    const std::vector<ma::KeyLookup>& keys,
    ma::DkimVerifyOptions options
) {
    co_return ma::verify_dkim_with_keys(message, requests, keys, options);
}

// ARC's counterpart: the chain checked against key records fetched beforehand (no I/O).
asio::awaitable<ma::ArcOutcome> verify_chain(
    ma::StaticDns keys, std::string_view message, ma::ArcVerifyOptions options
) {
    co_return co_await ma::verify_arc(keys, message, options);
}

}  // namespace

asio::awaitable<AuthVerdict> InboundAuthenticator::evaluate(
    smtp::server::SessionInfo session, smtp::wire::Envelope envelope, std::string message
) {
    // One message, one set of settings, whatever a SIGHUP changes meanwhile.
    const InboundAuthSettings settings = settings_.get();
    AuthVerdict verdict;
    boost::system::error_code bad_ip;
    const auto ip = asio::ip::make_address(session.client_ip, bad_ip);

    // SPF for the MAIL FROM identity (RFC 7208 §2.4; for "<>" the HELO identity, §2.3).
    // SPF works on A-labels (RFC 7208 §4.3); an SMTPUTF8 reverse-path may carry U-labels.
    std::string mail_from;
    std::string mail_from_domain(envelope.reverse_path.mailbox.domain);
    if (!envelope.reverse_path.null) {
        if (auto ascii = accounts::normalize_domain(mail_from_domain)) {
            mail_from_domain = ascii->ascii;
        }
        mail_from = smtp::wire::Mailbox{envelope.reverse_path.mailbox.local_part, mail_from_domain}
                        .to_string();
    }
    auto& spf = verdict.spf;
    if (!bad_ip) {
        spf = co_await ma::check_mail_from(dns_, ip, session.helo, mail_from, settings.hostname);
    }
    verdict.spf_domain = mail_from.empty() ? session.helo : mail_from_domain;
    const std::string& spf_domain = verdict.spf_domain;
    {
        // RFC 8601 §2.7.2: the property names the identity SPF evaluated.
        ma::AuthResult r{
            .method = "spf",
            .result = std::string(ma::to_string(spf.result)),
            .reason = spf.problem,
            .properties = {}
        };
        if (mail_from.empty()) {
            r.properties.emplace_back("smtp.helo", session.helo);
        } else {
            r.properties.emplace_back("smtp.mailfrom", mail_from);
        }
        verdict.results.push_back(std::move(r));
    }

    // Every DKIM signature (RFC 6376 §6; RFC 8601 §2.7.1 one resinfo each).
    ma::DkimVerifyOptions dkim_options;
    dkim_options.now = core::now();
    // The lookups here; the CPU work (body hashes, public-key operations) on the worker pool.
    const auto requests = ma::dkim_key_requests(message, dkim_options);
    const auto keys = co_await ma::fetch_dkim_keys(dns_, requests);
    if (pool_ != nullptr) {
        verdict.dkim = co_await asio::co_spawn(
            *pool_, verify_signatures(message, requests, keys, dkim_options), asio::use_awaitable
        );
    } else {
        verdict.dkim = ma::verify_dkim_with_keys(message, requests, keys, dkim_options);
    }
    const auto& dkim = verdict.dkim;
    std::vector<ma::DkimPass> dkim_passes;
    if (dkim.empty()) {
        verdict.results.push_back(
            {.method = "dkim", .result = "none", .reason = "", .properties = {}}
        );
    }
    for (const auto& v : dkim) {
        ma::AuthResult r{
            .method = "dkim",
            .result = std::string(ma::to_string(v.result)),
            .reason = v.reason,
            .properties = {}
        };
        if (!v.domain.empty()) {
            r.properties.emplace_back("header.d", v.domain);
        }
        if (!v.identity.empty()) {
            r.properties.emplace_back("header.i", v.identity);
        }
        if (!v.selector.empty()) {
            r.properties.emplace_back("header.s", v.selector);
        }
        if (!v.algorithm.empty()) {
            r.properties.emplace_back("header.a", v.algorithm);
        }
        if (!v.b_prefix.empty()) {
            r.properties.emplace_back("header.b", v.b_prefix);  // RFC 6008
        }
        verdict.results.push_back(std::move(r));
        if (v.result == ma::DkimResult::Pass) {
            dkim_passes.push_back({.domain = v.domain, .selector = v.selector});
        }
    }

    // The ARC chain (RFC 8617 §5.2), recorded for the mailbox and a later seal of ours.
    ma::ArcVerifyOptions arc_options;
    arc_options.now = core::unix_seconds(core::now());
    ma::ArcOutcome arc;
    // As for DKIM: the key lookups here, the hashing and signature checks on the worker pool.
    std::optional<ma::StaticDns> arc_keys;
    if (pool_ != nullptr) {
        arc_keys = co_await ma::prefetch_arc_keys(dns_, message, arc_options);
    }
    if (arc_keys) {
        arc = co_await asio::co_spawn(
            *pool_, verify_chain(std::move(*arc_keys), message, arc_options), asio::use_awaitable
        );
    } else {
        arc = co_await ma::verify_arc(dns_, message, arc_options);
    }
    {
        ma::AuthResult r{
            .method = "arc",
            .result = std::string(ma::to_string(arc.cv)),
            .reason = arc.reason,
            .properties = {}
        };
        if (arc.cv == ma::ArcResult::Pass) {
            r.properties.emplace_back("header.oldest-pass", std::to_string(arc.oldest_pass));
        }
        if (!session.client_ip.empty()) {
            r.properties.emplace_back("smtp.remote-ip", session.client_ip);
        }
        verdict.results.push_back(std::move(r));
    }

    // DMARC for the From domain (RFC 9989 §5.3).
    const auto authors = ma::author_domains(message);
    ma::AuthResult dmarc_result{
        .method = "dmarc", .result = "none", .reason = "", .properties = {}
    };
    if (authors.status == ma::AuthorDomains::Status::Ok ||
        authors.status == ma::AuthorDomains::Status::MultipleDomains) {
        std::vector<std::string> domains;
        for (const auto& d : authors.domains) {
            auto a_label = accounts::normalize_domain(d);
            domains.push_back(a_label ? a_label->ascii : d);
        }
        ma::DmarcInputs inputs{
            .from_domain = domains.front(),
            .spf_domain = spf_domain.empty() ? std::nullopt : std::optional(spf_domain),
            .spf_result = dmarc_spf(spf.result),
            .dkim = dkim_passes,
        };
        if (domains.size() == 1) {
            verdict.dmarc = co_await ma::evaluate_dmarc(dns_, inputs);
        } else {
            verdict.dmarc = co_await ma::evaluate_dmarc_all(dns_, domains, inputs);
        }
        dmarc_result.result = std::string(ma::to_string(verdict.dmarc.result));
        if (verdict.dmarc.result != ma::DmarcResult::Pass) {
            dmarc_result.reason = verdict.dmarc.reason;
        }
        dmarc_result.properties.emplace_back("header.from", verdict.dmarc.author_domain);
        if (verdict.dmarc.result == ma::DmarcResult::Fail) {
            dmarc_result.properties.emplace_back(
                "policy.dmarc", std::string(ma::to_string(verdict.dmarc.disposition))
            );
        }
    } else {
        dmarc_result.reason = std::string(ma::to_string(authors.status));
    }
    verdict.results.push_back(std::move(dmarc_result));

    // RFC 9989 §5.4 leaves the action to us; by default we only record.
    if (settings.dmarc_enforcement == core::DmarcEnforcement::Reject &&
        verdict.dmarc.result == ma::DmarcResult::Fail &&
        verdict.dmarc.disposition == ma::DmarcPolicy::Reject) {
        verdict.refusal = smtp::wire::Reply{
            550,
            "5.7.1",
            fmt::format(
                "Message rejected: it fails the DMARC policy of {}", verdict.dmarc.author_domain
            )
        };
    }

    verdict.header = ma::format_authentication_results(settings.authserv_id, verdict.results);
    verdict.authserv_id = settings.authserv_id;
    if (recorder_ != nullptr && !verdict.dmarc.rua.empty()) {
        recorder_->record(verdict, session, envelope);
    }
    log::info(
        "mailauth.verdict",
        {{"session", session.id},
         {"spf", ma::to_string(spf.result)},
         {"dkim_signatures", dkim.size()},
         {"dkim_pass", dkim_passes.size()},
         {"arc", ma::to_string(arc.cv)},
         {"dmarc", ma::to_string(verdict.dmarc.result)},
         {"from_domain", verdict.dmarc.author_domain},
         {"refused", verdict.refusal ? "yes" : "no"}}
    );
    co_return verdict;
}

std::string with_authentication_results(
    std::string_view message, std::string_view field, std::string_view authserv_id
) {
    std::size_t pos = 0;
    if (starts_with_field(message, pos, "Return-Path:")) {
        pos = field_end(message, pos);
    }
    if (starts_with_field(message, pos, "Received:")) {
        pos = field_end(message, pos);
    }
    std::string out(message.substr(0, pos));
    out += field;
    out += ma::remove_authentication_results(message.substr(pos), authserv_id);
    return out;
}

}  // namespace sov::roles
