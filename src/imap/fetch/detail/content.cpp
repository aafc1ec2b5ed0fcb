#include "imap/fetch/detail/content.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

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

namespace {

// Bare LFs and NULs of d[i, n), counted one octet at a time from i (d[i - 1] exists).
void scan_octets(const char* d, std::size_t n, std::size_t i, TextScan& r) noexcept {
    for (; i < n; ++i) {
        r.bare_lf += d[i] == '\n' && d[i - 1] != '\r' ? 1 : 0;
        r.nul = r.nul || d[i] == '\0';
    }
}

typedef unsigned char Octets16 __attribute__((vector_size(16)));
typedef unsigned char Octets32 __attribute__((vector_size(32)));

// Bare LFs and NULs of d[i, n) in blocks of W octets, from i while a whole block is left;
// returns where it stopped. Each block: the LFs whose preceding octet (loaded one to the left)
// is not CR, and any NUL. Bare LFs are counted per octet lane (a match is -1, subtracted) and
// the lanes summed before any can overflow, so no popcount is needed per block (baseline
// x86-64 lacks it: GCC would call libgcc's __popcountdi2, ~20 instructions, for each).
// GCC's vector extensions, so that one text serves both widths: inlined into scan_avx2 it
// compiles to 32-octet AVX2 instructions, elsewhere to 16-octet SSE2 ones.
template <class Octets>
[[gnu::always_inline]] inline std::size_t scan_blocks(
    const char* d, std::size_t n, std::size_t i, TextScan& r
) noexcept {
    constexpr std::size_t W = sizeof(Octets);
    const auto lane_sum = [](const Octets& v) {
        std::uint64_t sum = 0;
        for (std::size_t k = 0; k < W; ++k) {
            sum += v[k];
        }
        return sum;
    };
    Octets lane_counts{};
    Octets nuls{};
    unsigned blocks = 0;
    for (; i + W <= n; i += W) {
        Octets cur;
        Octets before;
        std::memcpy(&cur, d + i, W);
        std::memcpy(&before, d + i - 1, W);
        lane_counts -= reinterpret_cast<Octets>((cur == '\n') & ~(before == '\r'));
        nuls |= reinterpret_cast<Octets>(cur == 0);
        if (++blocks == 255) {
            r.bare_lf += lane_sum(lane_counts);
            lane_counts = Octets{};
            blocks = 0;
        }
    }
    r.bare_lf += lane_sum(lane_counts);
    r.nul = r.nul || lane_sum(nuls) != 0;
    return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define SOV_SCAN_AVX2 1
// 32 octets at a time on CPUs with AVX2, chosen at run time (the build targets baseline
// x86-64). FETCH BODY[] scans every message it sends: the 16-octet loop alone was about a
// third of the engine's instructions for a 20 KB message.
__attribute__((target("avx2"))) std::size_t scan_avx2(
    const char* d, std::size_t n, std::size_t i, TextScan& r
) noexcept {
    return scan_blocks<Octets32>(d, n, i, r);
}

bool cpu_has_avx2() noexcept {
    static const bool has = __builtin_cpu_supports("avx2") != 0;
    return has;
}
#endif

}  // namespace

TextScan scan_text(Text t, ScanWidth width) noexcept {
    const char* d = t.bytes.data();
    const std::size_t n = t.bytes.size();
    TextScan result;
    if (n == 0) {
        return result;
    }
    result.bare_lf = d[0] == '\n' && !t.prev_cr ? 1 : 0;
    result.nul = d[0] == '\0';
    std::size_t i = 1;
#if defined(SOV_SCAN_AVX2)
    if (width == ScanWidth::Widest && cpu_has_avx2()) {
        i = scan_avx2(d, n, i, result);
    }
#endif
    if (width != ScanWidth::Octets) {
        i = scan_blocks<Octets16>(d, n, i, result);
    }
    scan_octets(d, n, i, result);
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
