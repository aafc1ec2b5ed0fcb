#pragma once
// Mailbox names on disk. Our names are UTF-8 with '/' between levels ("INBOX" canonical); Dovecot
// writes each level in modified UTF-7 (RFC 3501 §5.1.3) and joins levels with '.' (Maildir++:
// ".Sub.F&APYA9g-l") or with directories (LAYOUT=fs, mbox). Pure functions, no I/O.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sov::exchange {

/// One on-disk level (a directory or file name) to a UTF-8 level. Modified UTF-7 is tried first;
/// a name that is not modified UTF-7 but is UTF-8 (written by a tool with UTF-8 names) is taken as
/// it is. nullopt for "", ".", "..", control characters, '/' or undecodable bytes.
std::optional<std::string> decode_level(std::string_view on_disk);

/// A UTF-8 level to its on-disk form: modified UTF-7, with every '.' shifted ("&AC4-") because '.'
/// separates Maildir++ levels and a leading one hides mbox files. nullopt if not UTF-8, or it
/// contains '/' or a control character. Never yields "", "." or "..", so it is a safe path part.
std::optional<std::string> encode_level(std::string_view level);

/// Maildir++ folder directory (".Sub.F&APYA9g-l") to "Sub/Fööl"; nullopt if it is not one.
std::optional<std::string> maildirpp_folder_name(std::string_view dir_name);
/// "Sub/Fööl" to ".Sub.F&APYA9g-l"; nullopt for an unacceptable name.
std::optional<std::string> maildirpp_dir_name(std::string_view name);

/// Splits "a/b/c" into levels.
std::vector<std::string> split_levels(std::string_view name);

/// Maps the first level of a foreign folder name to our special-use mailbox ("Sent Items" →
/// "Sent", "Spam" → "Junk", ...; case-insensitive); other names are returned unchanged.
std::string map_special_use_name(std::string_view name);

/// Parses a Dovecot `subscriptions` file: "V\t2" then one name per line with levels separated by
/// TAB (each in modified UTF-7), or the old format with one name per line using '/' or '.' between
/// levels. Returns UTF-8 names with '/' between levels; undecodable lines are skipped.
std::vector<std::string> parse_subscriptions(std::string_view text);
/// Writes the "V\t2" format (nullopt entries are skipped by the caller beforehand).
std::string format_subscriptions(const std::vector<std::string>& names);

}  // namespace sov::exchange
