#include "imap/fetch/detail/content.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sov::imap::fetch::detail {
namespace {

// The LF at `k` is bare: not preceded by CR (in the whole message, see Text::prev_cr).
bool is_bare(const Text& t, std::size_t k) noexcept {
    return k == 0 ? !t.prev_cr : t.bytes[k - 1] != '\r';
}

// Calls sink(chunk) for the normalised octets [from, to) of `t`, in order. Chunks run from one
// bare LF to the next, so CRLF content goes out in one piece.
template <class Sink>
void for_each_normalized(const Text& t, std::uint64_t from, std::uint64_t to, Sink&& sink) {
    const char* d = t.bytes.data();
    const std::size_t n = t.bytes.size();
    std::uint64_t pos = 0;  // normalised offset of the next chunk
    const auto emit = [&](std::string_view chunk) {
        const std::uint64_t b = pos;
        const std::uint64_t e = pos + chunk.size();
        pos = e;
        if (e <= from || b >= to) {
            return;
        }
        const std::uint64_t lo = std::max(b, from) - b;
        const std::uint64_t hi = std::min(e, to) - b;
        sink(chunk.substr(static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo)));
    };
    std::size_t i = 0;
    while (i < n && pos < to) {
        std::size_t j = i;
        std::size_t bare = n;
        while (j < n) {
            const void* nl = std::memchr(d + j, '\n', n - j);
            if (nl == nullptr) {
                break;
            }
            const auto k = static_cast<std::size_t>(static_cast<const char*>(nl) - d);
            if (is_bare(t, k)) {
                bare = k;
                break;
            }
            j = k + 1;
        }
        if (bare == n) {
            emit(std::string_view(d + i, n - i));
            break;
        }
        emit(std::string_view(d + i, bare - i));
        emit("\r\n");
        i = bare + 1;
    }
}

}  // namespace

Text slice(std::string_view message, std::uint64_t begin, std::uint64_t end) noexcept {
    const std::uint64_t size = message.size();
    end = std::min(end, size);
    begin = std::min(begin, end);
    const auto b = static_cast<std::size_t>(begin);
    return Text{
        message.substr(b, static_cast<std::size_t>(end - begin)), b > 0 && message[b - 1] == '\r'
    };
}

TextScan scan_text(Text t) noexcept {
    const char* d = t.bytes.data();
    const std::size_t n = t.bytes.size();
    TextScan result;
    if (n == 0) {
        return result;
    }
    std::uint64_t bare = d[0] == '\n' && !t.prev_cr ? 1 : 0;
    bool nul = d[0] == '\0';
    std::size_t i = 1;
#if defined(__SSE2__)
    // Each block: the LFs at [i, i + 16) whose preceding octet (loaded one to the left) is not
    // CR, and any NUL. Bare LFs are counted per byte lane (a match is -1, subtracted), and the
    // lanes summed before any can overflow: no popcount, which baseline x86-64 lacks (GCC calls
    // libgcc's __popcountdi2, ~20 instructions, for every block).
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i zero = _mm_setzero_si128();
    __m128i nuls = zero;
    __m128i lane_counts = zero;
    __m128i sums = zero;  // two 64-bit sums
    unsigned blocks = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i cur = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
        const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i - 1));
        const __m128i bare_lfs =
            _mm_andnot_si128(_mm_cmpeq_epi8(before, cr), _mm_cmpeq_epi8(cur, lf));
        lane_counts = _mm_sub_epi8(lane_counts, bare_lfs);
        nuls = _mm_or_si128(nuls, _mm_cmpeq_epi8(cur, zero));
        if (++blocks == 255) {
            sums = _mm_add_epi64(sums, _mm_sad_epu8(lane_counts, zero));
            lane_counts = zero;
            blocks = 0;
        }
    }
    sums = _mm_add_epi64(sums, _mm_sad_epu8(lane_counts, zero));
    bare += static_cast<std::uint64_t>(_mm_cvtsi128_si64(sums)) +
            static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
    nul = nul || _mm_movemask_epi8(nuls) != 0;
#endif
    for (; i < n; ++i) {
        bare += d[i] == '\n' && d[i - 1] != '\r' ? 1 : 0;
        nul = nul || d[i] == '\0';
    }
    result.bare_lf = bare;
    result.nul = nul;
    return result;
}

void append_normalized(Text t, std::uint64_t from, std::uint64_t to, std::string& out) {
    for_each_normalized(t, from, to, [&out](std::string_view chunk) { out.append(chunk); });
}

void write_normalized_literal(
    wire::ResponseWriter& w, Text t, const TextScan& scan, std::uint64_t from, std::uint64_t to
) {
    if (to <= from) {
        w.string("");
        return;
    }
    std::array<char, 32> head{};
    head[0] = '{';
    auto r = std::to_chars(head.data() + 1, head.data() + head.size() - 3, to - from);
    *r.ptr++ = '}';
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    // The literal, and room for the closing tokens and the tagged reply after it.
    constexpr std::size_t kAfterLiteral = 128;
    w.reserve(static_cast<std::size_t>(to - from) + kAfterLiteral);
    w.atom(std::string_view(head.data(), static_cast<std::size_t>(r.ptr - head.data())));
    if (scan.clean()) {
        w.raw(t.bytes.substr(static_cast<std::size_t>(from), static_cast<std::size_t>(to - from)));
        return;
    }
    for_each_normalized(t, from, to, [&w](std::string_view chunk) {
        // CHAR8 = %x01-ff (RFC 9051 §9): NUL cannot go in a literal.
        for (;;) {
            const void* z = std::memchr(chunk.data(), '\0', chunk.size());
            if (z == nullptr) {
                w.raw(chunk);
                return;
            }
            const auto k = static_cast<std::size_t>(static_cast<const char*>(z) - chunk.data());
            w.raw(chunk.substr(0, k));
            w.raw("\x80");
            chunk.remove_prefix(k + 1);
        }
    });
}

std::pair<std::uint64_t, std::uint64_t> window(
    std::uint64_t total, const std::optional<wire::Partial>& partial
) noexcept {
    if (!partial) {
        return {0, total};
    }
    const std::uint64_t start = std::min(partial->offset, total);
    const std::uint64_t len = std::min(partial->length, total - start);
    return {start, start + len};
}

}  // namespace sov::imap::fetch::detail
