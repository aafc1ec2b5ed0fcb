#pragma once
// Raw DEFLATE (RFC 1951) in both directions of a connection, as IMAP COMPRESS=DEFLATE (RFC 4978)
// uses it: no zlib header, and every burst of output ends with a sync flush so the peer can
// decode what it has received without waiting for more.
#include <memory>
#include <string>
#include <string_view>

namespace sov::net {

class DeflateCodec {
public:
    DeflateCodec();
    ~DeflateCodec();
    DeflateCodec(const DeflateCodec&) = delete;
    DeflateCodec& operator=(const DeflateCodec&) = delete;

    /// Compresses `plain` and appends it, sync-flushed, to `out`.
    bool compress(std::string_view plain, std::string& out);
    /// Decompresses `compressed` and appends the result to `out`; false on corrupt input or when
    /// more than `max_output` bytes would come out of this chunk (a decompression bomb).
    bool decompress(std::string_view compressed, std::string& out, std::size_t max_output);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace sov::net
