#include "mailauth/dkim_canon.hpp"

#include <random>

#include <gtest/gtest.h>

#include "mailauth/base64.hpp"

namespace sov::mailauth {
namespace {

// RFC 6376 §3.4.5, written out with the <SP>/<HTAB>/<CRLF> of the example.
constexpr std::string_view kExample =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

std::string header_of(Canon canon, std::string_view message) {
    const auto split = split_message(message);
    std::string out;
    for (const auto& field : split.fields) {
        out += canonicalize_header(canon, field.raw) + "\r\n";
    }
    return out;
}

TEST(DkimCanon, Rfc6376Example_Relaxed) {
    const auto split = split_message(kExample);
    ASSERT_EQ(split.status, SplitMessage::Status::Ok);
    ASSERT_EQ(split.fields.size(), 2U);
    EXPECT_EQ(header_of(Canon::Relaxed, kExample), "a:X\r\nb:Y Z\r\n");
    EXPECT_EQ(
        canonicalize_body(Canon::Relaxed, kExample.substr(split.body_offset)), " C\r\nD E\r\n"
    );
}

TEST(DkimCanon, Rfc6376Example_Simple) {
    const auto split = split_message(kExample);
    EXPECT_EQ(header_of(Canon::Simple, kExample), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
    EXPECT_EQ(
        canonicalize_body(Canon::Simple, kExample.substr(split.body_offset)), " C \r\nD \t E\r\n"
    );
}

TEST(DkimCanon, EmptyBodies) {
    // RFC 6376 §3.4.3: simple turns an empty body into CRLF; §3.4.4 + erratum 1384: relaxed keeps
    // it empty. The digests are the well-known ones every implementation agrees on.
    EXPECT_EQ(canonicalize_body(Canon::Simple, ""), "\r\n");
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, ""), "");
    EXPECT_EQ(canonicalize_body(Canon::Simple, "\r\n\r\n\r\n"), "\r\n");
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, "  \r\n\t\r\n"), "");
    EXPECT_EQ(
        base64_encode(body_hash(Canon::Simple, "")), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="
    );
    EXPECT_EQ(
        base64_encode(body_hash(Canon::Relaxed, "")), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}

TEST(DkimCanon, MissingFinalCrlfIsAdded) {
    EXPECT_EQ(canonicalize_body(Canon::Simple, "abc"), "abc\r\n");
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, "abc  "), "abc\r\n");
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, "a\r\n\r\nb"), "a\r\n\r\nb\r\n");
}

TEST(DkimCanon, InnerEmptyLinesStay) {
    EXPECT_EQ(canonicalize_body(Canon::Simple, "a\r\n\r\n\r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");
    EXPECT_EQ(
        canonicalize_body(Canon::Relaxed, "a\r\n \r\n\t\r\nb\r\n \r\n"), "a\r\n\r\n\r\nb\r\n"
    );
}

TEST(DkimCanon, BareCrAndLfAreData) {
    EXPECT_EQ(canonicalize_body(Canon::Simple, "a\nb\rc\r\n"), "a\nb\rc\r\n");
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, "a \n b\r\r\n"), "a \n b\r\r\n");
    EXPECT_EQ(canonicalize_body(Canon::Simple, "x\r"), "x\r\r\n");
}

TEST(DkimCanon, EightBitBodyIsUntouched) {
    const std::string body = "gr\xc3\xbc\xc3\x9f \xff\x80\r\n";
    EXPECT_EQ(canonicalize_body(Canon::Simple, body), body);
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, body), body);
}

// STYLE.md §3.11 #2: the chunking of the input must not matter.
TEST(DkimCanon, BodySplitAtEveryOffset) {
    const std::string body = " C \r\nD \t E\r\n\r\n\r\nx\r\ry\r\n \t\r\n\r\n z\r\n\r\n\r\n";
    for (const auto canon : {Canon::Simple, Canon::Relaxed}) {
        const auto whole = canonicalize_body(canon, body);
        for (std::size_t split = 0; split <= body.size(); ++split) {
            for (std::size_t split2 = split; split2 <= body.size(); ++split2) {
                std::string out;
                BodyCanonicalizer c(canon);
                c.update(std::string_view(body).substr(0, split), out);
                c.update(std::string_view(body).substr(split, split2 - split), out);
                c.update(std::string_view(body).substr(split2), out);
                c.finish(out);
                ASSERT_EQ(out, whole) << to_string(canon) << " split at " << split << "," << split2;
            }
        }
    }
}

TEST(DkimCanon, BodyHasherLengthLimit) {
    BodyHasher h(Canon::Simple, 3);
    h.update("abcdef\r\n");
    const auto digest = h.finish();
    EXPECT_EQ(h.hashed_length(), 3U);
    EXPECT_EQ(h.canonical_length(), 8U);
    std::array<std::uint8_t, 32> want{};
    unsigned int size = 0;
    EVP_Digest("abc", 3, want.data(), &size, EVP_sha256(), nullptr);
    EXPECT_EQ(digest, want);
}

// An obviously correct (and slow) reading of RFC 6376 §3.4.3/§3.4.4 to compare the streaming
// canonicaliser with: split into CRLF-terminated lines, rewrite each, drop trailing empty lines.
std::string reference_body(Canon canon, std::string_view body) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < body.size()) {
        const auto crlf = body.find("\r\n", pos);
        if (crlf == std::string_view::npos) {
            lines.emplace_back(body.substr(pos));
            break;
        }
        lines.emplace_back(body.substr(pos, crlf - pos));
        pos = crlf + 2;
    }
    if (canon == Canon::Relaxed) {
        for (auto& line : lines) {
            std::string out;
            bool wsp = false;
            for (const char c : line) {
                if (c == ' ' || c == '\t') {
                    wsp = true;
                    continue;
                }
                if (wsp) {
                    out += ' ';
                }
                wsp = false;
                out += c;
            }
            line = out;  // trailing WSP was never written
        }
    }
    while (!lines.empty() && lines.back().empty()) {
        lines.pop_back();
    }
    std::string out;
    for (const auto& line : lines) {
        out += line + "\r\n";
    }
    if (canon == Canon::Simple && out.empty()) {
        out = "\r\n";
    }
    return out;
}

std::array<std::uint8_t, 32> sha256_of(std::string_view data) {
    std::array<std::uint8_t, 32> out{};
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr);
    return out;
}

std::string canonicalize_in_chunks(Canon canon, std::string_view body, std::size_t chunk) {
    std::string out;
    BodyCanonicalizer c(canon);
    for (std::size_t pos = 0; pos < body.size(); pos += chunk) {
        c.update(body.substr(pos, chunk), out);
    }
    c.finish(out);
    return out;
}

TEST(DkimCanon, BodyEdgeCasesAtChunkBoundaries) {
    // Trailing WSP at the end of one chunk, the CRLF in the next: still trailing.
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "abc \t\r\nd", 5), "abc\r\nd\r\n");
    // A WSP run split over chunks is still one SP.
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "ab  \t  cd\r\n", 3), "ab cd\r\n");
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "ab  \t  cd\r\n", 1), "ab cd\r\n");
    // CRLF split across chunks is a line end; a CR at the end of a chunk followed by other data
    // is data.
    EXPECT_EQ(canonicalize_in_chunks(Canon::Simple, "a \r\n\r\n", 3), "a \r\n");
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "a \r\r\n", 3), "a \r\r\n");
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "a\rb\r\n", 2), "a\rb\r\n");
    // Empty lines held back over a chunk boundary are written once content follows.
    EXPECT_EQ(
        canonicalize_in_chunks(Canon::Relaxed, "a\r\n\r\n \r\n\r\nb", 3), "a\r\n\r\n\r\n\r\nb\r\n"
    );
    // Bodies of only CRLFs (and WSP).
    EXPECT_EQ(canonicalize_in_chunks(Canon::Simple, "\r\n\r\n", 1), "\r\n");
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "\r\n\r\n", 1), "");
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "\r\n \t\r\n  ", 2), "");
    EXPECT_EQ(canonicalize_in_chunks(Canon::Simple, "\r\n \t\r\n  ", 2), "\r\n \t\r\n  \r\n");
    // Leading WSP of a line becomes one SP (relaxed), never dropped.
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, "\t\tx\r\n x\r\n"), " x\r\n x\r\n");
    // Bare LF is data, and so is a lone CR at the very end.
    EXPECT_EQ(canonicalize_in_chunks(Canon::Relaxed, "a\n \nb\r", 1), "a\n \nb\r\r\n");
}

TEST(DkimCanon, ManyHeldBackEmptyLines) {
    std::string body = "a\r\n";
    for (int i = 0; i < 1000; ++i) {
        body += i % 2 == 0 ? "\r\n" : " \r\n";
    }
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, body), "a\r\n");
    body += "b";
    std::string want = "a\r\n";
    for (int i = 0; i < 1000; ++i) {
        want += "\r\n";
    }
    EXPECT_EQ(canonicalize_body(Canon::Relaxed, body), want + "b\r\n");
    EXPECT_EQ(reference_body(Canon::Relaxed, body), want + "b\r\n");
}

// Random bodies over the characters that matter, cut into random chunks, against the reference;
// the hash (with and without l=) against SHA-256 of the reference output.
TEST(DkimCanon, BodyMatchesReferenceOnRandomInput) {
    std::mt19937 rng(6376);
    constexpr std::string_view kAlphabet = "ab  \t\r\r\n\n";
    for (int round = 0; round < 20000; ++round) {
        std::string body(rng() % 40, 'x');
        for (auto& c : body) {
            c = kAlphabet[rng() % kAlphabet.size()];
        }
        for (const auto canon : {Canon::Simple, Canon::Relaxed}) {
            const auto want = reference_body(canon, body);
            std::string got;
            BodyCanonicalizer c(canon);
            BodyHasher h(canon);
            const std::uint64_t limit = rng() % (want.size() + 2);
            BodyHasher limited(canon, limit);
            for (std::size_t pos = 0; pos < body.size();) {
                const auto n = std::min<std::size_t>(1 + rng() % 8, body.size() - pos);
                const auto chunk = std::string_view(body).substr(pos, n);
                c.update(chunk, got);
                h.update(chunk);
                limited.update(chunk);
                pos += n;
            }
            c.finish(got);
            ASSERT_EQ(got, want) << to_string(canon) << " body " << testing::PrintToString(body);
            ASSERT_EQ(h.finish(), sha256_of(want));
            EXPECT_EQ(h.canonical_length(), want.size());
            const auto limited_digest = limited.finish();
            const auto hashed = std::min<std::uint64_t>(limit, want.size());
            ASSERT_EQ(limited_digest, sha256_of(std::string_view(want).substr(0, hashed)));
            EXPECT_EQ(limited.hashed_length(), hashed);
            EXPECT_EQ(limited.canonical_length(), want.size());
        }
    }
}

// Bodies larger than the hasher's internal buffer: long unchanged lines (hashed straight from the
// input) mixed with short pieces, and l= limits that fall inside and beyond them.
TEST(DkimCanon, LargeBodyHashAndLengthLimits) {
    std::string body;
    for (int i = 0; i < 50; ++i) {
        body += std::string(static_cast<std::size_t>(i * 997 % 40000), 'q') + " \t x  \r\n\r\n";
    }
    for (const auto canon : {Canon::Simple, Canon::Relaxed}) {
        const auto want = reference_body(canon, body);
        ASSERT_EQ(canonicalize_body(canon, body), want);
        EXPECT_EQ(body_hash(canon, body), sha256_of(want));
        for (const std::uint64_t limit :
             {0UL,
              1UL,
              16383UL,
              16384UL,
              16385UL,
              40000UL,
              static_cast<std::uint64_t>(want.size()),
              1UL << 40}) {
            for (const std::size_t chunk : {std::size_t{7}, std::size_t{4096}, body.size()}) {
                BodyHasher h(canon, limit);
                for (std::size_t pos = 0; pos < body.size(); pos += chunk) {
                    h.update(std::string_view(body).substr(pos, chunk));
                }
                const auto hashed = std::min<std::uint64_t>(limit, want.size());
                ASSERT_EQ(h.finish(), sha256_of(std::string_view(want).substr(0, hashed)))
                    << to_string(canon) << " l=" << limit << " chunk " << chunk;
                EXPECT_EQ(h.hashed_length(), hashed);
                EXPECT_EQ(h.canonical_length(), want.size());
            }
        }
    }
}

TEST(DkimCanon, RelaxedHeaderDetails) {
    EXPECT_EQ(
        canonicalize_header(Canon::Relaxed, "SUBJect \t:  hello   world \t"), "subject:hello world"
    );
    EXPECT_EQ(canonicalize_header(Canon::Relaxed, "To: a@b,\r\n\tc@d"), "to:a@b, c@d");
    EXPECT_EQ(canonicalize_header(Canon::Relaxed, "X-Empty:"), "x-empty:");
    EXPECT_EQ(canonicalize_header(Canon::Relaxed, "X-Empty:  \r\n "), "x-empty:");
    EXPECT_EQ(canonicalize_header(Canon::Relaxed, "X: \xc3\xa4  b"), "x:\xc3\xa4 b");
}

TEST(DkimCanon, SplitMessage) {
    const std::string_view msg = "From: a\r\nTo: b,\r\n c\r\nSubject: s\r\n\r\nbody\r\n";
    const auto split = split_message(msg);
    ASSERT_EQ(split.status, SplitMessage::Status::Ok);
    ASSERT_EQ(split.fields.size(), 3U);
    EXPECT_EQ(split.fields[1].name, "To");
    EXPECT_EQ(split.fields[1].raw, "To: b,\r\n c");
    EXPECT_EQ(msg.substr(split.body_offset), "body\r\n");

    const auto no_body = split_message("From: a\r\nSubject: s\r\n");
    ASSERT_EQ(no_body.status, SplitMessage::Status::Ok);
    EXPECT_EQ(no_body.fields.size(), 2U);
    EXPECT_EQ(no_body.fields[1].raw, "Subject: s");
    EXPECT_EQ(no_body.body_offset, 21U);

    EXPECT_EQ(
        split_message("From: a\r\nnot a field\r\n\r\n").status, SplitMessage::Status::BadField
    );
    EXPECT_EQ(split_message(" continued\r\n\r\n").status, SplitMessage::Status::BadField);
    EXPECT_EQ(split_message("Bad Name: x\r\n\r\n").status, SplitMessage::Status::BadField);
    std::string many;
    for (int i = 0; i < 20; ++i) {
        many += "X: y\r\n";
    }
    EXPECT_EQ(split_message(many, {.max_fields = 10}).status, SplitMessage::Status::TooManyFields);
}

TEST(DkimCanon, HeaderSelectionIsBottomUp) {
    // RFC 6376 §5.4.2: repeated names pick instances from the bottom; one name too many
    // contributes nothing.
    const std::string_view msg = "Received: 1\r\nX: first\r\nY: y\r\nX: second\r\n\r\n";
    const auto split = split_message(msg);
    EXPECT_EQ(
        canonical_header_data(Canon::Relaxed, split.fields, {"x", "y", "X", "x", "z"}),
        "x:second\r\ny:y\r\nx:first\r\n"
    );
}

TEST(DkimCanon, CanonNames) {
    EXPECT_EQ(canon_from_string("Relaxed"), Canon::Relaxed);
    EXPECT_EQ(canon_from_string("simple"), Canon::Simple);
    EXPECT_EQ(canon_from_string("nowsp"), std::nullopt);
}

}  // namespace
}  // namespace sov::mailauth
