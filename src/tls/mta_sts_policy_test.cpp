#include "tls/mta_sts_policy.hpp"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tls/errors.hpp"

namespace sov::tls {
namespace {

std::error_code error_of(std::string_view body) {
    const auto r = parse_policy(body);
    return r ? std::error_code{} : r.error();
}

// RFC 8461 §3.2 example policy.
constexpr std::string_view kRfcExample =
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.example.net\r\n"
    "mx: backupmx.example.com\r\n"
    "max_age: 604800\r\n";

TEST(StsPolicy, Rfc8461Example) {
    const auto p = parse_policy(kRfcExample);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->mode, Mode::Enforce);
    EXPECT_EQ(p->max_age, 604800U);
    const std::vector<std::string> mx{"mail.example.com", "*.example.net", "backupmx.example.com"};
    EXPECT_EQ(p->mx, mx);
    EXPECT_EQ(to_text(*p), kRfcExample);  // our rendering is the RFC's text, byte for byte
}

TEST(StsPolicy, LineEndingsAndWhitespace) {
    const Policy expected{Mode::Testing, 86400, {"mx.example.com"}};
    for (const std::string_view body : {
             "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n",
             "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400",
             "version:STSv1\r\nmode:\t testing \t\r\nmx: mx.example.com  \nmax_age: 86400",
             "version: STSv1\r\n\r\nmode: testing\n  \nmx: mx.example.com\nmax_age: 86400\n\n",
         }) {
        const auto p = parse_policy(body);
        ASSERT_TRUE(p) << body << ": " << p.error().message();
        EXPECT_EQ(*p, expected) << body;
    }
}

TEST(StsPolicy, TruncatedBodiesFail) {
    // A body cut anywhere before the last field lacks max_age: a short read never yields a
    // policy (the fetcher must still check the HTTP length).
    const std::string body(kRfcExample);
    const std::size_t last = body.find("max_age");
    for (std::size_t cut = 0; cut < last + 10; ++cut) {
        EXPECT_FALSE(parse_policy(body.substr(0, cut))) << "cut at " << cut;
    }
    EXPECT_TRUE(parse_policy(body.substr(0, last + 10)));  // "...max_age: 6"
}

TEST(StsPolicy, UnknownKeysIgnored) {
    const auto p = parse_policy(
        "version: STSv1\nmode: none\nmax_age: 0\nfoo_bar-1.x: some value with spaces\n"
        "comment: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"
    );
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->mode, Mode::None);
    EXPECT_EQ(p->max_age, 0U);
    EXPECT_TRUE(p->mx.empty());  // mx may be absent only in mode none
}

TEST(StsPolicy, DuplicatesKeepTheFirstExceptMx) {
    // §3.2: all entries of a duplicated non-repeated field "except for the first SHALL be
    // ignored" -- even invalid later values.
    const auto p = parse_policy(
        "version: STSv1\nmode: testing\nmode: enforce\nmode: bogus\nmx: a.example\n"
        "max_age: 60\nmax_age: 99999999999\nversion: STSv9\nmx: b.example\n"
    );
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->mode, Mode::Testing);
    EXPECT_EQ(p->max_age, 60U);
    EXPECT_EQ(p->mx, (std::vector<std::string>{"a.example", "b.example"}));
}

TEST(StsPolicy, RequiredFields) {
    EXPECT_EQ(error_of("mode: enforce\nmx: a.example\nmax_age: 1\n"), Errc::MissingField);
    EXPECT_EQ(error_of("version: STSv1\nmx: a.example\nmax_age: 1\n"), Errc::MissingField);
    EXPECT_EQ(error_of("version: STSv1\nmode: enforce\nmx: a.example\n"), Errc::MissingField);
    // mx "required at least once, except when mode is "none"".
    EXPECT_EQ(error_of("version: STSv1\nmode: enforce\nmax_age: 1\n"), Errc::MissingField);
    EXPECT_EQ(error_of("version: STSv1\nmode: testing\nmax_age: 1\n"), Errc::MissingField);
    EXPECT_TRUE(parse_policy("version: STSv1\nmode: none\nmax_age: 1\n"));
    EXPECT_EQ(error_of(""), Errc::MissingField);
}

struct BadLine {
    std::string_view line;
    Errc expected;
};

// Each line is tried first in a valid policy (so a bad value is not an ignored duplicate).
constexpr auto kBadValues = std::to_array<BadLine>({
    {"version: STSv2", Errc::BadVersion},
    {"version: stsv1", Errc::BadVersion},
    {"mode: Enforce", Errc::BadMode},  // %s: case-sensitive
    {"mode: reject", Errc::BadMode},
    {"mode: enforce x", Errc::BadMode},
    {"max_age: 31557601", Errc::BadMaxAge},  // above the §3.2 maximum
    {"max_age: -1", Errc::BadMaxAge},
    {"max_age: 1e5", Errc::BadMaxAge},
    {"max_age: 00000000001", Errc::BadMaxAge},  // 1*10DIGIT
    {"max_age: 9999999999", Errc::BadMaxAge},
    {"mx: *", Errc::BadMx},
    {"mx: *.*.example.com", Errc::BadMx},
    {"mx: mail.*.example.com", Errc::BadMx},
    {"mx: m*.example.com", Errc::BadMx},
    {"mx: -a.example.com", Errc::BadMx},
    {"mx: a..example.com", Errc::BadMx},
    {"mx: under_score.example.com", Errc::BadMx},
    {"mx: [192.0.2.1]", Errc::BadMx},
    {"mx: b\xc3\xbc"
     "cher.example",
     Errc::BadMx},  // A-labels only (§3.2)
    {"mx: a.example, b.example", Errc::BadMx},
});

TEST(StsPolicy, BadValues) {
    for (const auto& [line, expected] : kBadValues) {
        EXPECT_EQ(
            error_of(
                std::string(line) + "\nversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n"
            ),
            expected
        ) << line;
    }
    const auto ok = parse_policy(
        "version: STSv1\nmode: enforce\nmax_age: 31557600\nmx: xn--bcher-kva.example.\n"
    );
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->max_age, kMaxPolicyMaxAge);
}

TEST(StsPolicy, SyntaxErrors) {
    constexpr std::string_view kValid = "version: STSv1\nmode: none\nmax_age: 1\n";
    const auto lines = std::to_array<std::string_view>({
        "no colon here\n",
        "mode : enforce\n",  // no space before ":"
        " mode: enforce\n",
        "x:\n",  // ext-value needs one character
        ":value\n",
        "x: a\tb\n",  // only SP inside a value
        "x: a\rb\n",  // bare CR is a CTL, not a line end
        std::string_view("x: a\0b\n", 7),
        "x: \x7f\n",
        "x: \xff\n",           // invalid UTF-8
        "x: \xc0\xaf\n",       // overlong
        "x: \xed\xa0\x80\n",   // surrogate
        "x: \xe2\x82\n",       // truncated
        "x\xc3\xa9: v\n",      // names are ASCII
        "\xef\xbb\xbfx: v\n",  // BOM
        "mode: enforce\r\r\n",
    });
    for (const std::string_view line : lines) {
        EXPECT_EQ(error_of(std::string(kValid) + std::string(line)), Errc::Syntax) << line;
        EXPECT_EQ(error_of(std::string(line) + std::string(kValid)), Errc::Syntax) << line;
    }
}

TEST(StsPolicy, SizeLimit) {
    std::string body = "version: STSv1\nmode: enforce\nmax_age: 86400\n";
    while (body.size() < kMaxPolicyBytes - 40) {
        body += "mx: mx" + std::to_string(body.size()) + ".example.com\n";
    }
    body.resize(kMaxPolicyBytes, '\n');
    EXPECT_TRUE(parse_policy(body));
    body += '\n';
    EXPECT_EQ(error_of(body), Errc::TooLarge);
}

TEST(StsPolicy, ToTextRoundTrips) {
    const Policy policy{Mode::Testing, 1209600, {"mx1.example.org", "*.mx.example.org"}};
    const std::string text = to_text(policy);
    EXPECT_EQ(
        text,
        "version: STSv1\r\nmode: testing\r\nmx: mx1.example.org\r\nmx: *.mx.example.org\r\n"
        "max_age: 1209600\r\n"
    );
    const auto back = parse_policy(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, policy);
    const Policy none{Mode::None, 0, {}};
    EXPECT_EQ(parse_policy(to_text(none)).value(), none);
    // to_lines is the TLS-RPT policy-string (RFC 8460 §4.5 example order).
    EXPECT_EQ(
        to_lines(policy),
        (std::vector<std::string>{
            "version: STSv1",
            "mode: testing",
            "mx: mx1.example.org",
            "mx: *.mx.example.org",
            "max_age: 1209600"
        })
    );
}

TEST(StsPolicy, ModeStrings) {
    for (const Mode m : {Mode::Enforce, Mode::Testing, Mode::None}) {
        EXPECT_EQ(mode_from_string(to_string(m)), m);
    }
    EXPECT_FALSE(mode_from_string("ENFORCE"));
    EXPECT_FALSE(mode_from_string(""));
}

struct MatchCase {
    std::string_view pattern;
    std::string_view host;
    bool matches;
};

TEST(MxMatch, Table) {
    // RFC 8461 §4.1: ""*.example.com" matches "mail.example.com" but not "example.com" or
    // "foo.bar.example.com"".
    constexpr auto kCases = std::to_array<MatchCase>({
        {"*.example.com", "mail.example.com", true},
        {"*.example.com", "example.com", false},
        {"*.example.com", "foo.bar.example.com", false},
        {"*.example.com", "MAIL.Example.COM", true},
        {"*.EXAMPLE.com", "mail.example.com", true},
        {"*.example.com", "mail.example.com.", true},
        {"*.example.com.", "mail.example.com", true},
        {"*.example.com", ".example.com", false},
        {"*.example.com", "mailexample.com", false},
        {"*.example.com", "mail.example.org", false},
        {"*.example.com", "mail.example.com.evil", false},
        {"*.example.com", "", false},
        {"mail.example.com", "mail.example.com", true},
        {"mail.example.com", "Mail.Example.Com.", true},
        {"mail.example.com", "mail.example.com..", false},
        {"mail.example.com", "x.mail.example.com", false},
        {"mail.example.com", "example.com", false},
        {"mail.example.com", "mail.example.co", false},
        {"example.com", "mail.example.com", false},
        {"mail.example.com", "", false},
        {"", "", false},
        {"", ".", false},
    });
    for (const auto& c : kCases) {
        EXPECT_EQ(mx_pattern_matches(c.pattern, c.host), c.matches)
            << c.pattern << " vs " << c.host;
    }
}

TEST(MxMatch, AnyPatternOfThePolicy) {
    const auto p = parse_policy(kRfcExample);
    ASSERT_TRUE(p);
    EXPECT_TRUE(mx_matches(*p, "mail.example.com"));
    EXPECT_TRUE(mx_matches(*p, "mx7.example.net"));
    EXPECT_TRUE(mx_matches(*p, "backupmx.example.com."));
    EXPECT_FALSE(mx_matches(*p, "example.net"));
    EXPECT_FALSE(mx_matches(*p, "a.b.example.net"));
    EXPECT_FALSE(mx_matches(*p, "evil.example.org"));
    EXPECT_FALSE(mx_matches(Policy{}, "mail.example.com"));
}

TEST(MxPattern, Validity) {
    std::string long_name;
    while (long_name.size() < 251) {  // 260 octets + "com"
        long_name += "abcdefghi.";
    }
    long_name += "com";
    const std::string long_label = std::string(64, 'a') + ".com";
    const std::string max_label = std::string(63, 'a') + ".com";
    const auto cases = std::to_array<std::pair<std::string_view, bool>>({
        {"mail.example.com", true},
        {"*.example.com", true},
        {"localhost", true},
        {"1.2.3.4", true},  // LDH allows all-digit labels
        {max_label, true},
        {"", false},
        {"*.", false},
        {".", false},
        {"a.example.com..", false},
        {long_label, false},
        {long_name, false},
    });
    for (const auto& [pattern, valid] : cases) {
        EXPECT_EQ(is_mx_pattern(pattern), valid) << pattern;
    }
}

}  // namespace
}  // namespace sov::tls
