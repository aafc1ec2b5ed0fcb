#include "roles/outbound.hpp"

#include <regex>
#include <string>

#include <gtest/gtest.h>

namespace sov::roles {
namespace {

constexpr std::int64_t kNow = 1'750'000'000;
constexpr const char* kDate = "Date: Sun, 15 Jun 2025 15:06:40 +0000\r\n";
constexpr const char* kHost = "mail.example.org";

// "Message-ID: <24 random chars@host>\r\n" at `pos`; returns the id's length or 0.
std::size_t message_id_at(const std::string& text, std::size_t pos) {
    static const std::regex kId(R"(^Message-ID: <[0-9a-z]{24}@mail\.example\.org>\r\n)");
    std::smatch m;
    const std::string rest = text.substr(pos);
    if (!std::regex_search(rest, m, kId, std::regex_constants::match_continuous)) {
        return 0;
    }
    return static_cast<std::size_t>(m.length(0));
}

// Checks `out` == prefix + Date? + Message-ID? + suffix.
void expect_added(
    const std::string& out, std::string_view prefix, bool date, bool id, std::string_view suffix
) {
    ASSERT_TRUE(out.starts_with(prefix)) << out;
    std::size_t pos = prefix.size();
    if (date) {
        ASSERT_EQ(out.substr(pos, std::string_view(kDate).size()), kDate) << out;
        pos += std::string_view(kDate).size();
    }
    if (id) {
        const auto n = message_id_at(out, pos);
        ASSERT_GT(n, 0u) << out;
        pos += n;
    }
    EXPECT_EQ(out.substr(pos), suffix) << out;
}

TEST(AddMissingFields, AddsBothAtTheEndOfTheHeader) {
    const auto out =
        add_missing_fields("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n", kHost, kNow);
    expect_added(out, "From: a@example.org\r\nSubject: hi\r\n", true, true, "\r\nbody\r\n");
}

TEST(AddMissingFields, KeepsMessageWithBoth) {
    const std::string message =
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\nSubject: s\r\n\r\nb\r\n";
    EXPECT_EQ(add_missing_fields(message, kHost, kNow), message);
}

TEST(AddMissingFields, NamesAreCaseInsensitive) {
    const std::string message = "DATE: whenever\r\nMessage-Id: <x@y>\r\n\r\nb\r\n";
    EXPECT_EQ(add_missing_fields(message, kHost, kNow), message);
    const std::string lower = "message-id: <x@y>\r\ndate: whenever\r\n\r\n";
    EXPECT_EQ(add_missing_fields(lower, kHost, kNow), lower);
}

TEST(AddMissingFields, OnlyTheMissingOne) {
    auto out = add_missing_fields("Date: d\r\nSubject: s\r\n\r\nb\r\n", kHost, kNow);
    expect_added(out, "Date: d\r\nSubject: s\r\n", false, true, "\r\nb\r\n");
    out = add_missing_fields("Message-ID: <x@y>\r\n\r\nb\r\n", kHost, kNow);
    expect_added(out, "Message-ID: <x@y>\r\n", true, false, "\r\nb\r\n");
}

TEST(AddMissingFields, EmptyBody) {
    const auto out = add_missing_fields("Subject: s\r\n\r\n", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "\r\n");
}

TEST(AddMissingFields, NoEmptyLine) {
    // The whole message is header.
    auto out = add_missing_fields("Subject: s\r\n", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "");
    // ... and it need not end with CRLF.
    out = add_missing_fields("Subject: s", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "");
}

TEST(AddMissingFields, EmptyMessageAndEmptyHeader) {
    auto out = add_missing_fields("", kHost, kNow);
    expect_added(out, "", true, true, "");
    out = add_missing_fields("\r\nbody only\r\n", kHost, kNow);
    expect_added(out, "", true, true, "\r\nbody only\r\n");
}

TEST(AddMissingFields, ContinuationLinesAreNotFields) {
    // RFC 5322 §2.2.3: a line starting with WSP continues the previous field.
    const std::string header = "Subject: one\r\n Date: folded text\r\n\tMessage-ID: <folded@x>\r\n";
    const auto out = add_missing_fields(header + "\r\nbody\r\n", kHost, kNow);
    expect_added(out, header, true, true, "\r\nbody\r\n");
}

TEST(AddMissingFields, BodyLinesAreNotFields) {
    const auto out =
        add_missing_fields("Subject: s\r\n\r\nDate: x\r\nMessage-ID: <b@x>\r\n", kHost, kNow);
    expect_added(out, "Subject: s\r\n", true, true, "\r\nDate: x\r\nMessage-ID: <b@x>\r\n");
}

TEST(AddMissingFields, SimilarNamesAreNotTheField) {
    const std::string header =
        "Dated: x\r\nDate-Sent: x\r\nResent-Date: x\r\nX-Date: x\r\nMessage-IDs: x\r\n"
        "Resent-Message-ID: <r@x>\r\nDate\r\n";
    const auto out = add_missing_fields(header + "\r\nb\r\n", kHost, kNow);
    expect_added(out, header, true, true, "\r\nb\r\n");
}

TEST(AddMissingFields, ObsoleteSpaceBeforeColonCounts) {
    // RFC 5322 §4.5 (obs-optional etc.): WSP may precede the colon; such a field is still the
    // Date field, and a second one would make the message invalid (§3.6: exactly one).
    const std::string message =
        "Date : Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID\t: <x@y>\r\n\r\nb\r\n";
    EXPECT_EQ(add_missing_fields(message, kHost, kNow), message);
}

TEST(AddMissingFields, MessageIdUsesHostnameAndIsUnique) {
    const auto a = add_missing_fields("Date: d\r\n\r\n", "relay.example.net", kNow);
    const auto b = add_missing_fields("Date: d\r\n\r\n", "relay.example.net", kNow);
    static const std::regex kId(R"(Message-ID: <[0-9a-z]{24}@relay\.example\.net>\r\n)");
    EXPECT_TRUE(std::regex_search(a, kId)) << a;
    EXPECT_TRUE(std::regex_search(b, kId)) << b;
    EXPECT_NE(a, b);
}

TEST(AddMissingFields, DateUsesTheGivenTime) {
    const auto out = add_missing_fields("Message-ID: <x@y>\r\n\r\n", kHost, 0);
    EXPECT_NE(out.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace sov::roles
