// read_message_file: a message file relative to its account directory, read in one call when
// the index's size is right and measured when it is not.
#include "imap/engine/message_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace sov::imap {
namespace {

class MessageFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(dir_.path() / "msg" / "b");
        std::ofstream(dir_.path() / "msg" / "b" / "m1") << kBytes;
        dir_fd_ = ::open(dir_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_GE(dir_fd_, 0);
    }
    void TearDown() override { ::close(dir_fd_); }

    std::optional<std::string> read(
        std::uint64_t expected, std::uint64_t limit = UINT64_MAX, const char* path = "msg/b/m1"
    ) {
        std::string buffer(3, 'x');  // a reused buffer: only the front is the file
        const auto n = read_message_file(
            {.dir_fd = dir_fd_, .path = path, .expected_size = expected}, limit, buffer
        );
        if (!n) {
            return std::nullopt;
        }
        return buffer.substr(0, *n);
    }

    static constexpr std::string_view kBytes = "Subject: s\r\n\r\nbody\r\n";
    test::TempDir dir_;
    int dir_fd_ = -1;
};

TEST_F(MessageFileTest, TheIndexSizeOrAWrongOneGivesTheWholeFile) {
    for (const std::uint64_t expected :
         {kBytes.size(),
          std::uint64_t{0},
          std::uint64_t{5},
          kBytes.size() - 1,
          kBytes.size() + 1,
          std::uint64_t{4096}}) {
        EXPECT_EQ(read(expected), std::string(kBytes)) << expected;
    }
}

TEST_F(MessageFileTest, ALimitGivesTheFrontOnly) {
    EXPECT_EQ(read(kBytes.size(), 12), "Subject: s\r\n");
    EXPECT_EQ(read(0, 12), "Subject: s\r\n");
    EXPECT_EQ(read(kBytes.size() + 50, 12), "Subject: s\r\n");  // the index's size is wrong
    EXPECT_EQ(read(kBytes.size(), 1000), std::string(kBytes));
    EXPECT_EQ(read(4, 1000), std::string(kBytes));  // short by the index, shorter than the limit
}

TEST_F(MessageFileTest, AnAbsolutePathAndMissingOrLinkedFiles) {
    const auto absolute = (dir_.path() / "msg" / "b" / "m1").string();
    EXPECT_EQ(read(kBytes.size(), UINT64_MAX, absolute.c_str()), std::string(kBytes));
    EXPECT_EQ(read(kBytes.size(), UINT64_MAX, "msg/b/gone"), std::nullopt);
    std::filesystem::create_symlink(dir_.path() / "msg" / "b" / "m1", dir_.path() / "link");
    EXPECT_EQ(read(kBytes.size(), UINT64_MAX, "link"), std::nullopt);  // O_NOFOLLOW
}

}  // namespace
}  // namespace sov::imap
