#include "net/tls_context.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace sov::net {
namespace {

TEST(TlsContext, SelfSignedCertificateLoads) {
    test::TempDir dir;
    std::string error;
    ASSERT_TRUE(write_self_signed_certificate(
        "mail.example.test", dir.path() / "cert.pem", dir.path() / "key.pem", error
    )) << error;
    EXPECT_EQ(
        std::filesystem::status(dir.path() / "key.pem").permissions() &
            std::filesystem::perms::others_read,
        std::filesystem::perms::none
    );
    TlsContextHolder holder{dir.path() / "cert.pem", dir.path() / "key.pem"};
    EXPECT_FALSE(holder.current());
    ASSERT_TRUE(holder.reload(error)) << error;
    EXPECT_TRUE(holder.current());
}

TEST(TlsContext, BadFilesKeepPreviousContext) {
    test::TempDir dir;
    std::string error;
    ASSERT_TRUE(write_self_signed_certificate(
        "a.test", dir.path() / "cert.pem", dir.path() / "key.pem", error
    ));
    TlsContextHolder holder{dir.path() / "cert.pem", dir.path() / "key.pem"};
    ASSERT_TRUE(holder.reload(error));
    const auto before = holder.current();
    std::ofstream{dir.path() / "cert.pem"} << "garbage";
    EXPECT_FALSE(holder.reload(error));
    EXPECT_NE(error.find("cannot load certificate"), std::string::npos) << error;
    EXPECT_EQ(holder.current(), before);
}

}  // namespace
}  // namespace sov::net
