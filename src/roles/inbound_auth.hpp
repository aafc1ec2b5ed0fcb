#pragma once
// Authentication of mail arriving at the MX (ARCHITECTURE.md §2, the gateway's content checks):
// SPF for the MAIL FROM identity (RFC 7208), every DKIM signature (RFC 6376), the ARC chain
// (RFC 8617) and DMARC for the From domain (RFC 9989), written into one Authentication-Results
// field (RFC 8601). Whether anything is refused is configuration: only a DMARC failure under
// p=reject, and only with `mailauth.dmarc_enforcement = "reject"`.
//
// This is the seam for the gateway's filter pipeline: later filters (spam, virus) read the same
// Verdict and add their own results.
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "mailauth/auth_results.hpp"
#include "mailauth/dkim_verify.hpp"
#include "mailauth/dmarc_policy.hpp"
#include "mailauth/dns_source.hpp"
#include "mailauth/spf_check.hpp"
#include "roles/settings_slot.hpp"
#include "smtp/server/inbound_handler.hpp"

namespace sov::roles {

struct InboundAuthSettings {
    std::string authserv_id;  // RFC 8601 §2.5
    std::string hostname;     // %{r} in SPF explanations (RFC 7208 §7.2)
    core::DmarcEnforcement dmarc_enforcement = core::DmarcEnforcement::Record;
    /// Where DKIM's hashing and signature checks run, off the session's I/O thread (null:
    /// inline, for tests).
    boost::asio::thread_pool* pool = nullptr;
};

struct AuthVerdict {
    std::vector<mailauth::AuthResult> results;  // spf, dkim (one per signature), arc, dmarc
    std::string header;                         // the Authentication-Results field, with CRLF
    std::string authserv_id;                    // the one `header` names
    std::optional<smtp::wire::Reply> refusal;   // set: refuse the message with this reply

    // What was found, for DMARC aggregate reports (RFC 9990 §3.1) and later filters.
    mailauth::SpfOutcome spf;
    std::string spf_domain;  // the identity SPF checked: MAIL FROM domain, or HELO for "<>"
    std::vector<mailauth::DkimVerdict> dkim;
    mailauth::DmarcOutcome dmarc;
};

/// Receives every verdict that evaluated a DMARC policy with aggregate-report addresses (rua),
/// to be aggregated into the daily reports. Called on the session's thread: must not block.
class DmarcRecorder {
public:
    virtual ~DmarcRecorder() = default;
    virtual void record(
        const AuthVerdict& verdict,
        const smtp::server::SessionInfo& session,
        const smtp::wire::Envelope& envelope
    ) = 0;
};

class InboundAuthenticator {
public:
    InboundAuthenticator(mailauth::DnsSource& dns, InboundAuthSettings settings)
        : dns_(dns), pool_(settings.pool), settings_(std::move(settings)) {}

    /// Checks one message as received from `session` with `envelope`.
    boost::asio::awaitable<AuthVerdict> evaluate(
        smtp::server::SessionInfo session, smtp::wire::Envelope envelope, std::string message
    );

    /// SIGHUP: messages whose evaluation starts from now on use `settings` (the pool stays the
    /// one given at construction).
    void reload(InboundAuthSettings settings) { settings_.set(std::move(settings)); }

    /// Where verdicts with a DMARC policy asking for reports go (null: nowhere).
    void set_recorder(DmarcRecorder* recorder) { recorder_ = recorder; }

private:
    mailauth::DnsSource& dns_;
    boost::asio::thread_pool* pool_;
    SettingsSlot<InboundAuthSettings> settings_;  // evaluations run on many threads, reload on one
    DmarcRecorder* recorder_ = nullptr;
};

/// `message` with the Authentication-Results fields claiming `authserv_id` removed and `field`
/// inserted right below the trace fields this hop added (Return-Path, then our Received), where
/// a reader of the header expects the results of this hop (RFC 8601 §4.1).
[[nodiscard]] std::string with_authentication_results(
    std::string_view message, std::string_view field, std::string_view authserv_id
);

}  // namespace sov::roles
