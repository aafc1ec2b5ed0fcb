#pragma once
// Builds the parenthesised values of ENVELOPE and BODY/BODYSTRUCTURE (RFC 9051 §9 "envelope",
// "body") as text, choosing for every string the form ResponseWriter::string() would choose in
// this session (quoted, or a literal for 8-bit data outside UTF-8 sessions, CR/LF, long
// values). It exists because the grammar glues adjacent lists together ("1*address" and
// "1*body" have no SP between the lists), which ResponseWriter's automatic separators cannot
// express; the finished text goes out through ResponseWriter::atom().
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "imap/wire/response.hpp"
#include "mime/content_type.hpp"

namespace sov::imap::fetch::detail {

class Emitter {
public:
    Emitter(const wire::ResponseWriter& w, std::string& out) noexcept : w_(w), out_(out) {}

    void open();           ///< "(" after a separator
    void open_adjacent();  ///< "(" with no separator: the next of "1*address" / "1*body"
    void close();          ///< ")"
    void nil();
    void number(std::uint64_t n);
    void atom(std::string_view token);  ///< verbatim; caller vouches
    void string(std::string_view s);
    void nstring(std::string_view s);       ///< NIL when empty
    void upper_string(std::string_view s);  ///< ASCII upper-cased (media types, tokens)
    /// An address display name or group name (NIL when empty). mime::Address names are
    /// RFC 2047-decoded UTF-8; where the session cannot take them as a quoted string they are
    /// re-encoded as RFC 2047 encoded-words rather than sent as 8-bit literals, so IMAP4rev1
    /// clients get what the header most likely said.
    void display_name(std::string_view s);
    /// One body-fld-param pair: "NAME" "value". A non-ASCII value that the session cannot take
    /// quoted is re-encoded per RFC 2231 as "NAME*" "utf-8'lang'%XX..." (RFC 9051 §7.5.2 asks
    /// servers to return decoded extended values as "foo*").
    void parameter(const mime::Parameter& p);
    /// The session speaks IMAP4rev2 (WriterOptions::imap4rev2).
    [[nodiscard]] bool imap4rev2() const noexcept { return w_.options().imap4rev2; }

private:
    void separate();
    void append_string(std::string_view s, bool upper);

    const wire::ResponseWriter& w_;
    std::string& out_;
    std::string tmp_;  // re-encoding scratch; only used on the rare non-ASCII paths
    bool need_space_ = false;
    std::size_t plain_quoted_up_to_ = 0;  // see append_string()
};

}  // namespace sov::imap::fetch::detail
