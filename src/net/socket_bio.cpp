#include "net/socket_bio.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace sov::net {
namespace {

int fd_of(BIO* bio) {
    return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int socket_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    const ssize_t n = ::send(fd_of(bio), data, size, MSG_NOSIGNAL);
    if (n < 0) {
        if (would_block(errno)) {
            BIO_set_retry_write(bio);
        }
        return 0;
    }
    *written = static_cast<std::size_t>(n);
    return 1;
}

int socket_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
    BIO_clear_retry_flags(bio);
    const ssize_t n = ::recv(fd_of(bio), data, size, 0);
    if (n < 0) {
        if (would_block(errno)) {
            BIO_set_retry_read(bio);
        }
        return 0;
    }
    if (n == 0) {
        BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // lets SSL tell EOF from an error
        return 0;
    }
    *read = static_cast<std::size_t>(n);
    return 1;
}

long socket_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
    switch (command) {
        case BIO_CTRL_FLUSH:
            return 1;  // nothing is buffered here
        case BIO_CTRL_EOF:
            return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
        default:
            return 0;
    }
}

// One method table for the process, made on first use (thread-safe static initialisation).
const BIO_METHOD* socket_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sov-socket");
        if (m != nullptr) {
            BIO_meth_set_write_ex(m, socket_write);
            BIO_meth_set_read_ex(m, socket_read);
            BIO_meth_set_ctrl(m, socket_ctrl);
            BIO_meth_set_create(m, [](BIO* bio) {
                BIO_set_init(bio, 1);
                return 1;
            });
        }
        return m;
    }();
    return method;
}

}  // namespace

BIO* new_socket_bio(int fd) {
    const BIO_METHOD* method = socket_method();
    if (method == nullptr) {
        return nullptr;
    }
    BIO* bio = BIO_new(method);
    if (bio != nullptr) {
        BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    }
    return bio;
}

}  // namespace sov::net
