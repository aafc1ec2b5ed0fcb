#include "mailauth/dmarc_policy.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mailauth/static_dns.hpp"
#include "support/run_awaitable.hpp"

namespace sov::mailauth {
namespace {

namespace asio = boost::asio;

using R = DmarcResult;
using P = DmarcPolicy;
using Src = DmarcPolicySource;
using Id = DmarcIdentifier;
using Spf = DmarcSpfResult;

// Constructors with defaults (not aggregates) keep the table short without tripping
// -Wmissing-field-initializers.
struct Zone {
    Zone(
        std::vector<std::pair<std::string, std::string>> txt_records,
        std::vector<std::string> existing = {},
        std::vector<std::string> txt_failing = {},
        std::vector<std::string> a_failing = {}
    )
        : txt(std::move(txt_records)),
          names(std::move(existing)),
          txt_fail(std::move(txt_failing)),
          a_fail(std::move(a_failing)) {}

    std::vector<std::pair<std::string, std::string>> txt;  // name -> TXT record
    std::vector<std::string> names;     // names that exist (for the np existence check)
    std::vector<std::string> txt_fail;  // TXT lookups that time out
    std::vector<std::string> a_fail;    // A lookups that time out
};

struct Expect {
    Expect(
        R r,
        P req = P::None,
        Src src = Src::None,
        P disp = P::None,
        std::string policy = {},
        std::string org = {},
        Id by = Id::None,
        bool test = false,
        std::optional<std::size_t> query_count = std::nullopt
    )
        : result(r),
          requested(req),
          from(src),
          disposition(disp),
          policy_domain(std::move(policy)),
          org_domain(std::move(org)),
          aligned_by(by),
          testing(test),
          queries(query_count) {}

    R result;
    P requested;
    Src from;
    P disposition;
    std::string policy_domain;
    std::string org_domain;
    Id aligned_by;
    bool testing;
    std::optional<std::size_t> queries;
};

struct Case {
    const char* name;
    Zone zone;
    DmarcInputs in;
    Expect want;
};

// gtest prints the case name instead of the object's bytes.
void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name;
}

DmarcInputs msg(
    std::string from,
    std::optional<std::string> spf_domain,
    Spf spf,
    std::vector<std::string> dkim_domains = {}
) {
    DmarcInputs in;
    in.from_domain = std::move(from);
    in.spf_domain = std::move(spf_domain);
    in.spf_result = spf;
    for (auto& d : dkim_domains) {
        in.dkim.push_back(DkimPass{std::move(d), "sel"});
    }
    return in;
}

StaticDns make_dns(const Zone& zone) {
    StaticDns dns;
    for (const auto& [name, text] : zone.txt) {
        dns.add_txt(name, text);
    }
    for (const auto& name : zone.names) {
        dns.add_name(name);
    }
    for (const auto& name : zone.txt_fail) {
        dns.fail(name, dns::RrType::TXT);
    }
    for (const auto& name : zone.a_fail) {
        dns.fail(name, dns::RrType::A);
    }
    return dns;
}

// One zone most cases share: example.com publishes a policy with distinct p / sp / np.
const std::pair<std::string, std::string> kExample{
    "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none; rua=mailto:d@example.com"
};

// The table the issue asks for (RFC 9989 §4.4, §4.7, §4.10, Appendix B).
const std::vector<Case>& cases() {
    static const std::vector<Case> kCases = {
        // --- SPF alignment (§4.4.2, B.1.1)
        {"spf_identical_strict",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; aspf=s"}}},
         msg("example.com", "example.com", Spf::Pass),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Spf, false, 2}},
        {"spf_relaxed_child",
         {{kExample}},
         msg("example.com", "child.example.com", Spf::Pass),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Spf}},
        {"spf_strict_child_unaligned",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; aspf=s"}}},
         msg("example.com", "child.example.com", Spf::Pass),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},
        {"spf_other_org_unaligned_without_queries",
         {{kExample}},
         msg("example.com", "example.net", Spf::Pass),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com", Id::None, false, 2}},
        {"spf_fail_does_not_count",
         {{kExample}},
         msg("example.com", "example.com", Spf::Fail),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},
        {"spf_softfail_does_not_count",
         {{kExample}},
         msg("example.com", "example.com", Spf::SoftFail),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},
        {"spf_temperror_aligned_is_temperror",
         {{kExample}},
         msg("example.com", "example.com", Spf::TempError),
         {R::TempError, P::Reject, Src::P, P::None, "example.com", "example.com"}},
        {"spf_temperror_unaligned_is_fail",
         {{kExample}},
         msg("example.com", "example.net", Spf::TempError),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},
        {"spf_temperror_but_dkim_aligned",
         {{kExample}},
         msg("example.com", "example.com", Spf::TempError, {"example.com"}),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Dkim}},

        // --- DKIM alignment (§4.4.1, B.1.2)
        {"dkim_relaxed_parent_of_author",
         {{kExample}, {"child.example.com"}},
         msg("child.example.com", std::nullopt, Spf::None, {"example.com"}),
         {R::Pass, P::Quarantine, Src::Sp, P::None, "example.com", "example.com", Id::Dkim}},
        {"dkim_strict_parent_unaligned",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; adkim=s"}},
          {"child.example.com"}},
         msg("child.example.com", std::nullopt, Spf::None, {"example.com"}),
         {R::Fail, P::Quarantine, Src::Sp, P::Quarantine, "example.com", "example.com"}},
        {"dkim_strict_identical",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; adkim=s; aspf=s"}}},
         msg("Example.COM.", "example.net", Spf::Pass, {"EXAMPLE.com"}),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Dkim}},
        {"dkim_other_domain_unaligned",
         {{kExample}},
         msg("example.com", std::nullopt, Spf::None, {"example.net", "evil.example"}),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},
        {"dkim_second_signature_aligns",
         {{kExample}},
         msg("example.com", "example.net", Spf::Pass, {"example.net", "mail.example.com"}),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Dkim}},
        {"dkim_lookalike_suffix_unaligned",
         {{kExample}},
         msg("example.com", std::nullopt, Spf::None, {"badexample.com"}),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},

        // --- sp / np (§4.7, §4.10.1, §3.2.13)
        {"sp_for_existing_subdomain",
         {{kExample}, {"sub.example.com"}},
         msg("sub.example.com", std::nullopt, Spf::None),
         {R::Fail, P::Quarantine, Src::Sp, P::Quarantine, "example.com", "example.com"}},
        {"np_for_nonexistent_subdomain",
         {{{"_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject"}}},
         msg("nx.example.com", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::Np, P::Reject, "example.com", "example.com"}},
        {"np_not_for_existing_subdomain",
         {{{"_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject"}},
          {"sub.example.com"}},
         msg("sub.example.com", std::nullopt, Spf::None),
         {R::Fail, P::Quarantine, Src::Sp, P::Quarantine, "example.com", "example.com"}},
        {"np_absent_falls_back_to_sp",
         {{{"_dmarc.example.com", "v=DMARC1; p=none; sp=reject"}}},
         msg("nx.example.com", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::Sp, P::Reject, "example.com", "example.com"}},
        {"np_and_sp_absent_fall_back_to_p",
         {{{"_dmarc.example.com", "v=DMARC1; p=quarantine"}}},
         msg("nx.example.com", std::nullopt, Spf::None),
         {R::Fail, P::Quarantine, Src::P, P::Quarantine, "example.com", "example.com"}},
        {"np_existence_check_fails_temperror",
         {{{"_dmarc.example.com", "v=DMARC1; p=none; np=reject"}}, {}, {}, {"nx.example.com"}},
         msg("nx.example.com", std::nullopt, Spf::None),
         {R::TempError, P::None, Src::P, P::None, "example.com", "example.com"}},
        {"np_not_for_the_policy_domain_itself",
         {{{"_dmarc.example.com", "v=DMARC1; p=quarantine; np=reject"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::Quarantine, Src::P, P::Quarantine, "example.com", "example.com"}},
        {"author_record_wins_over_parent_sp",
         {{kExample, {"_dmarc.sub.example.com", "v=DMARC1; p=none"}}},
         msg("sub.example.com", std::nullopt, Spf::None),
         {R::Fail, P::None, Src::P, P::None, "sub.example.com", "example.com"}},

        // --- psd (§4.7 psd, §4.10.2, B.4.3)
        {"b43_psd_y_spf_aligned",
         {{{"_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"},
           {"_dmarc.giant.bank.example", "v=DMARC1; p=quarantine"}}},
         msg("giant.bank.example", "mail.giant.bank.example", Spf::Pass, {"mail.mega.bank.example"}
         ),
         {R::Pass,
          P::Quarantine,
          Src::P,
          P::None,
          "giant.bank.example",
          "giant.bank.example",
          Id::Spf}},
        {"b43_psd_y_dkim_other_registrant_unaligned",
         {{{"_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"},
           {"_dmarc.giant.bank.example", "v=DMARC1; p=quarantine"}}},
         msg("giant.bank.example", std::nullopt, Spf::None, {"mail.mega.bank.example"}),
         {R::Fail, P::Quarantine, Src::P, P::Quarantine, "giant.bank.example", "giant.bank.example"}
        },
        {"psd_policy_when_org_has_no_record",
         {{{"_dmarc.bank.example", "v=DMARC1; p=quarantine; np=reject; psd=y"}}},
         msg("nx.giant.bank.example", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::Np, P::Reject, "bank.example", "giant.bank.example"}},
        {"psd_y_at_author_itself",
         {{{"_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"}}},
         msg("bank.example", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::P, P::Reject, "bank.example", "bank.example", Id::None, false, 1}
        },
        {"psd_n_stops_walk_and_is_org",
         {{{"_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n"},
           {"_dmarc.example.com", "v=DMARC1; p=none"}},
          {"a.mail.example.com"}},
         msg("a.mail.example.com", std::nullopt, Spf::None, {"example.com"}),
         {R::Fail, P::Reject, Src::P, P::Reject, "mail.example.com", "mail.example.com"}},
        {"psd_n_org_aligns_sibling",
         {{{"_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n"},
           {"_dmarc.example.com", "v=DMARC1; p=none"}},
          {"a.mail.example.com"}},
         msg("a.mail.example.com", "b.mail.example.com", Spf::Pass),
         {R::Pass, P::Reject, Src::P, P::None, "mail.example.com", "mail.example.com", Id::Spf}},

        // §11.8: relaxed alignment trusts the whole Organizational Domain; psd=n on a
        // subdomain makes it an Organizational Domain of its own.
        {"s11_8_sibling_subdomain_aligns_relaxed",
         {{{"_dmarc.mail.example.com", "v=DMARC1; p=reject"},
           {"_dmarc.example.com", "v=DMARC1; p=reject"}},
          {"evil.example.com"}},
         msg("evil.example.com", std::nullopt, Spf::None, {"mail.example.com"}),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Dkim}},
        {"s11_8_psd_n_blocks_sibling",
         {{{"_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n"},
           {"_dmarc.example.com", "v=DMARC1; p=reject"}},
          {"evil.example.com"}},
         msg("evil.example.com", std::nullopt, Spf::None, {"mail.example.com"}),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},

        // --- tree walk (§4.10, B.4.1, B.4.2)
        {"org_is_fewest_labels",
         {{{"_dmarc.mail.example.com", "v=DMARC1; p=none"},
           {"_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine"}},
          {"a.mail.example.com"}},
         msg("a.mail.example.com", std::nullopt, Spf::None, {"other.example.com"}),
         {R::Pass, P::Quarantine, Src::Sp, P::None, "example.com", "example.com", Id::Dkim}},
        {"b41_signing_subdomain_has_own_record",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"},
           {"_dmarc.signing.example.com", "v=DMARC1; p=none"}}},
         msg("example.com", "example.net", Spf::Fail, {"signing.example.com"}),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Dkim}},
        {"record_at_org_level_only",
         {{kExample}, {"a.b.example.com"}},
         msg("a.b.example.com", std::nullopt, Spf::None),
         {R::Fail,
          P::Quarantine,
          Src::Sp,
          P::Quarantine,
          "example.com",
          "example.com",
          Id::None,
          false,
          4 + 1}},
        {"b42_deep_walk_eight_queries",
         // §5.1.8: the record at b.c.d...example.com is skipped by the shortcut.
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"},
           {"_dmarc.b.c.d.e.f.g.h.i.j.k.example.com", "v=DMARC1; p=none; psd=n"}}},
         msg("a.b.c.d.e.f.g.h.i.j.k.example.com", "example.com", Spf::Fail),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com", Id::None, false, 8}},
        {"b42_deep_walk_relaxed_pass",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"},
           {"_dmarc.signing.example.com", "v=DMARC1; p=none"}}},
         msg("a.b.c.d.e.f.g.h.i.j.k.example.com", "example.com", Spf::Pass, {"signing.example.com"}
         ),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "example.com", Id::Dkim}},
        {"eight_labels_record_at_author_found",
         {{{"_dmarc.a.b.c.d.e.f.g.h.i.example.com", "v=DMARC1; p=quarantine"},
           {"_dmarc.example.com", "v=DMARC1; p=reject"}}},
         msg("a.b.c.d.e.f.g.h.i.example.com", std::nullopt, Spf::None),
         {R::Fail,
          P::Quarantine,
          Src::P,
          P::Quarantine,
          "a.b.c.d.e.f.g.h.i.example.com",
          "example.com"}},
        {"multiple_records_at_author_ignored",
         {{kExample,
           {"_dmarc.sub.example.com", "v=DMARC1; p=none"},
           {"_dmarc.sub.example.com", "v=DMARC1; p=none; rua=mailto:x@example.com"}},
          {"sub.example.com"}},
         msg("sub.example.com", std::nullopt, Spf::None),
         {R::Fail, P::Quarantine, Src::Sp, P::Quarantine, "example.com", "example.com"}},
        {"multiple_records_only_name_is_none",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"}, {"_dmarc.example.com", "v=DMARC1; p=none"}}
         },
         msg("example.com", std::nullopt, Spf::None),
         {R::None, P::None, Src::None, P::None, "", "example.com"}},
        {"oversized_second_record_still_counts",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"},
           {"_dmarc.example.com", "v=DMARC1; p=none; x=" + std::string(5000, 'x')}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::None, P::None, Src::None, P::None, "", "example.com"}},
        {"record_not_starting_with_v_ignored",
         {{{"_dmarc.example.com", "p=reject; v=DMARC1"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::None, P::None, Src::None, P::None, "", "example.com"}},
        {"other_txt_next_to_record_ignored",
         {{{"_dmarc.example.com", "google-site-verification=abc"},
           {"_dmarc.example.com", "v=DMARC1; p=reject"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},
        {"no_record_is_none",
         {{{"_dmarc.example.net", "v=DMARC1; p=reject"}}},
         msg("mail.example.com", "mail.example.com", Spf::Pass),
         {R::None, P::None, Src::None, P::None, "", "mail.example.com", Id::None, false, 3}},

        // --- DNS errors (§5.3.6; DnsSource errors are temporary)
        {"timeout_at_author_is_temperror",
         {{kExample}, {}, {"_dmarc.example.com"}},
         msg("example.com", "example.com", Spf::Pass),
         {R::TempError}},
        {"timeout_above_author_without_record_is_temperror",
         {{kExample}, {"sub.example.com"}, {"_dmarc.example.com"}},
         msg("sub.example.com", std::nullopt, Spf::None),
         {R::TempError}},
        {"timeout_above_author_record_identical_still_passes",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"}}, {}, {"_dmarc.com"}},
         msg("example.com", "example.com", Spf::Pass),
         {R::Pass, P::Reject, Src::P, P::None, "example.com", "", Id::Spf}},
        {"timeout_above_author_record_relaxed_is_temperror",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject"}}, {}, {"_dmarc.com"}},
         msg("example.com", "child.example.com", Spf::Pass),
         {R::TempError, P::Reject, Src::P, P::None, "example.com", ""}},
        {"timeout_in_identifier_walk_is_temperror",
         {{kExample}, {}, {"_dmarc.child.example.com"}},
         msg("example.com", std::nullopt, Spf::None, {"child.example.com"}),
         {R::TempError, P::Reject, Src::P, P::None, "example.com", "example.com"}},

        // --- t / pct (§4.7 t, Appendix A.6)
        {"t_y_lowers_reject_to_quarantine",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; t=y"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::P, P::Quarantine, "example.com", "example.com", Id::None, true}},
        {"t_y_lowers_quarantine_to_none",
         {{{"_dmarc.example.com", "v=DMARC1; p=quarantine; t=y"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::Quarantine, Src::P, P::None, "example.com", "example.com", Id::None, true}},
        {"pct_0_is_testing",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; pct=0"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::P, P::Quarantine, "example.com", "example.com", Id::None, true}},
        {"pct_50_is_not_testing",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; pct=50"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::Reject, Src::P, P::Reject, "example.com", "example.com"}},

        // --- invalid policies (§4.10.1)
        {"invalid_p_with_rua_acts_as_none",
         {{{"_dmarc.example.com", "v=DMARC1; p=bogus; rua=mailto:d@example.com"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::None, Src::None, P::None, "example.com", "example.com"}},
        {"invalid_sp_with_rua_acts_as_none",
         {{{"_dmarc.example.com", "v=DMARC1; p=reject; sp=x; rua=mailto:d@example.com"}},
          {"sub.example.com"}},
         msg("sub.example.com", std::nullopt, Spf::None),
         {R::Fail, P::None, Src::None, P::None, "example.com", "example.com"}},
        {"invalid_p_without_valid_rua_no_dmarc",
         {{{"_dmarc.example.com", "v=DMARC1; p=bogus; rua=not-a-uri"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::None, P::None, Src::None, P::None, "example.com", "example.com"}},
        {"absent_p_is_none",
         {{{"_dmarc.example.com", "v=DMARC1; rua=mailto:d@example.com"}}},
         msg("example.com", std::nullopt, Spf::None),
         {R::Fail, P::None, Src::P, P::None, "example.com", "example.com"}},

        // --- author domain checks (§5.3.1)
        {"non_ascii_author_is_permerror",
         {{kExample}},
         msg("b\xc3\xbc"
             "cher.example",
             std::nullopt,
             Spf::None),
         {R::PermError, P::None, Src::None, P::None, "", "", Id::None, false, 0}},
        {"empty_author_is_none",
         {{kExample}},
         msg("", std::nullopt, Spf::None),
         {R::None, P::None, Src::None, P::None, "", "", Id::None, false, 0}},
        {"address_literal_author_is_none",
         {{kExample}},
         msg("[192.0.2.1]", std::nullopt, Spf::None),
         {R::None, P::None, Src::None, P::None, "", "", Id::None, false, 0}},
    };
    return kCases;
}

class DmarcPolicyTable : public ::testing::TestWithParam<Case> {};

TEST_P(DmarcPolicyTable, Evaluates) {
    const Case& c = GetParam();
    auto dns = make_dns(c.zone);
    const auto out = test::run_awaitable(evaluate_dmarc(dns, c.in));
    EXPECT_EQ(to_string(out.result), to_string(c.want.result)) << out.reason;
    EXPECT_EQ(to_string(out.requested), to_string(c.want.requested)) << out.reason;
    EXPECT_EQ(to_string(out.requested_from), to_string(c.want.from)) << out.reason;
    EXPECT_EQ(to_string(out.disposition), to_string(c.want.disposition)) << out.reason;
    EXPECT_EQ(out.policy_domain, c.want.policy_domain) << out.reason;
    EXPECT_EQ(out.organizational_domain, c.want.org_domain) << out.reason;
    EXPECT_EQ(to_string(out.aligned_by), to_string(c.want.aligned_by)) << out.reason;
    EXPECT_EQ(out.testing, c.want.testing);
    if (c.want.queries) {
        EXPECT_EQ(out.queries, *c.want.queries);
        EXPECT_EQ(dns.queries(), *c.want.queries);
    }
    // The reason goes into Authentication-Results comments: short printable ASCII.
    EXPECT_FALSE(out.reason.empty());
    EXPECT_LE(out.reason.size(), 120U);
    for (const char ch : out.reason) {
        EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << out.reason;
    }
    if (out.result == R::Pass) {
        EXPECT_TRUE(out.spf_aligned || out.dkim_aligned);
        EXPECT_FALSE(out.aligned_domain.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    DmarcRfc9989,
    DmarcPolicyTable,
    ::testing::ValuesIn(cases()),
    [](const auto& param_info) { return std::string(param_info.param.name); }
);

TEST(DmarcPolicy, OutcomeCarriesRecordAndRua) {
    StaticDns dns;
    dns.add_txt("_dmarc.example.com", kExample.second);
    const auto out =
        test::run_awaitable(evaluate_dmarc(dns, msg("example.com", std::nullopt, Spf::None)));
    ASSERT_TRUE(out.record);
    EXPECT_EQ(out.record->sp, P::Quarantine);
    ASSERT_EQ(out.rua.size(), 1U);
    EXPECT_EQ(out.rua[0].address, "d@example.com");
    EXPECT_EQ(out.reason, "no aligned spf or dkim identifier");
}

TEST(DmarcPolicy, PassReasonNamesTheIdentifier) {
    StaticDns dns;
    dns.add_txt("_dmarc.example.com", kExample.second);
    const auto out = test::run_awaitable(
        evaluate_dmarc(dns, msg("example.com", std::nullopt, Spf::None, {"mail.example.com"}))
    );
    EXPECT_EQ(out.reason, "dkim mail.example.com aligned");
    EXPECT_TRUE(out.dkim_aligned);
    EXPECT_FALSE(out.spf_aligned);
}

TEST(DmarcPolicy, IdentifierWalksAreBounded) {
    StaticDns dns;
    dns.add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    std::vector<std::string> dkim;
    for (int i = 0; i < 20; ++i) {
        dkim.push_back("s" + std::to_string(i) + ".x.example.com");
    }
    const auto out = test::run_awaitable(evaluate_dmarc(
        dns, msg("example.com", std::nullopt, Spf::None, dkim), {.max_identifier_walks = 3}
    ));
    EXPECT_EQ(out.result, R::Pass);  // the first walk already aligns
    StaticDns isolated;
    isolated.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; psd=n");
    // psd=n on example.com: each sX.x.example.com walk stops at example.com -> aligned too, so
    // use a zone where they are their own Organizational Domains to see the bound.
    for (const auto& d : dkim) {
        isolated.add_txt("_dmarc." + d, "v=DMARC1; p=none; psd=n");
    }
    const auto bounded = test::run_awaitable(evaluate_dmarc(
        isolated, msg("example.com", std::nullopt, Spf::None, dkim), {.max_identifier_walks = 3}
    ));
    EXPECT_EQ(bounded.result, R::Fail);
    EXPECT_EQ(bounded.queries, 1U + 3U);  // author (psd=n stops) + one query per allowed walk
}

// ------------------------------------------------------------------------------ tree walk

TEST(DmarcTreeWalk, TargetsFollowSection4_10) {
    using V = std::vector<std::string>;
    EXPECT_EQ(dmarc_walk_targets("com"), V{"com"});
    EXPECT_EQ(dmarc_walk_targets("example.com"), (V{"example.com", "com"}));
    EXPECT_EQ(
        dmarc_walk_targets("a.mail.example.com"),
        (V{"a.mail.example.com", "mail.example.com", "example.com", "com"})
    );
    // §4.10's example: eight queries for a 13-label name.
    EXPECT_EQ(
        dmarc_walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com"),
        (V{"a.b.c.d.e.f.g.h.i.j.mail.example.com",
           "g.h.i.j.mail.example.com",
           "h.i.j.mail.example.com",
           "i.j.mail.example.com",
           "j.mail.example.com",
           "mail.example.com",
           "example.com",
           "com"})
    );
    // §5.1.8's example (10 labels).
    EXPECT_EQ(
        dmarc_walk_targets("mail.a.b.c.d.e.f.g.example.com"),
        (V{"mail.a.b.c.d.e.f.g.example.com",
           "c.d.e.f.g.example.com",
           "d.e.f.g.example.com",
           "e.f.g.example.com",
           "f.g.example.com",
           "g.example.com",
           "example.com",
           "com"})
    );
    // Exactly 7 and 8 labels: every name, at most 8 queries.
    EXPECT_EQ(dmarc_walk_targets("a.b.c.d.e.f.g").size(), 7U);
    EXPECT_EQ(dmarc_walk_targets("a.b.c.d.e.f.g.h").size(), 8U);
    EXPECT_EQ(dmarc_walk_targets("a.b.c.d.e.f.g.h")[1], "b.c.d.e.f.g.h");
    EXPECT_EQ(dmarc_walk_targets("a.b.c.d.e.f.g.h.i")[1], "c.d.e.f.g.h.i");
    for (std::size_t n = 1; n < 40; ++n) {
        std::string name = "x";
        for (std::size_t i = 1; i < n; ++i) {
            name = "l" + std::to_string(i) + "." + name;
        }
        EXPECT_LE(dmarc_walk_targets(name).size(), 8U) << n;
        EXPECT_EQ(dmarc_walk_targets(name).back(), "x") << n;
    }
}

TEST(DmarcTreeWalk, OrganizationalDomainExamplesOfSection4_10_2) {
    // "a.mail.example.com" with records at mail.example.com and example.com -> example.com.
    StaticDns dns;
    dns.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none");
    dns.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    auto org = test::run_awaitable(find_organizational_domain(dns, "a.mail.example.com"));
    ASSERT_TRUE(org);
    EXPECT_EQ(*org, "example.com");
    EXPECT_EQ(dns.queries(), 4U);

    // psd=n at mail.example.com -> mail.example.com.
    StaticDns psd_n;
    psd_n.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none; psd=n");
    psd_n.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    org = test::run_awaitable(find_organizational_domain(psd_n, "A.Mail.Example.com."));
    ASSERT_TRUE(org);
    EXPECT_EQ(*org, "mail.example.com");
    EXPECT_EQ(psd_n.queries(), 2U);  // the walk stops at the psd tag

    // Only _dmarc.com, with psd=y -> example.com.
    StaticDns psd_y;
    psd_y.add_txt("_dmarc.com", "v=DMARC1; p=none; psd=y");
    org = test::run_awaitable(find_organizational_domain(psd_y, "a.mail.example.com"));
    ASSERT_TRUE(org);
    EXPECT_EQ(*org, "example.com");

    // No record anywhere: the domain itself.
    StaticDns empty;
    org = test::run_awaitable(find_organizational_domain(empty, "a.mail.example.com"));
    ASSERT_TRUE(org);
    EXPECT_EQ(*org, "a.mail.example.com");

    // A DNS error stops the walk: no answer.
    StaticDns failing;
    failing.fail("_dmarc.example.com", dns::RrType::TXT);
    EXPECT_FALSE(test::run_awaitable(find_organizational_domain(failing, "a.mail.example.com")));
    EXPECT_FALSE(test::run_awaitable(find_organizational_domain(failing, "bad domain")));
}

TEST(DmarcTreeWalk, WalkReportsWhatItFound) {
    StaticDns dns;
    dns.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none");
    dns.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=reject");  // two: both discarded
    dns.add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine");
    dns.add_txt("_dmarc.com", "v=spf1 -all");
    const auto walk = test::run_awaitable(dmarc_tree_walk(dns, "a.mail.example.com"));
    EXPECT_FALSE(walk.temperror);
    ASSERT_EQ(walk.found.size(), 1U);
    EXPECT_EQ(walk.found[0].domain, "example.com");
    EXPECT_EQ(walk.found[0].record.p, P::Quarantine);
    EXPECT_EQ(walk.queries, 4U);
    EXPECT_EQ(walk.at("example.com"), &walk.found[0]);
    EXPECT_EQ(walk.at("mail.example.com"), nullptr);
    EXPECT_EQ(organizational_domain(walk), "example.com");
}

// -------------------------------------------------------------------------- several domains

TEST(DmarcPolicy, SeveralAuthorDomainsTakeTheStrictestFailure) {
    StaticDns dns;
    dns.add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine");
    dns.add_txt("_dmarc.example.org", "v=DMARC1; p=reject");
    dns.add_txt("_dmarc.example.net", "v=DMARC1; p=none");
    auto out = test::run_awaitable(evaluate_dmarc_all(
        dns, {"example.com", "example.org", "example.net"}, msg("", "example.net", Spf::Pass)
    ));
    EXPECT_EQ(out.result, R::Fail);
    EXPECT_EQ(out.author_domain, "example.org");
    EXPECT_EQ(out.disposition, P::Reject);

    // All pass but one has no record: pass.
    out = test::run_awaitable(evaluate_dmarc_all(
        dns, {"example.net", "example.invalid"}, msg("", "example.net", Spf::Pass)
    ));
    EXPECT_EQ(out.result, R::Pass);

    // The count is bounded (§11.5): the reject domain is beyond the limit.
    out = test::run_awaitable(evaluate_dmarc_all(
        dns, {"example.com", "example.net", "example.org"}, msg("", std::nullopt, Spf::None), {}, 2
    ));
    EXPECT_EQ(out.author_domain, "example.com");
    EXPECT_EQ(out.disposition, P::Quarantine);

    out = test::run_awaitable(evaluate_dmarc_all(dns, {}, msg("", std::nullopt, Spf::None)));
    EXPECT_EQ(out.result, R::None);
}

// ------------------------------------------------------------------------------ author domain

TEST(DmarcAuthorDomain, ExtractsFromTheFromField) {
    auto a = author_domains(
        "Received: from x\r\nFrom: \"Joe\" <joe@Mail.Example.COM.>\r\nTo: b@example.net\r\n\r\n"
        "body From: x@evil.example\r\n"
    );
    EXPECT_EQ(a.status, AuthorDomains::Status::Ok);
    EXPECT_EQ(a.domains, std::vector<std::string>{"mail.example.com"});
    EXPECT_FALSE(a.non_ascii);

    // Folded, several mailboxes of the same domain: one author domain.
    a = author_domains("from: a@example.com,\r\n  B <b@EXAMPLE.com>\r\n\r\n");
    EXPECT_EQ(a.status, AuthorDomains::Status::Ok);
    EXPECT_EQ(a.domains, std::vector<std::string>{"example.com"});

    // Header block only, no body.
    a = author_domains("From: x@example.org\r\n");
    EXPECT_EQ(a.status, AuthorDomains::Status::Ok);
}

TEST(DmarcAuthorDomain, RejectsWhatRfc9989LeavesOutOfScope) {
    using S = AuthorDomains::Status;
    EXPECT_EQ(author_domains("To: a@example.com\r\n\r\n").status, S::NoFrom);
    auto a = author_domains("From: a@example.com\r\nFrom: b@example.org\r\n\r\n");
    EXPECT_EQ(a.status, S::MultipleFromFields);
    EXPECT_EQ(a.domains, (std::vector<std::string>{"example.com", "example.org"}));
    EXPECT_EQ(author_domains("From: undisclosed\r\n\r\n").status, S::NoDomain);
    EXPECT_EQ(author_domains("From: group:;\r\n\r\n").status, S::NoDomain);
    EXPECT_EQ(author_domains("From: a@[192.0.2.1]\r\n\r\n").status, S::NoDomain);
    EXPECT_EQ(author_domains("From: a@example..com\r\n\r\n").status, S::NoDomain);
    a = author_domains("From: a@example.com, b@example.org\r\n\r\n");
    EXPECT_EQ(a.status, S::MultipleDomains);
    EXPECT_EQ(a.domains, (std::vector<std::string>{"example.com", "example.org"}));
    EXPECT_EQ(
        author_domains("not a header line\r\nFrom: a@example.com\r\n\r\n").status, S::BadHeader
    );

    std::string many = "From: ";
    for (int i = 0; i < 20; ++i) {
        many += "u@d" + std::to_string(i) + ".example, ";
    }
    many += "u@last.example\r\n\r\n";
    a = author_domains(many);
    EXPECT_EQ(a.status, S::MultipleDomains);
    EXPECT_EQ(a.domains.size(), kMaxAuthorDomains);
    EXPECT_TRUE(a.truncated);

    a = author_domains(
        "From: a@b\xc3\xbc"
        "cher.example\r\n\r\n"
    );
    EXPECT_EQ(a.status, S::Ok);
    EXPECT_TRUE(a.non_ascii);
}

TEST(DmarcPolicy, ToString) {
    EXPECT_EQ(to_string(R::TempError), "temperror");
    EXPECT_EQ(to_string(R::PermError), "permerror");
    EXPECT_EQ(to_string(Spf::SoftFail), "softfail");
    EXPECT_EQ(to_string(Src::Np), "np");
    EXPECT_EQ(to_string(Id::Dkim), "dkim");
    EXPECT_EQ(to_string(AuthorDomains::Status::MultipleDomains), "several author domains");
}

}  // namespace
}  // namespace sov::mailauth
