#include "mailauth/dkim_sign.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_store.hpp"
#include "mailauth/errors.hpp"

namespace sov::mailauth {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        return lower(x) == lower(y);
    });
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// Builds a folded header field: tokens go on the current line while it stays within `column`,
// otherwise on a new line that starts with one SP (RFC 5322 §2.2.3 folding; every place we
// fold is FWS in RFC 6376's grammar: between tags, around ':' in h=, inside base64).
class Folder {
public:
    Folder(std::string start, std::size_t column) : out_(std::move(start)), column_(column) {
        line_ = out_.size();
    }

    void add(std::string_view token, std::string_view separator) {
        if (line_ + separator.size() + token.size() > column_ && line_ > 1) {
            out_ += "\r\n ";
            line_ = 1;
        } else {
            out_ += separator;
            line_ += separator.size();
        }
        out_ += token;
        line_ += token.size();
    }

    /// Appends `text` splitting it wherever a line fills up (for base64 values).
    void add_breakable(std::string_view text) {
        while (!text.empty()) {
            if (line_ >= column_) {
                out_ += "\r\n ";
                line_ = 1;
            }
            const auto piece = text.substr(0, column_ - line_);
            out_ += piece;
            line_ += piece.size();
            text.remove_prefix(piece.size());
        }
    }

    [[nodiscard]] const std::string& text() const noexcept { return out_; }

private:
    std::string out_;
    std::size_t column_;
    std::size_t line_ = 0;
};

}  // namespace

std::vector<std::string> signed_header_names(
    const std::vector<HeaderField>& fields, bool oversign
) {
    std::vector<std::string> names;
    for (const auto name : kSignedFields) {
        const auto present = static_cast<std::size_t>(std::count_if(
            fields.begin(),
            fields.end(),
            [&](const HeaderField& f) { return iequals(f.name, name); }
        ));
        const bool extra =
            oversign &&
            std::find(std::begin(kOversignedFields), std::end(kOversignedFields), name) !=
                std::end(kOversignedFields);
        const std::size_t count = present + (extra ? 1 : 0);
        for (std::size_t i = 0; i < count; ++i) {
            names.emplace_back(name);
        }
    }
    return names;
}

Signer::Signer(std::string domain, std::vector<SigningKey> keys, SignOptions options)
    : domain_(lowercase(domain)), keys_(std::move(keys)), options_(options) {}

Result<std::string> Signer::sign(std::string_view message) const {
    const auto split = split_message(message);
    if (split.status != SplitMessage::Status::Ok) {
        return make_error_code(Errc::BadMessage);
    }
    if (std::none_of(split.fields.begin(), split.fields.end(), [](const HeaderField& f) {
            return iequals(f.name, "from");
        })) {
        return make_error_code(Errc::NoFromField);  // RFC 6376 §5.4
    }
    // RFC 6376 §3.7: the body hash, computed once and shared by every signature.
    BodyHasher body(options_.body_canon);
    body.update(message.substr(split.body_offset));
    const auto bh = base64_encode(body.finish());

    const auto names = signed_header_names(split.fields, options_.oversign);
    const std::string header_data =
        canonical_header_data(options_.header_canon, split.fields, names);
    const std::int64_t t = core::unix_seconds(core::now());

    std::string out;
    for (const auto& key : keys_) {
        Folder field("DKIM-Signature:", options_.fold_column);
        field.add("v=1;", " ");
        field.add(fmt::format("a={};", signing_algorithm(key.key.algorithm())), " ");
        field.add(
            fmt::format(
                "c={}/{};", to_string(options_.header_canon), to_string(options_.body_canon)
            ),
            " "
        );
        field.add(fmt::format("d={};", domain_), " ");
        field.add(fmt::format("s={};", key.selector), " ");
        field.add(fmt::format("t={};", t), " ");
        if (options_.expire_after) {
            field.add(fmt::format("x={};", t + options_.expire_after->count()), " ");
        }
        for (std::size_t i = 0; i < names.size(); ++i) {
            const bool last = i + 1 == names.size();
            const std::string piece = (i == 0 ? "h=" : "") + names[i] + (last ? ";" : ":");
            field.add(piece, i == 0 ? " " : "");
        }
        field.add(fmt::format("bh={};", bh), " ");
        field.add("b=", " ");
        // RFC 6376 §3.7: the signature field is hashed last, canonicalised, with an empty b=
        // value and without its final CRLF. b= is the last tag, so the field as it stands now
        // is exactly what a verifier reconstructs by deleting the b= value.
        const std::string unsigned_field = field.text();
        const auto digest =
            sha256(header_data + canonicalize_header(options_.header_canon, unsigned_field));
        auto signature = key.key.sign_digest(digest);
        if (!signature) {
            return signature.error();
        }
        field.add_breakable(base64_encode(*signature));
        out += field.text();
        out += "\r\n";
    }
    return out;
}

// --------------------------------------------------------------------------------------- Keyring

Result<Keyring> Keyring::load(const std::filesystem::path& dkim_dir, const SignOptions& options) {
    Keyring ring;
    std::error_code ec;
    if (!std::filesystem::is_directory(dkim_dir, ec)) {
        return ring;
    }
    // Explicit increment(ec): the range-for form throws on an I/O error mid-listing.
    std::filesystem::directory_iterator it(dkim_dir, ec);
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string domain = it->path().filename().string();
        std::error_code type_ec;
        if (!it->is_directory(type_ec) || !is_canonical_domain(domain)) {
            continue;
        }
        auto store = KeyStore::open(dkim_dir, domain);
        if (!store) {
            log::warn(
                "dkim.keys_unreadable", {{"domain", domain}, {"error", store.error().message()}}
            );
            continue;
        }
        // A key that cannot be read is logged and left out; the others still sign.
        std::vector<SigningKey> keys;
        for (const auto& selector : store->with_state(SelectorState::Active)) {
            auto key = store->load_key(selector);
            if (!key) {
                log::warn(
                    "dkim.key_unreadable",
                    {{"domain", domain},
                     {"selector", selector.selector},
                     {"error", key.error().message()}}
                );
                continue;
            }
            keys.push_back({selector.selector, std::move(*key)});
        }
        if (!keys.empty()) {
            ring.add(Signer(domain, std::move(keys), options));
        }
    }
    if (ec) {
        return ec;
    }
    return ring;
}

void Keyring::add(Signer signer) {
    std::string domain = signer.domain();
    signers_.insert_or_assign(std::move(domain), std::move(signer));
}

Result<std::string> Keyring::sign(std::string_view domain, std::string_view message) const {
    const auto it = signers_.find(lowercase(domain));
    if (it == signers_.end()) {
        return std::string{};
    }
    return it->second.sign(message);
}

bool Keyring::has_domain(std::string_view domain) const {
    return signers_.contains(lowercase(domain));
}

const Signer* Keyring::find(std::string_view domain) const {
    const auto it = signers_.find(lowercase(domain));
    return it == signers_.end() ? nullptr : &it->second;
}

std::vector<std::string> Keyring::domains() const {
    std::vector<std::string> out;
    for (const auto& [domain, signer] : signers_) {
        out.push_back(domain);
    }
    return out;
}

}  // namespace sov::mailauth
