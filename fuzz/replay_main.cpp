// Replays a fuzz corpus through a libFuzzer entry point in an ordinary build, so every saved
// input (crashes found earlier included) is a regression test in every CI run (PowerDNS's
// standalone_fuzz_target_runner). Usage: <target>_replay DIR_OR_FILE...
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int replay_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    // An empty vector's data() may be null; libFuzzer never passes null, so neither do we.
    static const std::uint8_t kEmpty = 0;
    const auto* data =
        bytes.empty() ? &kEmpty : reinterpret_cast<const std::uint8_t*>(bytes.data());
    return LLVMFuzzerTestOneInput(data, bytes.size());
}
}  // namespace

int main(int argc, char** argv) {
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg{argv[i]};
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
                if (entry.is_regular_file()) {
                    replay_file(entry.path());
                    ++count;
                }
            }
        } else {
            replay_file(arg);
            ++count;
        }
    }
    if (count == 0) {
        std::cerr << "replay: no corpus files found\n";
        return 1;
    }
    std::cout << "replay: " << count << " inputs ran without a crash\n";
    return 0;
}
