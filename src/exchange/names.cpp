#include "exchange/names.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "mime/mutf7.hpp"

namespace sov::exchange {
namespace {

bool acceptable_level(std::string_view level) {
    if (level.empty() || level == "." || level == "..") {
        return false;
    }
    return std::none_of(level.begin(), level.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f || c == '/';
    });
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return out;
}

struct SpecialName {
    std::string_view foreign;  // lowercase
    std::string_view ours;
};
// Names used by Dovecot's example config, Outlook/Exchange, Apple Mail, Thunderbird and Gmail
// exports for the RFC 6154 §2 special uses.
constexpr std::array kSpecialNames = {
    SpecialName{"sent", "Sent"},
    SpecialName{"sent items", "Sent"},
    SpecialName{"sent messages", "Sent"},
    SpecialName{"sent mail", "Sent"},
    SpecialName{"drafts", "Drafts"},
    SpecialName{"draft", "Drafts"},
    SpecialName{"trash", "Trash"},
    SpecialName{"deleted items", "Trash"},
    SpecialName{"deleted messages", "Trash"},
    SpecialName{"bin", "Trash"},
    SpecialName{"junk", "Junk"},
    SpecialName{"spam", "Junk"},
    SpecialName{"junk e-mail", "Junk"},
    SpecialName{"junk email", "Junk"},
    SpecialName{"bulk mail", "Junk"},
    SpecialName{"archive", "Archive"},
    SpecialName{"archives", "Archive"},
};

std::string join(const std::vector<std::string>& levels, char sep) {
    std::string out;
    for (const auto& level : levels) {
        if (!out.empty()) {
            out += sep;
        }
        out += level;
    }
    return out;
}

// Decodes a list of on-disk levels; nullopt if any level is unacceptable.
std::optional<std::string> decode_levels(const std::vector<std::string>& levels) {
    std::vector<std::string> decoded;
    for (const auto& level : levels) {
        auto d = decode_level(level);
        if (!d) {
            return std::nullopt;
        }
        decoded.push_back(std::move(*d));
    }
    if (decoded.empty()) {
        return std::nullopt;
    }
    return join(decoded, '/');
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
        if (pos == std::string_view::npos) {
            return out;
        }
        start = pos + 1;
    }
}

}  // namespace

std::optional<std::string> decode_level(std::string_view on_disk) {
    std::optional<std::string> level = mime::mutf7_decode(on_disk, mime::Mutf7Decode::Lenient);
    if (!level && mime::mutf7_encode(on_disk)) {
        level = std::string(on_disk);  // not modified UTF-7, but valid UTF-8
    }
    if (!level || !acceptable_level(*level)) {
        return std::nullopt;
    }
    return level;
}

std::optional<std::string> encode_level(std::string_view level) {
    if (!acceptable_level(level)) {
        return std::nullopt;
    }
    return mime::mutf7_encode(level, ".");
}

std::optional<std::string> maildirpp_folder_name(std::string_view dir_name) {
    if (dir_name.size() < 2 || dir_name.front() != '.' || dir_name == "..") {
        return std::nullopt;
    }
    return decode_levels(split(dir_name.substr(1), '.'));
}

std::optional<std::string> maildirpp_dir_name(std::string_view name) {
    std::string out;
    for (const auto& level : split_levels(name)) {
        auto encoded = encode_level(level);
        if (!encoded) {
            return std::nullopt;
        }
        out += '.';
        out += *encoded;
    }
    if (out.empty()) {
        return std::nullopt;
    }
    return out;
}

std::vector<std::string> split_levels(std::string_view name) {
    return split(name, '/');
}

std::string map_special_use_name(std::string_view name) {
    const auto slash = name.find('/');
    const auto head = lower(name.substr(0, slash));
    for (const auto& special : kSpecialNames) {
        if (head == special.foreign) {
            std::string out(special.ours);
            if (slash != std::string_view::npos) {
                out += name.substr(slash);
            }
            return out;
        }
    }
    return std::string(name);
}

std::vector<std::string> parse_subscriptions(std::string_view text) {
    std::vector<std::string> lines = split(text, '\n');
    std::vector<std::string> out;
    bool v2 = !lines.empty() && lines.front().rfind("V\t", 0) == 0;
    for (std::size_t i = v2 ? 1 : 0; i < lines.size(); ++i) {
        std::string line = lines[i];
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        std::optional<std::string> name;
        if (v2) {
            name = decode_levels(split(line, '\t'));
        } else if (line.find('/') != std::string::npos) {
            name = decode_levels(split(line, '/'));
        } else {
            name = decode_levels(split(line, '.'));
        }
        if (name) {
            out.push_back(std::move(*name));
        }
    }
    return out;
}

std::string format_subscriptions(const std::vector<std::string>& names) {
    // Dovecot's subscription file format version 2 (src/lib-storage/list/subscription-file.c):
    // a header line, an empty line, then names with TAB between mUTF-7 levels.
    std::string out = "V\t2\n\n";
    for (const auto& name : names) {
        std::vector<std::string> levels;
        for (const auto& level : split_levels(name)) {
            auto encoded = mime::mutf7_encode(level);
            if (!encoded) {
                levels.clear();
                break;
            }
            levels.push_back(std::move(*encoded));
        }
        if (!levels.empty()) {
            out += join(levels, '\t');
            out += '\n';
        }
    }
    return out;
}

}  // namespace sov::exchange
