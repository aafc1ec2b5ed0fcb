#include "mailauth/dmarc_report.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "mailauth/dkim_tags.hpp"
#include "mailauth/dns_source.hpp"
#include "mime/header.hpp"
#include "mime/structure.hpp"
#include "mime/transfer_encoding.hpp"

namespace sov::mailauth {

namespace {

class ReportCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "dmarc-report"; }
    std::string message(int ev) const override {
        switch (static_cast<ReportErrc>(ev)) {
            case ReportErrc::Ok:
                return "ok";
            case ReportErrc::TooLarge:
                return "report too large";
            case ReportErrc::TooManyRecords:
                return "too many records in report";
            case ReportErrc::NotXml:
                return "report is not XML";
            case ReportErrc::HasDtd:
                return "report has a DOCTYPE";
            case ReportErrc::NotFeedback:
                return "not a DMARC feedback document";
            case ReportErrc::MissingField:
                return "report lacks a required field";
            case ReportErrc::BadValue:
                return "report has an invalid value";
            case ReportErrc::BadGzip:
                return "bad gzip data";
            case ReportErrc::BadZip:
                return "bad or unsupported zip data";
            case ReportErrc::NoReport:
                return "no report attachment";
        }
        return "unknown dmarc-report error";
    }
};

}  // namespace

const std::error_category& report_category() noexcept {
    static const ReportCategory category;
    return category;
}

// ---- enumerations ---------------------------------------------------------------------------

namespace {

template <class... T>
constexpr std::array<std::string_view, sizeof...(T)> names(T... s) {
    return {std::string_view(s)...};
}

constexpr auto kPolicyNames = names("none", "quarantine", "reject");
constexpr auto kDispositionNames = names("none", "pass", "quarantine", "reject");
constexpr auto kAlignmentNames = names("r", "s");
constexpr auto kDiscoveryNames = names("psl", "treewalk");
constexpr auto kAlignedNames = names("pass", "fail");
constexpr auto kOverrideNames =
    names("local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder");
constexpr auto kDkimNames =
    names("none", "pass", "fail", "policy", "neutral", "temperror", "permerror");
constexpr auto kSpfNames =
    names("none", "pass", "fail", "softfail", "policy", "neutral", "temperror", "permerror");
constexpr auto kScopeNames = names("mfrom", "helo");

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E v) noexcept {
    const auto i = static_cast<std::size_t>(v);
    return i < N ? names[i] : std::string_view{"?"};
}

template <class E, std::size_t N>
std::optional<E> parse_enum(const std::array<std::string_view, N>& names, std::string_view s) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == s) {
            return static_cast<E>(i);
        }
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(ReportPolicy v) noexcept {
    return name_of(kPolicyNames, v);
}
std::string_view to_string(ReportDisposition v) noexcept {
    return name_of(kDispositionNames, v);
}
std::string_view to_string(ReportAlignment v) noexcept {
    return name_of(kAlignmentNames, v);
}
std::string_view to_string(DiscoveryMethod v) noexcept {
    return name_of(kDiscoveryNames, v);
}
std::string_view to_string(AlignedResult v) noexcept {
    return name_of(kAlignedNames, v);
}
std::string_view to_string(OverrideType v) noexcept {
    return name_of(kOverrideNames, v);
}
std::string_view to_string(ReportDkimResult v) noexcept {
    return name_of(kDkimNames, v);
}
std::string_view to_string(ReportSpfResult v) noexcept {
    return name_of(kSpfNames, v);
}
std::string_view to_string(SpfScope v) noexcept {
    return name_of(kScopeNames, v);
}

// ---- writer ---------------------------------------------------------------------------------

namespace {

/// Appends `s` as XML character data: markup characters escaped, characters XML 1.0 cannot
/// carry (C0 controls other than TAB/LF/CR) dropped, invalid UTF-8 replaced by U+FFFD.
void append_escaped(std::string& out, std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                case '\'':
                    out += "&apos;";
                    break;
                case '\t':
                case '\n':
                    out += static_cast<char>(c);
                    break;
                case '\r':
                    out += "&#13;";
                    break;  // a literal CR would be normalised away
                default:
                    if (c >= 0x20 && c != 0x7F) {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if ((c & 0xE0U) == 0xC0U) {
            len = 2;
            cp = c & 0x1FU;
        } else if ((c & 0xF0U) == 0xE0U) {
            len = 3;
            cp = c & 0x0FU;
        } else if ((c & 0xF8U) == 0xF0U) {
            len = 4;
            cp = c & 0x07U;
        }
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            ok = (cc & 0xC0U) == 0x80U;
            cp = (cp << 6U) | (cc & 0x3FU);
        }
        // Overlong forms, surrogates, beyond U+10FFFF and the non-characters U+FFFE/U+FFFF are
        // not XML characters.
        static constexpr std::array<std::uint32_t, 5> kMin{0, 0, 0x80, 0x800, 0x10000};
        ok = ok && cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF) &&
             cp != 0xFFFE && cp != 0xFFFF;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
}

void element(std::string& out, int indent, std::string_view name, std::string_view value) {
    out.append(static_cast<std::size_t>(indent) * 2, ' ');
    out += '<';
    out += name;
    out += '>';
    append_escaped(out, value);
    out += "</";
    out += name;
    out += ">\n";
}

void open(std::string& out, int indent, std::string_view name) {
    out.append(static_cast<std::size_t>(indent) * 2, ' ');
    out += '<';
    out += name;
    out += ">\n";
}

void close(std::string& out, int indent, std::string_view name) {
    out.append(static_cast<std::size_t>(indent) * 2, ' ');
    out += "</";
    out += name;
    out += ">\n";
}

void optional_element(
    std::string& out, int indent, std::string_view name, const std::optional<std::string>& v
) {
    if (v) {
        element(out, indent, name, *v);
    }
}

}  // namespace

std::string write_aggregate_report(const AggregateReport& report) {
    std::string out;
    out.reserve(1024 + report.records.size() * 600);
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    // RFC 9990 §3.1.1.1: root "feedback" in the DMARC namespace; §3.1.1.2: version 1.0.
    out += "<feedback xmlns=\"";
    out += kDmarcNamespace;
    out += "\">\n";
    element(out, 1, "version", "1.0");

    const auto& md = report.metadata;
    open(out, 1, "report_metadata");
    element(out, 2, "org_name", md.org_name);
    element(out, 2, "email", md.email);
    optional_element(out, 2, "extra_contact_info", md.extra_contact_info);
    element(out, 2, "report_id", md.report_id);
    open(out, 2, "date_range");
    element(out, 3, "begin", std::to_string(md.date_range.begin));
    element(out, 3, "end", std::to_string(md.date_range.end));
    close(out, 2, "date_range");
    // The schema allows one <error>; several RFC 7489 errors are joined.
    if (!md.errors.empty()) {
        std::string joined;
        for (const auto& e : md.errors) {
            if (!joined.empty()) {
                joined += "; ";
            }
            joined += e;
        }
        element(out, 2, "error", joined);
    }
    optional_element(out, 2, "generator", md.generator);
    close(out, 1, "report_metadata");

    // §3.1.1.5 order.
    const auto& pp = report.policy;
    open(out, 1, "policy_published");
    element(out, 2, "domain", pp.domain);
    if (pp.discovery_method) {
        element(out, 2, "discovery_method", to_string(*pp.discovery_method));
    }
    element(out, 2, "p", to_string(pp.p));
    if (pp.sp) {
        element(out, 2, "sp", to_string(*pp.sp));
    }
    if (pp.np) {
        element(out, 2, "np", to_string(*pp.np));
    }
    optional_element(out, 2, "fo", pp.fo);
    if (pp.adkim) {
        element(out, 2, "adkim", to_string(*pp.adkim));
    }
    if (pp.aspf) {
        element(out, 2, "aspf", to_string(*pp.aspf));
    }
    if (pp.testing) {
        element(out, 2, "testing", *pp.testing ? "y" : "n");
    }
    close(out, 1, "policy_published");

    for (const auto& r : report.records) {
        open(out, 1, "record");
        open(out, 2, "row");
        element(out, 3, "source_ip", r.source_ip.to_string());
        element(out, 3, "count", std::to_string(r.count));
        // §3.1.1.9: disposition, dkim, spf, reason* in this order (xs:sequence).
        open(out, 3, "policy_evaluated");
        element(out, 4, "disposition", to_string(r.policy_evaluated.disposition));
        element(out, 4, "dkim", to_string(r.policy_evaluated.dkim));
        element(out, 4, "spf", to_string(r.policy_evaluated.spf));
        for (const auto& reason : r.policy_evaluated.reasons) {
            open(out, 4, "reason");
            element(out, 5, "type", to_string(reason.type));
            optional_element(out, 5, "comment", reason.comment);
            close(out, 4, "reason");
        }
        close(out, 3, "policy_evaluated");
        close(out, 2, "row");
        open(out, 2, "identifiers");
        element(out, 3, "header_from", r.identifiers.header_from);
        optional_element(out, 3, "envelope_from", r.identifiers.envelope_from);
        optional_element(out, 3, "envelope_to", r.identifiers.envelope_to);
        close(out, 2, "identifiers");
        // §3.1.1.11: dkim* then spf? (xs:sequence).
        open(out, 2, "auth_results");
        for (const auto& d : r.dkim) {
            open(out, 3, "dkim");
            element(out, 4, "domain", d.domain);
            element(out, 4, "selector", d.selector);
            element(out, 4, "result", to_string(d.result));
            optional_element(out, 4, "human_result", d.human_result);
            close(out, 3, "dkim");
        }
        if (!r.spf.empty()) {
            const auto& s = r.spf.front();
            open(out, 3, "spf");
            element(out, 4, "domain", s.domain);
            // §3.1.1.13: "mfrom" is the only valid scope; a helo result is written unscoped.
            if (s.scope == SpfScope::MailFrom) {
                element(out, 4, "scope", "mfrom");
            }
            element(out, 4, "result", to_string(s.result));
            optional_element(out, 4, "human_result", s.human_result);
            close(out, 3, "spf");
        }
        close(out, 2, "auth_results");
        close(out, 1, "record");
    }
    out += "</feedback>\n";
    return out;
}

// ---- reader ---------------------------------------------------------------------------------

namespace {

void init_libxml() noexcept {
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
}

struct DocDeleter {
    void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

std::string_view local_name(const xmlNode* n) noexcept {
    return n->name != nullptr ? std::string_view(reinterpret_cast<const char*>(n->name))
                              : std::string_view{};
}

std::string_view ns_of(const xmlNode* n) noexcept {
    return n->ns != nullptr && n->ns->href != nullptr
               ? std::string_view(reinterpret_cast<const char*>(n->ns->href))
               : std::string_view{};
}

class Reader {
public:
    Reader(std::string_view ns, const ReportLimits& limits) : ns_(ns), limits_(limits) {}

    /// Element children in the report's namespace or none (others are extensions: ignored,
    /// RFC 9990 §3.2).
    template <class F>
    void for_children(const xmlNode* parent, F&& f) const {
        for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
            // A prefixed root (<d:feedback xmlns:d=...>) may have unprefixed children.
            if (c->type == XML_ELEMENT_NODE && (ns_of(c) == ns_ || ns_of(c).empty())) {
                f(local_name(c), c);
            }
        }
    }

    const xmlNode* child(const xmlNode* parent, std::string_view name) const {
        const xmlNode* found = nullptr;
        for_children(parent, [&](std::string_view n, const xmlNode* c) {
            if (found == nullptr && n == name) {
                found = c;
            }
        });
        return found;
    }

    /// Text content, trimmed. Only text and CDATA nodes count: entity references are never
    /// expanded (no DTD is accepted anyway).
    static std::string text(const xmlNode* n) {
        std::string out;
        append_text(n, out, 0);
        return std::string(mime::trim(out));
    }

    std::optional<std::string> opt_text(const xmlNode* parent, std::string_view name) const {
        const xmlNode* c = child(parent, name);
        if (c == nullptr) {
            return std::nullopt;
        }
        return text(c);
    }

    /// Present and non-empty.
    std::optional<std::string> value(const xmlNode* parent, std::string_view name) const {
        auto v = opt_text(parent, name);
        if (v && v->empty()) {
            return std::nullopt;
        }
        return v;
    }

    std::string_view ns_;
    const ReportLimits& limits_;

private:
    static void append_text(const xmlNode* n, std::string& out, int depth) {
        if (depth > 8) {
            return;
        }
        for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
            if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
                c->content != nullptr) {
                out += reinterpret_cast<const char*>(c->content);
            } else if (c->type == XML_ELEMENT_NODE) {
                // Recovery mode may turn "<a@b>" in a text into an element: keep its text.
                append_text(c, out, depth + 1);
            }
        }
    }
};

template <class T>
bool parse_int(std::string_view s, T& out) {
    s = mime::trim(s);
    // Some generators write "1536105600.0"; the fraction is dropped when it is all zeros.
    if (const auto dot = s.find('.'); dot != std::string_view::npos) {
        const auto frac = s.substr(dot + 1);
        if (!std::all_of(frac.begin(), frac.end(), [](char c) { return c == '0'; })) {
            return false;
        }
        s = s.substr(0, dot);
    }
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
    }
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size();
}

template <class E, std::size_t N>
Result<std::optional<E>> opt_enum(
    const Reader& r,
    const xmlNode* parent,
    std::string_view name,
    const std::array<std::string_view, N>& names
) {
    const auto v = r.value(parent, name);
    if (!v) {
        return std::optional<E>{};
    }
    auto e = parse_enum<E>(names, *v);
    if (!e) {
        return ReportErrc::BadValue;
    }
    return std::optional<E>{*e};
}

template <class E, std::size_t N>
Result<E> req_enum(
    const Reader& r,
    const xmlNode* parent,
    std::string_view name,
    const std::array<std::string_view, N>& names
) {
    auto v = opt_enum<E>(r, parent, name, names);
    if (!v) {
        return v.error();
    }
    if (!*v) {
        return ReportErrc::MissingField;
    }
    return **v;
}

Result<ReportMetadata> read_metadata(const Reader& r, const xmlNode* node) {
    ReportMetadata md;
    md.org_name = r.opt_text(node, "org_name").value_or("");
    md.email = r.opt_text(node, "email").value_or("");
    md.extra_contact_info = r.value(node, "extra_contact_info");
    auto id = r.value(node, "report_id");
    if (!id) {
        return ReportErrc::MissingField;
    }
    md.report_id = std::move(*id);
    const xmlNode* range = r.child(node, "date_range");
    if (range == nullptr) {
        return ReportErrc::MissingField;
    }
    const auto begin = r.value(range, "begin");
    const auto end = r.value(range, "end");
    if (!begin || !end) {
        return ReportErrc::MissingField;
    }
    if (!parse_int(*begin, md.date_range.begin) || !parse_int(*end, md.date_range.end)) {
        return ReportErrc::BadValue;
    }
    r.for_children(node, [&](std::string_view n, const xmlNode* c) {
        if (n == "error") {
            if (auto t = Reader::text(c); !t.empty()) {
                md.errors.push_back(std::move(t));
            }
        }
    });
    md.generator = r.value(node, "generator");
    return md;
}

Result<PolicyPublished> read_policy(const Reader& r, const xmlNode* node) {
    PolicyPublished pp;
    auto domain = r.value(node, "domain");
    if (!domain) {
        return ReportErrc::MissingField;
    }
    pp.domain = std::move(*domain);
    auto dm = opt_enum<DiscoveryMethod>(r, node, "discovery_method", kDiscoveryNames);
    auto p = req_enum<ReportPolicy>(r, node, "p", kPolicyNames);
    auto sp = opt_enum<ReportPolicy>(r, node, "sp", kPolicyNames);
    auto np = opt_enum<ReportPolicy>(r, node, "np", kPolicyNames);
    auto adkim = opt_enum<ReportAlignment>(r, node, "adkim", kAlignmentNames);
    auto aspf = opt_enum<ReportAlignment>(r, node, "aspf", kAlignmentNames);
    if (!dm || !p || !sp || !np || !adkim || !aspf) {
        for (const std::error_code ec :
             {dm.error(), p.error(), sp.error(), np.error(), adkim.error(), aspf.error()}) {
            if (ec) {
                return ec;
            }
        }
    }
    pp.discovery_method = *dm;
    pp.p = *p;
    pp.sp = *sp;
    pp.np = *np;
    pp.adkim = *adkim;
    pp.aspf = *aspf;
    pp.fo = r.value(node, "fo");
    if (const auto t = r.value(node, "testing")) {
        if (*t != "y" && *t != "n") {
            return ReportErrc::BadValue;
        }
        pp.testing = *t == "y";
    }
    if (const auto pct = r.value(node, "pct")) {
        std::uint32_t v = 0;
        if (!parse_int(*pct, v) || v > 100) {
            return ReportErrc::BadValue;
        }
        pp.pct = v;
    }
    return pp;
}

Result<OverrideReason> read_reason(const Reader& r, const xmlNode* node) {
    OverrideReason reason;
    const auto type = r.value(node, "type").value_or("");
    if (type.empty()) {
        reason.type = OverrideType::Other;  // parsedmarc's empty_reason.xml: empty <type/>
    } else if (auto t = parse_enum<OverrideType>(kOverrideNames, type)) {
        reason.type = *t;
    } else if (type == "forwarded") {  // RFC 7489 Appendix C
        reason.type = OverrideType::TrustedForwarder;
    } else if (type == "sampled_out") {  // RFC 7489 "pct" sampling; RFC 9990 has no pct
        reason.type = OverrideType::Other;
    } else {
        return ReportErrc::BadValue;
    }
    reason.comment = r.value(node, "comment");
    return reason;
}

Result<ReportRecord> read_record(const Reader& r, const xmlNode* node) {
    ReportRecord rec;
    const xmlNode* row = r.child(node, "row");
    if (row == nullptr) {
        return ReportErrc::MissingField;
    }
    const auto ip = r.value(row, "source_ip");
    const auto count = r.value(row, "count");
    if (!ip || !count) {
        return ReportErrc::MissingField;
    }
    boost::system::error_code ec;
    rec.source_ip = boost::asio::ip::make_address(*ip, ec);
    if (ec || !parse_int(*count, rec.count)) {
        return ReportErrc::BadValue;
    }
    const xmlNode* pe = r.child(row, "policy_evaluated");
    if (pe == nullptr) {
        return ReportErrc::MissingField;
    }
    auto disp = req_enum<ReportDisposition>(r, pe, "disposition", kDispositionNames);
    if (!disp) {
        return disp.error();
    }
    rec.policy_evaluated.disposition = *disp;
    // A missing aligned result is a fail: nothing aligned was reported.
    auto dkim = opt_enum<AlignedResult>(r, pe, "dkim", kAlignedNames);
    auto spf = opt_enum<AlignedResult>(r, pe, "spf", kAlignedNames);
    if (!dkim || !spf) {
        return ReportErrc::BadValue;
    }
    rec.policy_evaluated.dkim = dkim->value_or(AlignedResult::Fail);
    rec.policy_evaluated.spf = spf->value_or(AlignedResult::Fail);
    std::error_code failed;
    r.for_children(pe, [&](std::string_view n, const xmlNode* c) {
        if (n != "reason" || failed) {
            return;
        }
        auto reason = read_reason(r, c);
        if (!reason) {
            failed = reason.error();
        } else {
            rec.policy_evaluated.reasons.push_back(std::move(*reason));
        }
    });
    if (failed) {
        return failed;
    }

    const xmlNode* ids = r.child(node, "identifiers");
    if (ids == nullptr) {
        return ReportErrc::MissingField;
    }
    auto header_from = r.value(ids, "header_from");
    if (!header_from) {
        return ReportErrc::MissingField;
    }
    rec.identifiers.header_from = std::move(*header_from);
    rec.identifiers.envelope_from = r.opt_text(ids, "envelope_from");
    rec.identifiers.envelope_to = r.value(ids, "envelope_to");

    if (const xmlNode* auth = r.child(node, "auth_results"); auth != nullptr) {
        r.for_children(auth, [&](std::string_view n, const xmlNode* c) {
            if (failed) {
                return;
            }
            if (n == "dkim") {
                DkimAuthResult d;
                d.domain = r.opt_text(c, "domain").value_or("");
                d.selector = r.opt_text(c, "selector").value_or("");
                auto res = opt_enum<ReportDkimResult>(r, c, "result", kDkimNames);
                if (!res) {
                    failed = res.error();
                    return;
                }
                d.result = res->value_or(ReportDkimResult::None);
                d.human_result = r.value(c, "human_result");
                rec.dkim.push_back(std::move(d));
            } else if (n == "spf") {
                SpfAuthResult s;
                s.domain = r.opt_text(c, "domain").value_or("");
                auto scope = opt_enum<SpfScope>(r, c, "scope", kScopeNames);
                auto res = opt_enum<ReportSpfResult>(r, c, "result", kSpfNames);
                if (!scope || !res) {
                    failed = ReportErrc::BadValue;
                    return;
                }
                s.scope = *scope;
                s.result = res->value_or(ReportSpfResult::None);
                s.human_result = r.value(c, "human_result");
                rec.spf.push_back(std::move(s));
            }
        });
        if (failed) {
            return failed;
        }
    }
    return rec;
}

Result<AggregateReport> read_tree(const xmlNode* root, const ReportLimits& limits) {
    AggregateReport report;
    report.version.clear();
    const auto ns = ns_of(root);
    report.rfc9990_namespace = ns == kDmarcNamespace;
    const Reader r(ns, limits);
    if (auto v = r.value(root, "version")) {
        report.version = std::move(*v);
    }
    const xmlNode* md = r.child(root, "report_metadata");
    const xmlNode* pp = r.child(root, "policy_published");
    if (md == nullptr || pp == nullptr) {
        return ReportErrc::MissingField;
    }
    auto metadata = read_metadata(r, md);
    if (!metadata) {
        return metadata.error();
    }
    report.metadata = std::move(*metadata);
    auto policy = read_policy(r, pp);
    if (!policy) {
        return policy.error();
    }
    report.policy = std::move(*policy);
    std::error_code failed;
    r.for_children(root, [&](std::string_view n, const xmlNode* c) {
        if (n != "record" || failed) {
            return;
        }
        if (report.records.size() >= limits.max_records) {
            failed = ReportErrc::TooManyRecords;
            return;
        }
        auto rec = read_record(r, c);
        if (!rec) {
            failed = rec.error();
        } else {
            report.records.push_back(std::move(*rec));
        }
    });
    if (failed) {
        return failed;
    }
    // RFC 9990 §3.1.1.2: at least one record. (Reports with none exist in the wild; an empty
    // list is kept rather than the report refused: it still says the reporter saw nothing.)
    return report;
}

const xmlNode* find_feedback(const xmlNode* node, int depth) noexcept {
    if (depth > 4) {
        return nullptr;
    }
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (local_name(c) == "feedback") {
            return c;
        }
        if (const xmlNode* found = find_feedback(c, depth + 1)) {
            return found;
        }
    }
    return nullptr;
}

}  // namespace

Result<AggregateReport> read_aggregate_report(
    std::string_view xml, const ReportLimits& limits
) noexcept {
    try {
        if (xml.size() > limits.max_bytes || xml.size() > static_cast<std::size_t>(INT_MAX)) {
            return ReportErrc::TooLarge;
        }
        // Reports never have a DOCTYPE; refusing it before parsing keeps entity declarations
        // (billion laughs, external entities) away from libxml2 altogether. (A UTF-16 document
        // escapes this search; the check after parsing catches it.)
        if (xml.find("<!DOCTYPE") != std::string_view::npos) {
            return ReportErrc::HasDtd;
        }
        init_libxml();
        // No network, no DTD loading, no entity substitution (XML_PARSE_NOENT is NOT given),
        // no huge-node relaxation; errors not printed.
        constexpr int kBase = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                              XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS;
        bool recovered = false;
        DocPtr doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, kBase)
        );
        if (!doc) {
            doc.reset(xmlReadMemory(
                xml.data(),
                static_cast<int>(xml.size()),
                nullptr,
                nullptr,
                kBase | XML_PARSE_RECOVER
            ));
            recovered = true;
        }
        if (!doc) {
            return ReportErrc::NotXml;
        }
        if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
            return ReportErrc::HasDtd;
        }
        const xmlNode* root = xmlDocGetRootElement(doc.get());
        if (root == nullptr) {
            return ReportErrc::NotXml;
        }
        if (recovered && local_name(root) != "feedback") {
            // Some senders wrap the report in junk (parsedmarc's ikea.com sample starts with an
            // unclosed <xs:schema>); in recovery mode the first <feedback> below is used.
            root = find_feedback(root, 0);
            if (root == nullptr) {
                return ReportErrc::NotFeedback;
            }
        }
        const auto ns = ns_of(root);
        if (local_name(root) != "feedback" || (!ns.empty() && ns != kDmarcNamespace)) {
            return ReportErrc::NotFeedback;
        }
        auto report = read_tree(root, limits);
        if (report) {
            report->recovered = recovered;
        }
        return report;
    } catch (const std::bad_alloc&) {
        return ReportErrc::TooLarge;
    }
}

// ---- compression ----------------------------------------------------------------------------

std::string gzip(std::string_view data) {
    z_stream zs{};
    // 15 + 16: gzip wrapper with zlib's default header (no name, mtime 0): deterministic.
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return {};
    }
    std::string out;
    out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? out : std::string{};
}

namespace {

/// Inflates with the given windowBits; stops at the end of the stream (gzip: of all members).
Result<std::string> inflate_all(
    std::string_view data, int window_bits, std::size_t limit, ReportErrc bad, bool members
) noexcept {
    try {
        z_stream zs{};
        if (inflateInit2(&zs, window_bits) != Z_OK) {
            return bad;
        }
        std::string out;
        std::array<char, 16384> buf{};
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        zs.avail_in = static_cast<uInt>(std::min<std::size_t>(data.size(), UINT_MAX));
        int rc = Z_OK;
        for (;;) {
            zs.next_out = reinterpret_cast<Bytef*>(buf.data());
            zs.avail_out = static_cast<uInt>(buf.size());
            rc = inflate(&zs, Z_NO_FLUSH);
            const std::size_t produced = buf.size() - zs.avail_out;
            if (out.size() + produced > limit) {
                inflateEnd(&zs);
                return ReportErrc::TooLarge;
            }
            out.append(buf.data(), produced);
            if (rc == Z_STREAM_END) {
                // RFC 1952 §2.2: a gzip file may hold several members; trailing zero padding
                // (seen from some senders) is ignored.
                const bool more =
                    members && zs.avail_in >= 2 && zs.next_in[0] == 0x1F && zs.next_in[1] == 0x8B;
                if (!more) {
                    break;
                }
                inflateReset(&zs);
                continue;
            }
            if (rc != Z_OK || (produced == 0 && zs.avail_in == 0)) {
                inflateEnd(&zs);
                return bad;
            }
        }
        inflateEnd(&zs);
        return out;
    } catch (const std::bad_alloc&) {
        return ReportErrc::TooLarge;
    }
}

std::uint32_t le16(std::string_view d, std::size_t at) noexcept {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(d[at])) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + 1])) << 8U);
}

std::uint32_t le32(std::string_view d, std::size_t at) noexcept {
    return le16(d, at) | (le16(d, at + 2) << 16U);
}

bool ends_with_icase(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && mime::iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

Result<std::string> gunzip(std::string_view data, std::size_t limit) noexcept {
    if (data.size() < 18 || static_cast<unsigned char>(data[0]) != 0x1F ||
        static_cast<unsigned char>(data[1]) != 0x8B) {
        return ReportErrc::BadGzip;
    }
    return inflate_all(data, 15 + 16, limit, ReportErrc::BadGzip, true);
}

Result<std::string> unzip_first_xml(std::string_view data, std::size_t limit) noexcept {
    // APPNOTE.TXT: end of central directory record (22 bytes + comment up to 65535).
    constexpr std::uint32_t kEocd = 0x06054b50;
    constexpr std::uint32_t kCentral = 0x02014b50;
    constexpr std::uint32_t kLocal = 0x04034b50;
    if (data.size() < 22) {
        return ReportErrc::BadZip;
    }
    std::size_t eocd = std::string_view::npos;
    const std::size_t lowest = data.size() > 22 + 65535 ? data.size() - 22 - 65535 : 0;
    for (std::size_t i = data.size() - 22 + 1; i-- > lowest;) {
        if (le32(data, i) == kEocd) {
            eocd = i;
            break;
        }
    }
    if (eocd == std::string_view::npos || le16(data, eocd + 4) != 0 || le16(data, eocd + 6) != 0) {
        return ReportErrc::BadZip;  // not found, or multi-disk
    }
    const std::size_t entries = le16(data, eocd + 10);
    std::size_t pos = le32(data, eocd + 16);
    struct Entry {
        std::uint32_t method, flags, csize, usize, local;
        std::string_view name;
    };
    std::optional<Entry> chosen;
    for (std::size_t e = 0; e < entries && e < 1000; ++e) {
        if (pos > data.size() || data.size() - pos < 46 || le32(data, pos) != kCentral) {
            return ReportErrc::BadZip;
        }
        const Entry entry{
            le16(data, pos + 10),
            le16(data, pos + 8),
            le32(data, pos + 20),
            le32(data, pos + 24),
            le32(data, pos + 42),
            {}
        };
        const std::size_t name_len = le16(data, pos + 28);
        const std::size_t skip = 46 + name_len + le16(data, pos + 30) + le16(data, pos + 32);
        if (data.size() - pos < skip) {
            return ReportErrc::BadZip;
        }
        auto with_name = entry;
        with_name.name = data.substr(pos + 46, name_len);
        if (!chosen ||
            (!ends_with_icase(chosen->name, ".xml") && ends_with_icase(with_name.name, ".xml"))) {
            chosen = with_name;
        }
        pos += skip;
    }
    if (!chosen || (chosen->flags & 1U) != 0 || chosen->csize == 0xFFFFFFFFU ||
        chosen->local == 0xFFFFFFFFU) {
        return ReportErrc::BadZip;  // empty, encrypted, or zip64
    }
    const std::size_t local = chosen->local;
    if (local > data.size() || data.size() - local < 30 || le32(data, local) != kLocal) {
        return ReportErrc::BadZip;
    }
    const std::size_t start = local + 30 + le16(data, local + 26) + le16(data, local + 28);
    if (start > data.size() || data.size() - start < chosen->csize) {
        return ReportErrc::BadZip;
    }
    const auto body = data.substr(start, chosen->csize);
    if (chosen->usize > limit) {
        return ReportErrc::TooLarge;
    }
    if (chosen->method == 0) {
        return std::string(body);
    }
    if (chosen->method != 8) {
        return ReportErrc::BadZip;
    }
    return inflate_all(body, -15, limit, ReportErrc::BadZip, false);
}

Result<std::string> decode_report_file(std::string_view data, std::size_t limit) noexcept {
    try {
        if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1F &&
            static_cast<unsigned char>(data[1]) == 0x8B) {
            return gunzip(data, limit);
        }
        if (data.size() >= 4 && data.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
            return unzip_first_xml(data, limit);
        }
        if (data.size() > limit) {
            return ReportErrc::TooLarge;
        }
        return std::string(data);
    } catch (const std::bad_alloc&) {
        return ReportErrc::TooLarge;
    }
}

// ---- email ----------------------------------------------------------------------------------

namespace {

bool report_media_type(const mime::Part& part) {
    const auto& ct = part.content_type;
    const std::string sub = ct.subtype;
    if (ct.type == "application") {
        if (sub == "gzip" || sub == "x-gzip" || sub == "zip" || sub == "x-zip-compressed" ||
            sub == "x-zip" || sub == "xml") {
            return true;
        }
    }
    if (ct.type == "text" && sub == "xml") {
        return true;
    }
    // Generic types: go by the file name (Amazon SES sends application/octet-stream).
    const std::string* name = part.disposition.param("filename");
    if (name == nullptr) {
        name = ct.param("name");
    }
    if (name == nullptr) {
        return false;
    }
    return ends_with_icase(*name, ".xml") || ends_with_icase(*name, ".gz") ||
           ends_with_icase(*name, ".zip");
}

}  // namespace

Result<std::string> extract_report_xml(
    std::string_view message, const ReportLimits& limits
) noexcept {
    try {
        if (message.size() > limits.max_message_bytes) {
            return ReportErrc::TooLarge;
        }
        const auto structure = mime::parse_message(message);
        std::error_code last = ReportErrc::NoReport;
        for (const auto& part : structure.parts) {
            if (part.first_child != mime::kNoIndex || !report_media_type(part)) {
                continue;
            }
            const auto body = message.substr(part.body_offset, part.body_size());
            std::string decoded;
            mime::decode_transfer_encoding(
                mime::classify_transfer_encoding(part.transfer_encoding), body, decoded
            );
            auto xml = decode_report_file(decoded, limits.max_bytes);
            if (xml) {
                return xml;
            }
            last = xml.error();
        }
        return last;
    } catch (const std::bad_alloc&) {
        return ReportErrc::TooLarge;
    }
}

Result<AggregateReport> read_aggregate_report_email(
    std::string_view message, const ReportLimits& limits
) noexcept {
    auto xml = extract_report_xml(message, limits);
    if (!xml) {
        return xml.error();
    }
    return read_aggregate_report(*xml, limits);
}

std::string report_filename(
    std::string_view receiver,
    const AggregateReport& report,
    std::string_view unique_id,
    bool gzipped
) {
    // RFC 9990 §3.5.2: filename = receiver "!" policy-domain "!" begin "!" end ["!" unique-id]
    // "." extension.
    std::string out;
    out += receiver;
    out += '!';
    out += report.policy.domain;
    out += '!';
    out += std::to_string(report.metadata.date_range.begin);
    out += '!';
    out += std::to_string(report.metadata.date_range.end);
    std::string id;
    for (const char c : unique_id) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            id += c;
        }
    }
    if (!id.empty()) {
        out += '!';
        out += id;
    }
    out += gzipped ? ".xml.gz" : ".xml";
    return out;
}

std::string report_subject(std::string_view receiver, const AggregateReport& report) {
    // RFC 9990 §3.5.2 dmarc-subject; the Report-ID in its "<" ridfmt ">" form.
    std::string out = "Report Domain: ";
    out += report.policy.domain;
    out += " Submitter: ";
    out += receiver;
    if (!report.metadata.report_id.empty()) {
        out += " Report-ID: ";
        const auto& id = report.metadata.report_id;
        if (id.front() == '<') {
            out += id;
        } else {
            out += '<';
            out += id;
            out += '>';
        }
    }
    return out;
}

std::string make_report_id(
    std::int64_t begin, std::string_view policy_domain, std::string_view receiver
) {
    std::string out = std::to_string(begin);
    out += '-';
    out += mime::to_lower(policy_domain);
    out += '@';
    out += mime::to_lower(receiver);
    return out;
}

// ---- aggregation ----------------------------------------------------------------------------

namespace {

/// RFC 9990 §3.1.3 priority: 0 = pass, same domain; 1 = pass, relaxed (parent or child);
/// 2 = other pass; 3 = the rest.
int dkim_priority(const DkimAuthResult& d, std::string_view header_from) {
    if (d.result != ReportDkimResult::Pass) {
        return 3;
    }
    const std::string_view dom = d.domain;
    if (dom == header_from) {
        return 0;
    }
    const auto is_sub = [](std::string_view a, std::string_view b) {
        return a.size() > b.size() && a.ends_with(b) && a[a.size() - b.size() - 1] == '.';
    };
    return is_sub(dom, header_from) || is_sub(header_from, dom) ? 1 : 2;
}

std::string record_key(const ReportRecord& r) {
    // Everything but the count, in a form whose byte order gives the sort order wanted.
    std::string key;
    const auto add = [&key](std::string_view s) {
        key += s;
        key += '\x01';
    };
    const auto ip = r.source_ip.is_v4() ? r.source_ip.to_v4().to_bytes().size() : 16;
    key += static_cast<char>(ip);
    if (r.source_ip.is_v4()) {
        const auto b = r.source_ip.to_v4().to_bytes();
        key.append(reinterpret_cast<const char*>(b.data()), b.size());
    } else {
        const auto b = r.source_ip.to_v6().to_bytes();
        key.append(reinterpret_cast<const char*>(b.data()), b.size());
    }
    add(r.identifiers.header_from);
    add(r.identifiers.envelope_from ? "1" + *r.identifiers.envelope_from : "0");
    add(r.identifiers.envelope_to ? "1" + *r.identifiers.envelope_to : "0");
    key += static_cast<char>(r.policy_evaluated.disposition);
    key += static_cast<char>(r.policy_evaluated.dkim);
    key += static_cast<char>(r.policy_evaluated.spf);
    for (const auto& reason : r.policy_evaluated.reasons) {
        key += static_cast<char>(reason.type);
        add(reason.comment ? "1" + *reason.comment : "0");
    }
    key += '\x02';
    for (const auto& d : r.dkim) {
        add(d.domain);
        add(d.selector);
        key += static_cast<char>(d.result);
        add(d.human_result ? "1" + *d.human_result : "0");
    }
    key += '\x02';
    for (const auto& s : r.spf) {
        add(s.domain);
        key += static_cast<char>(s.scope ? static_cast<int>(*s.scope) + 1 : 0);
        key += static_cast<char>(s.result);
        add(s.human_result ? "1" + *s.human_result : "0");
    }
    return key;
}

}  // namespace

std::vector<ReportRecord> aggregate_rows(std::span<const EvaluationRow> rows) {
    constexpr std::size_t kMaxSignatures = 100;  // RFC 9990 §3.1.3
    std::map<std::string, ReportRecord> groups;
    for (const auto& row : rows) {
        ReportRecord r;
        r.source_ip = row.source_ip;
        r.count = row.count;
        r.policy_evaluated = {row.disposition, row.dkim_aligned, row.spf_aligned, row.reasons};
        r.identifiers.header_from = mime::to_lower(row.header_from);
        if (row.envelope_from) {
            r.identifiers.envelope_from = mime::to_lower(*row.envelope_from);
        }
        if (row.envelope_to) {
            r.identifiers.envelope_to = mime::to_lower(*row.envelope_to);
        }
        r.dkim = row.dkim;
        for (auto& d : r.dkim) {
            d.domain = mime::to_lower(d.domain);
        }
        const std::string_view hf = r.identifiers.header_from;
        std::stable_sort(r.dkim.begin(), r.dkim.end(), [hf](const auto& a, const auto& b) {
            return dkim_priority(a, hf) < dkim_priority(b, hf);
        });
        if (r.dkim.size() > kMaxSignatures) {
            r.dkim.resize(kMaxSignatures);
        }
        if (row.spf) {
            r.spf.push_back(*row.spf);
            r.spf.back().domain = mime::to_lower(r.spf.back().domain);
        }
        auto key = record_key(r);
        auto [it, inserted] = groups.try_emplace(std::move(key), std::move(r));
        if (!inserted) {
            it->second.count += row.count;
        }
    }
    std::vector<ReportRecord> out;
    out.reserve(groups.size());
    for (auto& [key, rec] : groups) {
        out.push_back(std::move(rec));
    }
    return out;
}

// ---- external destinations ------------------------------------------------------------------

std::string mailto_host(std::string_view uri) {
    constexpr std::string_view kScheme = "mailto:";
    uri = mime::trim(uri);
    if (uri.size() <= kScheme.size() || !mime::iequals(uri.substr(0, kScheme.size()), kScheme)) {
        return {};
    }
    uri.remove_prefix(kScheme.size());
    // RFC 9989 §4.7: a size limit may follow after "!"; RFC 6068 headers after "?".
    uri = uri.substr(0, uri.find_first_of("!?"));
    const auto at = uri.rfind('@');
    if (at == std::string_view::npos || at + 1 >= uri.size()) {
        return {};
    }
    auto host = mime::to_lower(uri.substr(at + 1));
    while (!host.empty() && host.back() == '.') {
        host.pop_back();
    }
    return host;
}

boost::asio::awaitable<DestinationCheck> verify_external_destination(
    DnsSource& dns, std::string policy_domain, std::string destination_host, std::string tag
) {
    DestinationCheck check;
    while (!policy_domain.empty() && policy_domain.back() == '.') {
        policy_domain.pop_back();
    }
    while (!destination_host.empty() && destination_host.back() == '.') {
        destination_host.pop_back();
    }
    destination_host = mime::to_lower(destination_host);
    // §4 steps 1-3.
    std::string name = policy_domain + "._report._dmarc." + destination_host;
    // Step 4: DNS limits (253 octets of text, 63 per label).
    bool fits = !policy_domain.empty() && !destination_host.empty() && name.size() <= 253;
    for (std::size_t start = 0; fits && start <= name.size();) {
        auto end = name.find('.', start);
        if (end == std::string::npos) {
            end = name.size();
        }
        fits = end - start >= 1 && end - start <= 63;
        start = end + 1;
    }
    if (!fits) {
        co_return check;
    }
    // Step 5.
    auto answer = co_await dns.txt(name);
    if (!answer) {
        check.status = DestinationStatus::TempError;
        co_return check;
    }
    // Steps 6-8: at least one record whose first tag is v=DMARC1.
    bool confirmed = false;
    std::vector<std::string> overrides;
    bool foreign_override = false;
    for (const auto& txt : answer->records) {
        const auto tags = TagList::parse(txt);
        if (!tags.ok() || tags.size() == 0 || tags[0].name != "v" || tags[0].value != "DMARC1") {
            continue;
        }
        confirmed = true;
        // Step 9: an override must keep the destination host.
        if (const auto uris = tags.find(tag)) {
            std::string_view list = *uris;
            while (!list.empty()) {
                const auto comma = list.find(',');
                const auto uri = mime::trim(list.substr(0, comma));
                list =
                    comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
                if (uri.empty()) {
                    continue;
                }
                if (mailto_host(uri) != destination_host) {
                    foreign_override = true;
                } else {
                    overrides.emplace_back(uri);
                }
            }
        }
    }
    if (!confirmed || foreign_override) {
        co_return check;
    }
    check.status = DestinationStatus::Allowed;
    check.override_uris = std::move(overrides);
    co_return check;
}

boost::asio::awaitable<bool> external_destination_allowed(
    DnsSource& dns, std::string policy_domain, std::string destination_host
) {
    const auto check = co_await verify_external_destination(
        dns, std::move(policy_domain), std::move(destination_host), "rua"
    );
    co_return check.status == DestinationStatus::Allowed;
}

}  // namespace sov::mailauth
