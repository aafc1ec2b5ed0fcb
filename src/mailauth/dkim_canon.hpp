#pragma once
// DKIM canonicalisation (RFC 6376 §3.4) and the header/body split it works on. Shared by signing
// and (issue 6) verification, so nothing here knows about keys or signatures.
//
// Input messages use CRLF line ends (as SMTP carries them). A CR or LF that is not part of a CRLF
// pair is ordinary data: it is neither a line end nor whitespace, so it survives canonicalisation
// unchanged, which is what a verifier seeing the same bytes computes too.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

namespace sov::mailauth {

/// The two canonicalisation algorithms of RFC 6376 §3.4.
enum class Canon {
    Simple,
    Relaxed,
};

[[nodiscard]] std::string_view to_string(Canon canon) noexcept;
/// "simple" / "relaxed" (case-insensitive); nullopt for anything else.
[[nodiscard]] std::optional<Canon> canon_from_string(std::string_view name) noexcept;

// ---------------------------------------------------------------------------------- header fields

/// One header field of a message: `raw` is the field exactly as it appears, from the first
/// character of its name to the end of its last (possibly folded) line, without the final CRLF.
struct HeaderField {
    std::string_view name;  // as written, without trailing WSP before the colon
    std::string_view raw;
};

struct HeaderLimits {
    // Guards the work a hostile message can cause (each field is hashed per h= entry). Real
    // messages have tens of fields; mailing-list digests a few hundred.
    std::size_t max_fields = 1000;
};

struct SplitMessage {
    enum class Status {
        Ok,
        TooManyFields,
        BadField,  // a header line that is neither a field (no colon) nor a continuation
    };
    Status status = Status::Ok;
    std::vector<HeaderField> fields;  // in message order; views into the message
    std::size_t body_offset = 0;      // first byte of the body (after the empty line), or size()
};

/// Splits `message` into header fields and body (RFC 5322 §2.1, §2.2.3). The header ends at the
/// first empty line; a message without one is all header and has an empty body.
[[nodiscard]] SplitMessage split_message(std::string_view message, const HeaderLimits& limits = {});

/// The canonical form of one header field (RFC 6376 §3.4.1 simple, §3.4.2 relaxed), *without*
/// the final CRLF (§3.7: the DKIM-Signature field itself is hashed without it; callers append
/// "\r\n" for the other fields).
[[nodiscard]] std::string canonicalize_header(Canon canon, std::string_view raw_field);
/// canonicalize_header appending to `out` (a reused buffer: no allocation once it has grown).
void append_canonical_header(Canon canon, std::string_view raw_field, std::string& out);

/// The header data a signature covers (RFC 6376 §5.4.2, §3.7): for each name of the h= list in
/// order, the next unused instance of that field counted from the *bottom* of the header,
/// canonicalised and followed by CRLF. A name with no instance left contributes nothing (how
/// "oversigning" signs the absence of a further instance). Names compare case-insensitively.
[[nodiscard]] std::string canonical_header_data(
    Canon canon, const std::vector<HeaderField>& fields, const std::vector<std::string>& names
);
/// canonical_header_data appending to `out`; `used` is scratch space (one flag per field), passed
/// in so that a caller signing many messages reuses it.
void append_canonical_header_data(
    Canon canon,
    std::span<const HeaderField> fields,
    std::span<const std::string_view> names,
    std::string& out,
    std::vector<std::uint8_t>& used
);

/// SHA-256 as an EVP_MD fetched from the default provider once per process. EVP_sha256() makes
/// every EVP_DigestInit_ex look the implementation up again (OpenSSL 3), which costs more than
/// hashing a header; with this it does not. Never null.
[[nodiscard]] const EVP_MD* sha256_md() noexcept;

// ------------------------------------------------------------------------------------------- body

/// Streaming body canonicalisation (RFC 6376 §3.4.3 simple, §3.4.4 relaxed, with errata 1384 for
/// empty bodies): feed the body in chunks of any size, get the canonical bytes appended to `out`.
/// Trailing empty lines are held back until a non-empty line follows, so memory stays bounded by
/// a counter, not by the body.
class BodyCanonicalizer {
public:
    explicit BodyCanonicalizer(Canon canon) noexcept : canon_(canon) {}

    void update(std::string_view chunk, std::string& out);
    /// Ends the body: adds the final CRLF where the algorithm wants one (simple: always at least
    /// "CRLF"; relaxed: only for a non-empty body that lacks it).
    void finish(std::string& out);

private:
    friend class BodyHasher;

    // The work behind update()/finish(), for any sink with append(const char*, std::size_t).
    // Unchanged stretches of the input reach the sink as one span each (no per-byte appends);
    // defined and instantiated in dkim_canon.cpp only.
    template <typename Sink>
    void run(std::string_view chunk, Sink& sink);
    template <typename Sink>
    void end(Sink& sink);
    template <typename Sink>
    void start_content(Sink& sink);
    template <typename Sink>
    void line_end(Sink& sink);

    Canon canon_;
    bool at_line_start_ = true;
    bool pending_cr_ = false;   // a CR ended the last chunk: a line end if LF comes next
    bool pending_wsp_ = false;  // relaxed: WSP seen in this line, not yet written
    bool emitted_any_ = false;
    std::uint64_t pending_empty_lines_ = 0;
};

/// SHA-256 of the canonical body, optionally cut to `length_limit` canonical octets (the l= tag,
/// RFC 6376 §3.5; we never set it when signing, a verifier may meet it).
class BodyHasher {
public:
    explicit BodyHasher(Canon canon, std::optional<std::uint64_t> length_limit = std::nullopt);

    void update(std::string_view chunk);
    /// The digest; the hasher cannot be updated afterwards.
    [[nodiscard]] std::array<std::uint8_t, 32> finish();
    /// Canonical octets hashed so far (after finish(): the whole canonical body, up to the limit).
    [[nodiscard]] std::uint64_t hashed_length() const noexcept { return hashed_; }
    /// Canonical octets produced, hashed or not (a verifier compares it with l=).
    [[nodiscard]] std::uint64_t canonical_length() const noexcept { return produced_; }

private:
    struct Sink;
    // Canonical octets in: cut to the limit, gathered in buffer_, hashed in large blocks.
    void consume(const char* data, std::size_t size);
    void flush() noexcept;

    // SHA-256 costs little per call only when fed in blocks: canonical output comes in short
    // pieces (a line, a word), so it is gathered here first.
    static constexpr std::size_t kBufferSize = 16384;

    BodyCanonicalizer canon_;
    std::optional<std::uint64_t> limit_;
    struct CtxFree {
        void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
    };
    std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
    std::unique_ptr<char[]> buffer_;
    std::size_t buffered_ = 0;
    std::uint64_t hashed_ = 0;
    std::uint64_t produced_ = 0;
};

/// Whole-buffer conveniences (tests, small messages).
[[nodiscard]] std::string canonicalize_body(Canon canon, std::string_view body);
[[nodiscard]] std::array<std::uint8_t, 32> body_hash(Canon canon, std::string_view body);

}  // namespace sov::mailauth
