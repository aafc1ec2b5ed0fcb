#include "net/deflate.hpp"

#include <gtest/gtest.h>

namespace sov::net {
namespace {

TEST(Deflate, RoundTripsInSyncFlushedBursts) {
    DeflateCodec client;
    DeflateCodec server;
    std::string wire;
    ASSERT_TRUE(client.compress("a1 CAPABILITY\r\n", wire));
    std::string plain;
    // Each burst decodes on its own: the sync flush makes the data available at once.
    ASSERT_TRUE(server.decompress(wire, plain, 1 << 20));
    EXPECT_EQ(plain, "a1 CAPABILITY\r\n");
    wire.clear();
    const std::string big(100000, 'x');
    ASSERT_TRUE(client.compress(big, wire));
    EXPECT_LT(wire.size(), 2000U);
    plain.clear();
    ASSERT_TRUE(server.decompress(wire.substr(0, 10), plain, 1 << 20));
    ASSERT_TRUE(server.decompress(wire.substr(10), plain, 1 << 20));
    EXPECT_EQ(plain, big);
}

TEST(Deflate, RefusesBombsAndGarbage) {
    DeflateCodec a;
    DeflateCodec b;
    std::string wire;
    ASSERT_TRUE(a.compress(std::string(1 << 20, '\0'), wire));
    std::string out;
    EXPECT_FALSE(b.decompress(wire, out, 64 * 1024));
    DeflateCodec c;
    out.clear();
    EXPECT_FALSE(c.decompress("\xff\xff\xff\xff garbage", out, 1 << 20));
}

}  // namespace
}  // namespace sov::net
