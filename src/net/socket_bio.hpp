#pragma once
// An OpenSSL BIO over a non-blocking socket that writes with send(MSG_NOSIGNAL): OpenSSL's own
// socket BIO uses write(2), which raises SIGPIPE (and kills the process) when the peer has reset
// the connection. Reads and writes that would block set the BIO's retry flags, so SSL_read and
// SSL_write report SSL_ERROR_WANT_READ / WANT_WRITE and the caller waits for the socket.
#include <openssl/bio.h>

namespace sov::net {

/// A new BIO for `fd` (not closed when the BIO is freed), or null.
BIO* new_socket_bio(int fd);

}  // namespace sov::net
