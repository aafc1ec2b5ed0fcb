#include "cli/dns_check.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "dns/errors.hpp"
#include "mailauth/dkim_tags.hpp"

namespace sov::cli {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::vector<std::string> values_of(const dns::Answer& answer, dns::RrType type) {
    std::vector<std::string> out;
    for (const auto& rdata : answer.rdata) {
        if (type == dns::RrType::TXT) {
            if (auto text = dns::parse_txt(rdata)) {
                out.push_back(std::move(*text));
            }
        } else {
            out.push_back(dns::to_presentation(type, rdata));
        }
    }
    return out;
}

// The k= (default rsa) and FWS-free p= of a DKIM key record; nullopt if it does not parse.
std::optional<std::pair<std::string, std::string>> dkim_key_of(std::string_view record) {
    const auto tags = mailauth::TagList::parse(record);
    const auto p = tags.find("p");
    if (!tags.ok() || !p) {
        return std::nullopt;
    }
    return std::pair{std::string(tags.find("k").value_or("rsa")), mailauth::strip_fws(*p)};
}

void judge(RecordCheck& check) {
    const auto& want = check.expected;
    if (want.match == ExpectedRecord::Match::DkimKey) {
        const auto wanted = dkim_key_of(want.value);
        const bool present =
            wanted && std::any_of(check.found.begin(), check.found.end(), [&](auto& v) {
                return dkim_key_of(v) == wanted;
            });
        check.status = present               ? RecordCheck::Status::Ok
                       : check.found.empty() ? RecordCheck::Status::Missing
                                             : RecordCheck::Status::Wrong;
        return;
    }
    if (want.match == ExpectedRecord::Match::Exact) {
        const bool present = std::any_of(check.found.begin(), check.found.end(), [&](auto& v) {
            return iequals(v, want.value);
        });
        check.status = present               ? RecordCheck::Status::Ok
                       : check.found.empty() ? RecordCheck::Status::Missing
                                             : RecordCheck::Status::Wrong;
        return;
    }
    const auto count = std::count_if(check.found.begin(), check.found.end(), [&](auto& v) {
        return istarts_with(v, want.prefix);
    });
    if (count == 1) {
        check.status = RecordCheck::Status::Ok;
    } else if (count == 0) {
        check.status = RecordCheck::Status::Missing;
    } else {
        // RFC 7208 §4.5, RFC 8461 §3.1, RFC 8460 §3: several records of one kind are an error.
        check.status = RecordCheck::Status::Wrong;
        check.detail = "more than one record of this kind";
    }
}

}  // namespace

std::string_view to_string(RecordCheck::Status status) noexcept {
    switch (status) {
        case RecordCheck::Status::Ok:
            return "ok";
        case RecordCheck::Status::Missing:
            return "missing";
        case RecordCheck::Status::Wrong:
            return "wrong";
        case RecordCheck::Status::Insecure:
            return "insecure";
        case RecordCheck::Status::Failed:
            return "failed";
    }
    return "?";
}

boost::asio::awaitable<std::vector<RecordCheck>> check_records(
    dns::Resolver& resolver, std::vector<ExpectedRecord> expected
) {
    std::vector<RecordCheck> out;
    for (auto& want : expected) {
        RecordCheck check;
        check.expected = std::move(want);
        auto answer = co_await resolver.query(check.expected.owner, check.expected.type);
        if (!answer) {
            check.status = RecordCheck::Status::Failed;
            check.detail = answer.error().message();
            out.push_back(std::move(check));
            continue;
        }
        check.found = values_of(*answer, check.expected.type);
        judge(check);
        if (check.status == RecordCheck::Status::Ok && !answer->secure()) {
            check.status = RecordCheck::Status::Insecure;
            check.detail =
                "the answer is not DNSSEC-signed: sign the zone and publish its DS "
                "at the parent";
        }
        out.push_back(std::move(check));
    }
    co_return out;
}

}  // namespace sov::cli
