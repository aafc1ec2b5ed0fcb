#pragma once
// Modified UTF-7 (RFC 3501 §5.1.3): mailbox names for IMAP4rev1 clients that have not enabled
// UTF8=ACCEPT, and the encoding Dovecot (and Courier) use for mailbox names on disk (Maildir++
// folder directories, LAYOUT=fs directories, mbox file names, `subscriptions`).
#include <optional>
#include <string>
#include <string_view>

namespace sov::mime {

enum class Mutf7Decode {
    /// RFC 3501 §5.1.3 to the letter (IMAP): a shift holding only printable ASCII is an error,
    /// since those characters "MUST represent themselves".
    Strict,
    /// Also accepts needlessly shifted printable ASCII ("&AC4-" for '.'): on-disk layouts use it
    /// to carry characters they reserve.
    Lenient,
};

/// Decodes a modified UTF-7 name to UTF-8; nullopt if it is malformed (bad base64, unpaired
/// surrogates, a non-printable byte outside a shift). Printable ASCII that was needlessly shifted
/// (e.g. "&AC4-" for '.') is accepted: the exporter uses it to carry characters that the on-disk
/// layout reserves.
std::optional<std::string> mutf7_decode(
    std::string_view text, Mutf7Decode mode = Mutf7Decode::Strict
) noexcept;

/// Encodes UTF-8 to modified UTF-7. Characters in `also_encode` (printable ASCII that the target
/// layout reserves, e.g. "." for Maildir++) are shifted as well. nullopt if `utf8` is not UTF-8
/// or contains NUL (which decode rejects too).
std::optional<std::string> mutf7_encode(std::string_view utf8, std::string_view also_encode = {});

}  // namespace sov::mime
