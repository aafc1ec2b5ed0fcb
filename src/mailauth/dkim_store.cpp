#include "mailauth/dkim_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "mailauth/errors.hpp"

namespace sov::mailauth {

namespace {

constexpr std::string_view kStateFile = "selectors";

bool is_ldh_label(std::string_view label) noexcept {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
        return false;
    }
    return std::all_of(label.begin(), label.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::optional<SelectorState> state_from_string(std::string_view s) noexcept {
    if (s == "active") {
        return SelectorState::Active;
    }
    if (s == "pending") {
        return SelectorState::Pending;
    }
    if (s == "retired") {
        return SelectorState::Retired;
    }
    return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view s) noexcept {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || value < 0) {
        return std::nullopt;
    }
    return value;
}

std::string utc_date(core::WallTime now) {
    const std::time_t t = static_cast<std::time_t>(core::unix_seconds(now));
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}{:02}{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string_view selector_suffix(KeyAlgorithm algorithm) noexcept {
    return algorithm == KeyAlgorithm::Rsa ? "-rsa" : "-ed";
}

Status fsync_dir(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return core::last_os_error();
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) {
        return core::last_os_error();
    }
    return {};
}

}  // namespace

std::string_view to_string(SelectorState state) noexcept {
    switch (state) {
        case SelectorState::Active:
            return "active";
        case SelectorState::Pending:
            return "pending";
        case SelectorState::Retired:
            return "retired";
    }
    return "?";
}

bool is_canonical_domain(std::string_view domain) noexcept {
    if (domain.empty() || domain.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const auto dot = domain.find('.', start);
        const auto label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!is_ldh_label(label)) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

bool is_valid_selector(std::string_view selector) noexcept {
    return is_ldh_label(selector);
}

std::string format_selectors(std::string_view domain, const std::vector<SelectorEntry>& entries) {
    std::string out = fmt::format(
        "# DKIM selectors of {}, written by `sovereign dkim` (docs/dkim.md).\n"
        "# selector algorithm state created changed (Unix seconds)\n",
        domain
    );
    for (const auto& e : entries) {
        out += fmt::format(
            "{} {} {} {} {}\n",
            e.selector,
            to_string(e.algorithm),
            to_string(e.state),
            e.created,
            e.changed
        );
    }
    return out;
}

Result<std::vector<SelectorEntry>> parse_selectors(std::string_view text) {
    std::vector<SelectorEntry> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#') {
            continue;
        }
        std::istringstream words(line);
        std::string selector, algorithm, state, created, changed, extra;
        if (!(words >> selector >> algorithm >> state >> created >> changed) || (words >> extra)) {
            return make_error_code(Errc::CorruptState);
        }
        const auto alg = key_algorithm_from_string(algorithm);
        const auto st = state_from_string(state);
        const auto cr = parse_int(created);
        const auto ch = parse_int(changed);
        if (!is_valid_selector(selector) || !alg || !st || !cr || !ch ||
            std::any_of(out.begin(), out.end(), [&](const auto& e) {
                return e.selector == selector;
            })) {
            return make_error_code(Errc::CorruptState);
        }
        out.push_back({selector, *alg, *st, *cr, *ch});
    }
    return out;
}

Result<KeyStore> KeyStore::open(const std::filesystem::path& dkim_dir, std::string_view domain) {
    // The domain becomes a directory name: only canonical LDH names, never anything with '/',
    // "..", upper case or non-ASCII (callers canonicalise U-labels to A-labels first).
    if (!is_canonical_domain(domain)) {
        return make_error_code(Errc::BadDomain);
    }
    KeyStore store(dkim_dir / std::string(domain), std::string(domain));
    const auto state_path = store.dir_ / kStateFile;
    std::ifstream in(state_path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (std::filesystem::exists(state_path, ec)) {
            return core::last_os_error();
        }
        return store;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto entries = parse_selectors(text.str());
    if (!entries) {
        return entries.error();
    }
    store.entries_ = std::move(*entries);
    return store;
}

std::vector<SelectorEntry> KeyStore::with_state(SelectorState state) const {
    std::vector<SelectorEntry> out;
    std::copy_if(entries_.begin(), entries_.end(), std::back_inserter(out), [&](const auto& e) {
        return e.state == state;
    });
    return out;
}

std::filesystem::path KeyStore::key_path(const SelectorEntry& entry) const {
    return dir_ / (entry.selector + ".pem");
}

Result<PrivateKey> KeyStore::load_key(const SelectorEntry& entry) const {
    if (!is_valid_selector(entry.selector)) {
        return make_error_code(Errc::BadSelector);
    }
    auto key = PrivateKey::load(key_path(entry));
    if (key && key->algorithm() != entry.algorithm) {
        return make_error_code(Errc::BadKey);
    }
    return key;
}

Result<std::vector<SelectorEntry>> KeyStore::create_pair(
    core::WallTime now, SelectorState state, const KeyGenOptions& options
) {
    std::vector<KeyAlgorithm> algorithms;
    if (options.rsa) {
        algorithms.push_back(KeyAlgorithm::Rsa);
    }
    if (options.ed25519) {
        algorithms.push_back(KeyAlgorithm::Ed25519);
    }
    if (algorithms.empty()) {
        return make_error_code(core::Errc::Invalid);
    }
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        return ec;
    }
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);
    if (ec) {
        return ec;
    }
    // "s<date><letter>": the first letter for which no selector of the pair exists yet, in the
    // state file or on disk (a key file left by an interrupted run is never overwritten).
    const std::string date = utc_date(now);
    std::string base;
    for (char letter = 'a'; letter <= 'z' && base.empty(); ++letter) {
        const std::string candidate = fmt::format("s{}{}", date, letter);
        const bool taken = std::any_of(algorithms.begin(), algorithms.end(), [&](KeyAlgorithm a) {
            const std::string selector = candidate + std::string(selector_suffix(a));
            return std::any_of(
                       entries_.begin(),
                       entries_.end(),
                       [&](const auto& e) { return e.selector == selector; }
                   ) ||
                   std::filesystem::exists(dir_ / (selector + ".pem"));
        });
        if (!taken) {
            base = candidate;
        }
    }
    if (base.empty()) {
        return make_error_code(core::Errc::Exists);  // 26 pairs in one day
    }
    const std::int64_t t = core::unix_seconds(now);
    std::vector<SelectorEntry> created;
    for (const auto algorithm : algorithms) {
        auto key = PrivateKey::generate(algorithm, options.rsa_bits);
        if (!key) {
            return key.error();
        }
        SelectorEntry entry{base + std::string(selector_suffix(algorithm)), algorithm, state, t, t};
        if (auto saved = key->save(key_path(entry)); !saved) {
            return saved.error();
        }
        created.push_back(entry);
    }
    // The state file names a selector only once its key is on disk.
    entries_.insert(entries_.end(), created.begin(), created.end());
    if (auto saved = save_state(); !saved) {
        return saved.error();
    }
    return created;
}

Result<std::vector<SelectorEntry>> KeyStore::create_initial(
    core::WallTime now, const KeyGenOptions& options
) {
    if (!entries_.empty()) {
        return make_error_code(Errc::KeysExist);
    }
    return create_pair(now, SelectorState::Active, options);
}

Result<std::vector<SelectorEntry>> KeyStore::create_pending(
    core::WallTime now, const KeyGenOptions& options
) {
    if (with_state(SelectorState::Active).empty()) {
        return make_error_code(Errc::NoKeys);
    }
    if (!with_state(SelectorState::Pending).empty()) {
        return make_error_code(Errc::RotationPending);
    }
    return create_pair(now, SelectorState::Pending, options);
}

Status KeyStore::promote_pending(core::WallTime now) {
    if (with_state(SelectorState::Pending).empty()) {
        return make_error_code(Errc::NoKeys);
    }
    const std::int64_t t = core::unix_seconds(now);
    for (auto& e : entries_) {
        if (e.state == SelectorState::Active) {
            e.state = SelectorState::Retired;
            e.changed = t;
        } else if (e.state == SelectorState::Pending) {
            e.state = SelectorState::Active;
            e.changed = t;
        }
    }
    return save_state();
}

Result<std::vector<SelectorEntry>> KeyStore::forget_retired() {
    auto retired = with_state(SelectorState::Retired);
    if (retired.empty()) {
        return retired;
    }
    std::erase_if(entries_, [](const auto& e) { return e.state == SelectorState::Retired; });
    // State first: a crash between the two leaves an unused key file, never a listed selector
    // without its key.
    if (auto saved = save_state(); !saved) {
        return saved.error();
    }
    for (const auto& e : retired) {
        std::error_code ec;
        std::filesystem::remove(key_path(e), ec);
    }
    return retired;
}

Status KeyStore::save_state() const {
    const auto path = dir_ / kStateFile;
    auto tmp = path;
    tmp += ".tmp";
    const std::string text = format_selectors(domain_, entries_);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return core::last_os_error();
    }
    std::string_view rest = text;
    Status written;
    while (!rest.empty()) {
        const ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            written = core::last_os_error();
            break;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (written && ::fsync(fd) != 0) {
        written = core::last_os_error();
    }
    ::close(fd);
    if (written && ::rename(tmp.c_str(), path.c_str()) != 0) {
        written = core::last_os_error();
    }
    if (!written) {
        std::filesystem::remove(tmp, ec);
        return written;
    }
    return fsync_dir(dir_);
}

}  // namespace sov::mailauth
