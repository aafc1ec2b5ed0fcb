#include "net/deflate.hpp"

#include <zlib.h>

#include <array>

namespace sov::net {

struct DeflateCodec::State {
    z_stream deflate{};
    z_stream inflate{};
    bool ok = false;
};

DeflateCodec::DeflateCodec() : state_(std::make_unique<State>()) {
    // windowBits -15: raw DEFLATE (RFC 4978 §3). memLevel 8 is zlib's default.
    const bool d =
        deflateInit2(
            &state_->deflate, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY
        ) == Z_OK;
    const bool i = inflateInit2(&state_->inflate, -15) == Z_OK;
    state_->ok = d && i;
}

DeflateCodec::~DeflateCodec() {
    deflateEnd(&state_->deflate);
    inflateEnd(&state_->inflate);
}

bool DeflateCodec::compress(std::string_view plain, std::string& out) {
    if (!state_->ok) {
        return false;
    }
    z_stream& z = state_->deflate;
    // zlib's API is not const-correct; it does not write through next_in.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    z.avail_in = static_cast<uInt>(plain.size());
    std::array<char, 16384> chunk{};
    do {
        z.next_out = reinterpret_cast<Bytef*>(chunk.data());
        z.avail_out = static_cast<uInt>(chunk.size());
        if (deflate(&z, Z_SYNC_FLUSH) == Z_STREAM_ERROR) {
            return false;
        }
        out.append(chunk.data(), chunk.size() - z.avail_out);
    } while (z.avail_out == 0);
    return true;
}

bool DeflateCodec::decompress(
    std::string_view compressed, std::string& out, std::size_t max_output
) {
    if (!state_->ok) {
        return false;
    }
    z_stream& z = state_->inflate;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    z.avail_in = static_cast<uInt>(compressed.size());
    std::array<char, 16384> chunk{};
    std::size_t produced = 0;
    while (z.avail_in > 0) {
        z.next_out = reinterpret_cast<Bytef*>(chunk.data());
        z.avail_out = static_cast<uInt>(chunk.size());
        const int rc = inflate(&z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return false;  // Z_STREAM_END is also wrong: the client may not end the stream
        }
        const std::size_t n = chunk.size() - z.avail_out;
        produced += n;
        if (produced > max_output) {
            return false;
        }
        out.append(chunk.data(), n);
        if (n == 0 && rc == Z_BUF_ERROR) {
            break;
        }
    }
    return true;
}

}  // namespace sov::net
