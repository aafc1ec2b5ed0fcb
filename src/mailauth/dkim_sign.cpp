#include "mailauth/dkim_sign.hpp"

#include <algorithm>
#include <array>
#include <iterator>

#include <fmt/format.h>

#include "core/ascii.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "mailauth/base64.hpp"
#include "mailauth/dkim_store.hpp"
#include "mailauth/errors.hpp"

namespace sov::mailauth {

namespace {

// Builds a folded header field: tokens go on the current line while it stays within `column`,
// otherwise on a new line that starts with one SP (RFC 5322 §2.2.3 folding; every place we
// fold is FWS in RFC 6376's grammar: between tags, around ':' in h=, inside base64).
class Folder {
public:
    Folder(std::string start, std::size_t column) : out_(std::move(start)), column_(column) {
        line_ = out_.size();
    }
    /// Carries on from `start`, whose last line holds `line` characters (a prefix made earlier).
    Folder(std::string start, std::size_t line, std::size_t column)
        : out_(std::move(start)), column_(column), line_(line) {}

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
    [[nodiscard]] std::size_t line() const noexcept { return line_; }

private:
    std::string out_;
    std::size_t column_;
    std::size_t line_ = 0;
};

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Per-thread buffers of Signer::sign, reused from message to message.
struct Scratch {
    std::vector<std::string_view> names;  // h=
    std::vector<std::uint8_t> used;
    std::string header;  // canonical header data, then the signature field being signed
    std::string token;
    MdCtxPtr md{EVP_MD_CTX_new()};
};

Scratch& scratch() {
    thread_local Scratch s;
    return s;
}

// A header larger than this (a message with thousands of Received fields) is not kept around.
constexpr std::size_t kKeptScratch = 256 * 1024;

Sha256Digest digest_of(EVP_MD_CTX* md, std::string_view data) {
    Sha256Digest digest{};
    unsigned int size = 0;
    if (md == nullptr || EVP_DigestInit_ex(md, sha256_md(), nullptr) != 1 ||
        EVP_DigestUpdate(md, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(md, digest.data(), &size) != 1) {
        return sha256(data);
    }
    return digest;
}

}  // namespace

// Per key, the tags before t=, the same in every signature of the key: folded once.
struct Signer::KeyState {
    std::string prefix;           // "DKIM-Signature: v=1; a=...; c=...; d=...; s=...;", folded
    std::size_t prefix_line = 0;  // characters on its last line
};

std::vector<std::string> signed_header_names(
    const std::vector<HeaderField>& fields, bool oversign
) {
    std::vector<std::string_view> views;
    append_signed_header_names(fields, oversign, views);
    return {views.begin(), views.end()};
}

void append_signed_header_names(
    std::span<const HeaderField> fields, bool oversign, std::vector<std::string_view>& names
) {
    for (const auto name : kSignedFields) {
        const auto present = static_cast<std::size_t>(std::count_if(
            fields.begin(),
            fields.end(),
            [&](const HeaderField& f) { return core::ascii_iequals(f.name, name); }
        ));
        const bool extra =
            oversign &&
            std::find(std::begin(kOversignedFields), std::end(kOversignedFields), name) !=
                std::end(kOversignedFields);
        const std::size_t count = present + (extra ? 1 : 0);
        names.insert(names.end(), count, name);
    }
}

Signer::Signer(std::string domain, std::vector<SigningKey> keys, SignOptions options)
    : domain_(core::ascii_lowercase(domain)), keys_(std::move(keys)), options_(options) {
    for (const auto& key : keys_) {
        // The tags before t= are the same in every signature of this key: folded once here.
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
        states_.push_back(std::make_shared<KeyState>(KeyState{field.text(), field.line()}));
    }
}

Result<std::string> Signer::sign(std::string_view message) const {
    const auto split = split_message(message);
    if (split.status != SplitMessage::Status::Ok) {
        return make_error_code(Errc::BadMessage);
    }
    if (std::none_of(split.fields.begin(), split.fields.end(), [](const HeaderField& f) {
            return core::ascii_iequals(f.name, "from");
        })) {
        return make_error_code(Errc::NoFromField);  // RFC 6376 §5.4
    }
    // RFC 6376 §3.7: the body hash, computed once and shared by every signature.
    BodyHasher body(options_.body_canon);
    body.update(message.substr(split.body_offset));
    const auto bh = base64_encode(body.finish());

    auto& scratch_space = scratch();
    auto& names = scratch_space.names;
    names.clear();
    append_signed_header_names(split.fields, options_.oversign, names);
    std::string& header = scratch_space.header;
    header.clear();
    append_canonical_header_data(
        options_.header_canon, split.fields, names, header, scratch_space.used
    );
    const std::size_t header_size = header.size();
    const std::int64_t t = core::unix_seconds(core::now());

    std::string out;
    std::string& token = scratch_space.token;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
        auto& state = *states_[k];
        Folder field(state.prefix, state.prefix_line, options_.fold_column);
        token.clear();
        fmt::format_to(std::back_inserter(token), "t={};", t);
        field.add(token, " ");
        if (options_.expire_after) {
            token.clear();
            fmt::format_to(std::back_inserter(token), "x={};", t + options_.expire_after->count());
            field.add(token, " ");
        }
        for (std::size_t i = 0; i < names.size(); ++i) {
            const bool last = i + 1 == names.size();
            token.assign(i == 0 ? "h=" : "");
            token.append(names[i]);
            token += last ? ';' : ':';
            field.add(token, i == 0 ? " " : "");
        }
        token.assign("bh=");
        token.append(bh);
        token += ';';
        field.add(token, " ");
        field.add("b=", " ");
        // RFC 6376 §3.7: the signature field is hashed last, canonicalised, with an empty b=
        // value and without its final CRLF. b= is the last tag, so the field as it stands now
        // is exactly what a verifier reconstructs by deleting the b= value.
        header.resize(header_size);
        append_canonical_header(options_.header_canon, field.text(), header);
        const auto digest = digest_of(scratch_space.md.get(), header);
        auto signature = keys_[k].key.sign_digest(digest);
        if (!signature) {
            return signature.error();
        }
        field.add_breakable(base64_encode(*signature));
        out += field.text();
        out += "\r\n";
    }
    if (header.capacity() > kKeptScratch) {
        std::string().swap(header);
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
    const auto it = signers_.find(core::ascii_lowercase(domain));
    if (it == signers_.end()) {
        return std::string{};
    }
    return it->second.sign(message);
}

bool Keyring::has_domain(std::string_view domain) const {
    return signers_.contains(core::ascii_lowercase(domain));
}

const Signer* Keyring::find(std::string_view domain) const {
    const auto it = signers_.find(core::ascii_lowercase(domain));
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
