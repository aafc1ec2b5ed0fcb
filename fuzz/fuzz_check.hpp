#pragma once
// The fuzz targets' assertion. A property that does not hold aborts: libFuzzer reports that as
// a crash and saves the input, and the corpus replay test (replay_main.cpp) fails. Unlike
// assert() it stays in builds with NDEBUG.
#include <cstdlib>

namespace sov::fuzz {

inline void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace sov::fuzz
