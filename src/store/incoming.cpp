// Incoming: a message being received into the spool (<data>/tmp), buffered, then written,
// structured and fdatasync'ed by a store worker before delivery; and Store::begin_message().
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

namespace fs = std::filesystem;

namespace {

// Bytes kept in memory before the spool file is written: a typical message (a few KB) then costs
// one write(2), and its structure is computed without reading the file back.
constexpr std::size_t kSpoolBuffer = 128 * 1024;

}  // namespace

Incoming::Incoming(int fd, fs::path path, std::string name)
    : fd_(fd), path_(std::move(path)), name_(std::move(name)) {}

Incoming::Incoming(Incoming&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::exchange(other.path_, {})),
      name_(std::move(other.name_)),
      buffer_(std::move(other.buffer_)),
      size_(std::exchange(other.size_, 0)),
      flushed_any_(other.flushed_any_),
      error_(other.error_) {}

Incoming& Incoming::operator=(Incoming&& other) noexcept {
    if (this != &other) {
        discard();
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::exchange(other.path_, {});
        name_ = std::move(other.name_);
        buffer_ = std::move(other.buffer_);
        size_ = std::exchange(other.size_, 0);
        flushed_any_ = other.flushed_any_;
        error_ = other.error_;
    }
    return *this;
}

Incoming::~Incoming() {
    discard();
}

void Incoming::discard() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!path_.empty()) {
        detail::remove_file(path_);
        path_.clear();
    }
}

Status Incoming::append(std::string_view bytes) {
    if (error_) {
        return error_;
    }
    if (fd_ < 0) {
        return Errc::Invalid;  // moved from
    }
    buffer_.append(bytes);
    size_ += bytes.size();
    if (buffer_.size() >= kSpoolBuffer) {
        return flush();
    }
    return {};
}

Status Incoming::flush() {
    if (buffer_.empty()) {
        return {};
    }
    if (auto st = detail::write_all(fd_, buffer_, path_); !st) {
        error_ = st.error();
        return st;
    }
    buffer_.clear();
    flushed_any_ = true;
    return {};
}

Result<std::string> Incoming::contents() {
    if (error_) {
        return error_;
    }
    if (!flushed_any_) {
        return buffer_;  // small messages never reached the file
    }
    if (auto st = flush(); !st) {
        return st.error();
    }
    return detail::read_file(path_);
}

Status Incoming::finish(
    const std::function<std::string(std::string_view)>& structure_of, std::string& structure
) {
    if (error_) {
        return error_;
    }
    if (fd_ < 0) {
        return Errc::Invalid;
    }
    const bool in_memory = !flushed_any_;
    auto compute = [&](std::string_view bytes) {
        if (!structure_of) {
            return;
        }
        // The parser is foreign code running on our worker thread: a throw must not kill the
        // store, and a message without a structure blob is still a delivered message.
        try {
            structure = structure_of(bytes);
        } catch (const std::exception& e) {
            log::error("store.structure_failed", {{"file", name_}, {"error", e.what()}});
            structure.clear();
        }
    };
    if (in_memory) {
        compute(buffer_);
    }
    if (auto st = flush(); !st) {
        return st;
    }
    if (!in_memory && structure_of) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
        if (p == MAP_FAILED) {
            // fd_ is O_RDWR so this only fails on resource exhaustion.
            log::error("store.io", {{"op", "mmap"}, {"path", path_.string()}});
            return Errc::Io;
        }
        compute({static_cast<const char*>(p), static_cast<std::size_t>(size_)});
        ::munmap(p, size_);
    }
    std::string().swap(buffer_);
    return detail::sync_data(fd_, path_);
}

Result<Incoming> Store::begin_message() {
    std::string name = fmt::format("{}-{}", impl_->token, impl_->counter.fetch_add(1));
    fs::path path = impl_->spool_dir / name;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        log::error(
            "store.io",
            {{"op", "create_spool"}, {"path", path.string()}, {"error", std::strerror(errno)}}
        );
        return Errc::Io;
    }
    return IncomingAccess::make(fd, std::move(path), std::move(name));
}

}  // namespace sov::store
