#pragma once
// Names the calling thread (at most 15 characters, Linux's limit), so `top -H`, `perf` and the
// benchmarks can tell the I/O threads from the store's committer, syncers and indexer.
#include <pthread.h>

namespace sov::core {

inline void set_thread_name(const char* name) noexcept {
    (void)pthread_setname_np(pthread_self(), name);
}

}  // namespace sov::core
