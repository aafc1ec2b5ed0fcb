#include "mailauth/dmarc_failure_report.hpp"

#include <array>
#include <charconv>
#include <new>

#include "mime/date.hpp"
#include "mime/header.hpp"
#include "mime/structure.hpp"
#include "mime/text.hpp"
#include "mime/transfer_encoding.hpp"

namespace sov::mailauth {

namespace {

template <class... T>
constexpr std::array<std::string_view, sizeof...(T)> names(T... s) {
    return {std::string_view(s)...};
}

constexpr auto kFeedbackNames =
    names("abuse", "auth-failure", "fraud", "not-spam", "other", "virus");
constexpr auto kAuthFailureNames =
    names("unspecified", "adsp", "bodyhash", "revoked", "signature", "spf", "dmarc", "other");
constexpr auto kDeliveryNames =
    names("unspecified", "delivered", "spam", "policy", "reject", "other");

template <class E, std::size_t N>
E lookup(const std::array<std::string_view, N>& names, std::string_view s, E fallback) {
    for (std::size_t i = 0; i < N; ++i) {
        if (mime::iequals(names[i], s)) {
            return static_cast<E>(i);
        }
    }
    return fallback;
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
    s = mime::trim(s);
    T v{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

/// The unfolded value with runs of whitespace collapsed to one space.
std::string clean(std::string_view raw) {
    std::string out;
    bool space = false;
    for (const char c : mime::trim(raw)) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            continue;
        }
        if (space && !out.empty()) {
            out += ' ';
        }
        space = false;
        out += c;
    }
    return out;
}

std::string no_space(std::string_view raw) {
    std::string out;
    for (const char c : raw) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            out += c;
        }
    }
    return out;
}

void set_once(std::optional<std::string>& field, std::string value) {
    if (!field) {
        field = std::move(value);
    }
}

/// RFC 9991 §4 item 2: "none" / dkim / spf, comma separated, CFWS allowed. Unknown method
/// names are ignored (a later specification may add some).
IdentityAlignment parse_alignment(std::string_view raw) {
    IdentityAlignment out;
    std::string_view rest = raw;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        auto item = mime::trim(rest.substr(0, comma));
        // Drop a comment "(...)" after the token.
        item = mime::trim(item.substr(0, item.find('(')));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (mime::iequals(item, "none")) {
            out.none = true;
        } else if (mime::iequals(item, "dkim")) {
            out.dkim = true;
        } else if (mime::iequals(item, "spf")) {
            out.spf = true;
        }
    }
    return out;
}

std::string_view skip_leading_empty_lines(std::string_view s) {
    while (!s.empty() &&
           (s.front() == '\r' || s.front() == '\n' || s.front() == ' ' || s.front() == '\t')) {
        // Only whole blank lines: stop at the first printable character.
        s.remove_prefix(1);
    }
    return s;
}

}  // namespace

std::string_view to_string(FeedbackType v) noexcept {
    return kFeedbackNames[static_cast<std::size_t>(v)];
}
std::string_view to_string(AuthFailure v) noexcept {
    return kAuthFailureNames[static_cast<std::size_t>(v)];
}
std::string_view to_string(DeliveryResult v) noexcept {
    return kDeliveryNames[static_cast<std::size_t>(v)];
}

std::string_view to_string(FailureReportStatus v) noexcept {
    switch (v) {
        case FailureReportStatus::Ok:
            return "ok";
        case FailureReportStatus::TooLarge:
            return "too-large";
        case FailureReportStatus::NotArf:
            return "not-arf";
        case FailureReportStatus::MissingField:
            return "missing-field";
        case FailureReportStatus::TooManyFields:
            return "too-many-fields";
    }
    return "?";
}

FailureReportParse parse_feedback_fields(
    std::string_view fields, const FailureReportLimits& limits
) noexcept {
    FailureReportParse out;
    try {
        if (fields.size() > limits.max_fields_bytes) {
            out.status = FailureReportStatus::TooLarge;
            return out;
        }
        const auto list = mime::header_fields(skip_leading_empty_lines(fields));
        if (list.size() > limits.max_fields) {
            out.status = FailureReportStatus::TooManyFields;
            return out;
        }
        auto& r = out.report;
        bool have_type = false;
        bool have_agent = false;
        bool have_version = false;
        for (const auto& f : list) {
            const std::string_view n = f.name;
            std::string v = clean(f.value);
            const auto is = [n](std::string_view name) { return mime::iequals(n, name); };
            // RFC 5965 §3.1.
            if (is("Feedback-Type")) {
                if (!have_type) {
                    have_type = true;
                    r.feedback_type_raw = mime::to_lower(v);
                    r.feedback_type = lookup(kFeedbackNames, v, FeedbackType::Other);
                }
            } else if (is("User-Agent")) {
                if (!have_agent) {
                    have_agent = true;
                    r.user_agent = std::move(v);
                }
            } else if (is("Version")) {
                if (!have_version) {
                    have_version = true;
                    r.version = std::move(v);
                }
                // RFC 5965 §3.2.
            } else if (is("Original-Envelope-Id")) {
                set_once(r.original_envelope_id, std::move(v));
            } else if (is("Original-Mail-From")) {
                set_once(r.original_mail_from, std::move(v));
            } else if (is("Original-Rcpt-To")) {
                r.original_rcpt_to.push_back(std::move(v));
            } else if (is("Arrival-Date") || is("Received-Date")) {
                // Received-Date: the name in early ARF drafts, still sent by some.
                if (!r.arrival_date) {
                    if (const auto date = mime::parse_date(v)) {
                        r.arrival_time = date->unix_time();
                    }
                    r.arrival_date = std::move(v);
                }
            } else if (is("Reporting-MTA")) {
                // RFC 5965 §3.2: mta-name-type ";" mta-name; the name is kept.
                const auto semi = v.find(';');
                set_once(
                    r.reporting_mta,
                    semi == std::string::npos ? v : std::string(mime::trim(v.substr(semi + 1)))
                );
            } else if (is("Source-IP")) {
                // Some reporters add the PTR name: "192.0.2.1 (mail.example)"; the address only.
                set_once(r.source_ip, v.substr(0, v.find_first_of(" (")));
            } else if (is("Source-Port")) {
                if (!r.source_port) {
                    r.source_port = parse_number<std::uint32_t>(v);
                }
            } else if (is("Incidents")) {
                if (!r.incidents) {
                    r.incidents = parse_number<std::uint64_t>(v);
                }
            } else if (is("Authentication-Results")) {
                r.authentication_results.push_back(std::move(v));
            } else if (is("Reported-Domain")) {
                r.reported_domain.push_back(std::move(v));
            } else if (is("Reported-URI")) {
                r.reported_uri.push_back(std::move(v));
                // RFC 6591 §3.1, RFC 9991 §4.
            } else if (is("Auth-Failure")) {
                if (r.auth_failure == AuthFailure::Unspecified) {
                    r.auth_failure = lookup(kAuthFailureNames, v, AuthFailure::Other);
                }
            } else if (is("Delivery-Result")) {
                if (r.delivery_result == DeliveryResult::Unspecified) {
                    r.delivery_result = lookup(kDeliveryNames, v, DeliveryResult::Other);
                }
            } else if (is("Identity-Alignment")) {
                if (!r.identity_alignment) {
                    r.identity_alignment = parse_alignment(v);
                }
            } else if (is("DKIM-Domain")) {
                set_once(r.dkim_domain, std::move(v));
            } else if (is("DKIM-Identity")) {
                set_once(r.dkim_identity, std::move(v));
            } else if (is("DKIM-Selector")) {
                set_once(r.dkim_selector, std::move(v));
            } else if (is("DKIM-Canonicalized-Header")) {
                set_once(r.dkim_canonicalized_header, no_space(f.value));
            } else if (is("DKIM-Canonicalized-Body")) {
                set_once(r.dkim_canonicalized_body, no_space(f.value));
            } else if (is("DKIM-Selector-DNS")) {
                set_once(r.dkim_selector_dns, std::move(v));
            } else if (is("SPF-DNS")) {
                r.spf_dns.push_back(std::move(v));
            }
        }
        out.status = have_type && have_agent && have_version ? FailureReportStatus::Ok
                                                             : FailureReportStatus::MissingField;
        return out;
    } catch (const std::bad_alloc&) {
        out = {};
        out.status = FailureReportStatus::TooLarge;
        return out;
    }
}

FailureReportParse read_failure_report(
    std::string_view message, const FailureReportLimits& limits
) noexcept {
    FailureReportParse out;
    try {
        if (message.size() > limits.max_message_bytes) {
            out.status = FailureReportStatus::TooLarge;
            return out;
        }
        const auto s = mime::parse_message(message);
        const mime::Part* feedback = nullptr;
        const mime::Part* original = nullptr;
        for (const auto& part : s.parts) {
            const auto& ct = part.content_type;
            if (feedback == nullptr && ct.type == "message" && ct.subtype == "feedback-report") {
                feedback = &part;
            } else if (feedback != nullptr && original == nullptr &&
                       ((ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global")
                        ) ||
                        (ct.type == "text" && ct.subtype == "rfc822-headers"))) {
                // RFC 5965 §2 (c): the third part is the reported message or its header.
                original = &part;
            }
        }
        if (feedback == nullptr) {
            out.status = FailureReportStatus::NotArf;
            return out;
        }
        std::string body;
        mime::decode_transfer_encoding(
            mime::classify_transfer_encoding(feedback->transfer_encoding),
            message.substr(feedback->body_offset, feedback->body_size()),
            body
        );
        out = parse_feedback_fields(body, limits);
        if (original != nullptr) {
            std::string text;
            mime::decode_transfer_encoding(
                mime::classify_transfer_encoding(original->transfer_encoding),
                message.substr(original->body_offset, original->body_size()),
                text
            );
            // Only the header block: everything up to the first empty line.
            std::size_t end = text.size();
            for (std::size_t i = 0; i < text.size(); ++i) {
                if (text[i] == '\n' &&
                    (i + 1 == text.size() || text[i + 1] == '\n' ||
                     (text[i + 1] == '\r' && i + 2 < text.size() && text[i + 2] == '\n'))) {
                    end = i + 1;
                    break;
                }
            }
            text.resize(std::min(end, limits.max_original_header_bytes));
            out.report.original_headers = std::move(text);
        }
        return out;
    } catch (const std::bad_alloc&) {
        out = {};
        out.status = FailureReportStatus::TooLarge;
        return out;
    }
}

}  // namespace sov::mailauth
