#include "exchange/importer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "exchange/detail/files.hpp"
#include "exchange/line_ends.hpp"
#include "exchange/maildir.hpp"
#include "exchange/mbox.hpp"
#include "exchange/names.hpp"

namespace sov::exchange {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kMaxMetadataFile = 16 * 1024 * 1024;  // uidlist of a very large folder
constexpr int kMaxDepth = 64;                               // folder nesting (and symlink loops)

bool has_subdir(const fs::path& dir, const char* sub) {
    std::error_code ec;
    return fs::is_directory(dir / sub, ec);
}

bool is_maildir(const fs::path& dir) {
    return has_subdir(dir, "cur") || has_subdir(dir, "new");
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Directory entries sorted by name (a stable order for reports and UIDs).
std::vector<fs::directory_entry> sorted_entries(const fs::path& dir, std::error_code& ec) {
    std::vector<fs::directory_entry> out;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        out.push_back(*it);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.path().filename() < b.path().filename();
    });
    return out;
}

class Importer {
public:
    Importer(store::Store& store, const ImportOptions& options)
        : store_(store), options_(options), buffer_(kChunk, '\0') {}

    Result<ImportReport> run() {
        std::error_code ec;
        const auto status = fs::status(options_.source, ec);
        if (ec || !fs::exists(status)) {
            return Errc::NotFound;
        }
        if (options_.format == Format::Maildir) {
            if (!fs::is_directory(status)) {
                return Errc::NotMaildir;
            }
            if (!is_maildir(options_.source)) {
                return Errc::NotMaildir;
            }
            import_maildir();
        } else if (fs::is_regular_file(status)) {
            import_mbox_file(options_.source, options_.mbox_mailbox);
        } else if (fs::is_directory(status)) {
            walk_mbox(options_.source, "", 0);
            subscribe(options_.source / ".subscriptions");
            subscribe(options_.source / "subscriptions");
        } else {
            return Errc::Invalid;
        }
        return std::move(report_);
    }

    // ---- shared
    void note(const fs::path& where, std::string_view reason) {
        ++report_.problem_count;
        if (report_.problems.size() < options_.max_problems) {
            report_.problems.push_back(fmt::format("{}: {}", where.string(), reason));
        }
    }
    void fail(const fs::path& where, std::string_view reason) {
        ++report_.failed;
        note(where, reason);
    }

    /// Our mailbox for a foreign folder name (created if missing); nullopt if unusable.
    std::optional<std::string> ensure_mailbox(std::string_view foreign, const fs::path& where) {
        const std::string canonical =
            store::Store::canonical_mailbox_name(map_special_use_name(foreign));
        if (canonical.empty()) {
            note(where, "folder name is not acceptable as a mailbox name; skipped");
            return std::nullopt;
        }
        if (counts_.contains(canonical)) {
            return canonical;
        }
        bool created = false;
        auto existing = store_.mailbox(options_.account, canonical);
        if (!existing) {
            if (existing.error() != store::Errc::NotFound) {
                note(where, "mailbox " + canonical + ": " + existing.error().message());
                return std::nullopt;
            }
            auto made = store_.create_mailbox(options_.account, canonical);
            if (!made && made.error() != store::Errc::Exists) {
                note(where, "cannot create mailbox " + canonical + ": " + made.error().message());
                return std::nullopt;
            }
            created = made.has_value();
        }
        report_.mailboxes_created += created ? 1 : 0;
        counts_[canonical] = report_.mailboxes.size();
        report_.mailboxes.push_back({.name = canonical, .messages = 0, .created = created});
        return canonical;
    }

    void deliver(
        store::Incoming incoming,
        const std::string& mailbox,
        std::uint32_t flags,
        std::vector<std::string> keywords,
        core::WallTime date,
        const fs::path& where
    ) {
        auto outcome = store_.append(
            std::move(incoming), options_.account, mailbox, flags, std::move(keywords), date
        );
        if (!outcome.delivered()) {
            fail(where, "not stored: " + outcome.reason);
            return;
        }
        ++report_.imported;
        ++report_.mailboxes[counts_.at(mailbox)].messages;
    }

    void subscribe(const fs::path& file) {
        const auto text = detail::read_small_file(file, kMaxMetadataFile);
        if (!text) {
            return;
        }
        for (const auto& name : parse_subscriptions(*text)) {
            const auto canonical = store::Store::canonical_mailbox_name(map_special_use_name(name));
            if (canonical.empty() || !store_.mailbox(options_.account, canonical)) {
                continue;  // Dovecot keeps subscriptions of folders that no longer exist
            }
            if (store_.set_subscribed(options_.account, canonical, true)) {
                ++report_.subscribed;
            }
        }
    }

    // ---- Maildir
    struct Folder {
        fs::path dir;
        std::string name;
    };

    void import_maildir() {
        const fs::path& root = options_.source;
        std::vector<Folder> folders{{root, "INBOX"}};
        std::error_code ec;
        for (const auto& entry : sorted_entries(root, ec)) {
            const std::string name = entry.path().filename().string();
            std::error_code ec2;
            if (!entry.is_directory(ec2) || name == "cur" || name == "new" || name == "tmp") {
                continue;
            }
            if (name.front() == '.') {
                // Maildir++ (Dovecot's default layout): ".Level1.Level2".
                if (!is_maildir(entry.path())) {
                    continue;
                }
                if (auto folder = maildirpp_folder_name(name)) {
                    folders.push_back({entry.path(), std::move(*folder)});
                } else {
                    note(entry.path(), "cannot decode the folder name; skipped");
                }
            } else {
                // Dovecot's LAYOUT=fs: one directory per level.
                walk_fs_layout(entry.path(), "", 1, folders);
            }
        }
        if (ec) {
            note(root, "cannot list: " + ec.message());
        }
        for (const auto& folder : folders) {
            if (auto mailbox = ensure_mailbox(folder.name, folder.dir)) {
                import_maildir_folder(folder.dir, *mailbox);
            }
        }
        subscribe(root / "subscriptions");
    }

    void walk_fs_layout(
        const fs::path& dir, const std::string& parent, int depth, std::vector<Folder>& out
    ) {
        auto level = decode_level(dir.filename().string());
        if (!level) {
            note(dir, "cannot decode the folder name; skipped");
            return;
        }
        if (depth > kMaxDepth) {
            note(dir, "folders nested too deep; skipped");
            return;
        }
        const std::string name = parent.empty() ? *level : parent + "/" + *level;
        if (is_maildir(dir)) {
            out.push_back({dir, name});
        }
        std::error_code ec;
        for (const auto& entry : sorted_entries(dir, ec)) {
            const std::string sub = entry.path().filename().string();
            std::error_code ec2;
            if (!entry.is_directory(ec2) || sub == "cur" || sub == "new" || sub == "tmp" ||
                sub.front() == '.') {
                continue;
            }
            walk_fs_layout(entry.path(), name, depth + 1, out);
        }
        if (ec) {
            note(dir, "cannot list: " + ec.message());
        }
    }

    void import_maildir_folder(const fs::path& dir, const std::string& mailbox) {
        const auto keywords = maildir::parse_keywords_file(
            detail::read_small_file(dir / "dovecot-keywords", kMaxMetadataFile).value_or("")
        );
        std::map<std::string, std::uint32_t> uid_of;
        if (auto text = detail::read_small_file(dir / "dovecot-uidlist", kMaxMetadataFile)) {
            if (auto list = maildir::parse_uidlist(*text)) {
                for (const auto& [uid, base] : list->entries) {
                    uid_of.emplace(base, uid);
                }
            }
        }
        struct Entry {
            fs::path path;
            maildir::FileName name;
            std::uint64_t order = 0;
        };
        std::vector<Entry> entries;
        for (const char* sub : {"new", "cur"}) {
            std::error_code ec;
            if (!has_subdir(dir, sub)) {
                continue;
            }
            for (const auto& entry : sorted_entries(dir / sub, ec)) {
                const std::string file = entry.path().filename().string();
                std::error_code ec2;
                if (file.front() == '.' || entry.is_directory(ec2)) {
                    continue;
                }
                auto parsed = maildir::parse_file_name(file);
                const auto uid = uid_of.find(parsed.base);
                // Files Dovecot has not seen yet come after the others, in name (= time) order.
                const std::uint64_t order =
                    uid == uid_of.end() ? std::numeric_limits<std::uint64_t>::max() : uid->second;
                entries.push_back({entry.path(), std::move(parsed), order});
            }
            if (ec) {
                note(dir / sub, "cannot list: " + ec.message());
            }
        }
        std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
            return a.order != b.order ? a.order < b.order : a.name.base < b.name.base;
        });
        for (const auto& entry : entries) {
            std::vector<std::string> names;
            for (char letter : entry.name.keyword_letters) {
                const auto& keyword = keywords[static_cast<std::size_t>(letter - 'a')];
                if (!keyword.empty()) {
                    names.push_back(keyword);
                }
            }
            import_maildir_file(entry.path, mailbox, entry.name.flags, std::move(names));
        }
    }

    void import_maildir_file(
        const fs::path& path,
        const std::string& mailbox,
        std::uint32_t flags,
        std::vector<std::string> keywords
    ) {
        detail::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!fd.valid()) {
            fail(path, "cannot open: " + detail::os_error());
            return;
        }
        struct stat st{};
        if (::fstat(fd.get(), &st) != 0) {
            fail(path, "cannot stat: " + detail::os_error());
            return;
        }
        if (!S_ISREG(st.st_mode)) {
            fail(path, "not a regular file");
            return;
        }
        const auto size = static_cast<std::uint64_t>(st.st_size);
        if (size > options_.max_message_bytes) {
            fail(
                path,
                fmt::format(
                    "message too big ({} bytes, limit {})", size, options_.max_message_bytes
                )
            );
            return;
        }
        // Dovecot's convention: a Maildir message's INTERNALDATE is its file's mtime.
        const core::WallTime date{std::chrono::seconds{st.st_mtim.tv_sec}};
        auto incoming = store_.begin_message();
        if (!incoming) {
            fail(path, "cannot create a spool file: " + incoming.error().message());
            return;
        }
        CrlfWriter crlf;
        std::string converted;
        std::uint64_t total = 0;
        while (true) {
            const auto n = ::read(fd.get(), buffer_.data(), buffer_.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                fail(path, "cannot read: " + detail::os_error());
                return;
            }
            if (n == 0) {
                break;
            }
            total += static_cast<std::uint64_t>(n);
            if (total > options_.max_message_bytes) {
                fail(path, "message too big (it grew while being read)");
                return;
            }
            converted.clear();
            crlf.convert({buffer_.data(), static_cast<std::size_t>(n)}, converted);
            if (auto st2 = incoming->append(converted); !st2) {
                fail(path, "cannot write the spool file: " + st2.error().message());
                return;
            }
        }
        deliver(std::move(*incoming), mailbox, flags, std::move(keywords), date, path);
    }

    // ---- mbox
    void walk_mbox(const fs::path& dir, const std::string& parent, int depth) {
        if (depth > kMaxDepth) {
            note(dir, "folders nested too deep; skipped");
            return;
        }
        std::error_code ec;
        for (const auto& entry : sorted_entries(dir, ec)) {
            std::string file = entry.path().filename().string();
            // Hidden files hold indexes and subscriptions (Dovecot .imap/, .subscriptions);
            // Thunderbird's .msf files are indexes too; .lock files are dot-locks.
            if (file.front() == '.' || ends_with(file, ".msf") || ends_with(file, ".lock")) {
                continue;
            }
            std::error_code ec2;
            const bool is_dir = entry.is_directory(ec2);
            if (is_dir && ends_with(file, ".sbd")) {
                file.resize(file.size() - 4);  // Thunderbird: children of the mbox file "X"
            }
            auto level = decode_level(file);
            if (!level) {
                note(entry.path(), "cannot decode the name; skipped");
                continue;
            }
            const std::string name = parent.empty() ? *level : parent + "/" + *level;
            if (is_dir) {
                walk_mbox(entry.path(), name, depth + 1);
            } else if (entry.is_regular_file(ec2)) {
                import_mbox_file(entry.path(), name);
            }
        }
        if (ec) {
            note(dir, "cannot list: " + ec.message());
        }
    }

    class MboxSink final : public mbox::Sink {
    public:
        MboxSink(Importer& importer, const fs::path& path, std::string mailbox)
            : importer_(importer), path_(path), mailbox_(std::move(mailbox)) {}

        void on_message(core::WallTime date, const mbox::Meta& meta) override {
            ++index_;
            date_ = date;
            meta_ = meta;
            crlf_ = CrlfWriter{};
            size_ = 0;
            broken_.clear();
            auto incoming = importer_.store_.begin_message();
            if (!incoming) {
                broken_ = "cannot create a spool file: " + incoming.error().message();
                incoming_.reset();
                return;
            }
            incoming_.emplace(std::move(*incoming));
        }
        void on_data(std::string_view bytes) override {
            if (!incoming_ || !broken_.empty()) {
                return;
            }
            size_ += bytes.size();
            if (size_ > importer_.options_.max_message_bytes) {
                broken_ = fmt::format(
                    "message too big (over the limit of {} bytes)",
                    importer_.options_.max_message_bytes
                );
                return;
            }
            converted_.clear();
            crlf_.convert(bytes, converted_);
            if (auto st = incoming_->append(converted_); !st) {
                broken_ = "cannot write the spool file: " + st.error().message();
            }
        }
        void on_end() override {
            const fs::path where = fmt::format("{} (message {})", path_.string(), index_);
            if (!broken_.empty() || !incoming_) {
                importer_.fail(where, broken_);
                incoming_.reset();
                return;
            }
            store::Incoming incoming = std::move(*incoming_);
            incoming_.reset();
            importer_.deliver(
                std::move(incoming), mailbox_, meta_.flags, meta_.keywords, date_, where
            );
        }

    private:
        Importer& importer_;
        const fs::path& path_;
        std::string mailbox_;
        std::optional<store::Incoming> incoming_;
        CrlfWriter crlf_;
        std::string converted_;
        std::uint64_t size_ = 0;
        std::uint64_t index_ = 0;
        std::string broken_;
        core::WallTime date_;
        mbox::Meta meta_;
    };

    void import_mbox_file(const fs::path& path, const std::string& foreign_name) {
        detail::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid()) {
            fail(path, "cannot open: " + detail::os_error());
            return;
        }
        // Look before creating the mailbox: a file that is not an mbox is reported and skipped.
        ssize_t n = 0;
        do {
            n = ::read(fd.get(), buffer_.data(), buffer_.size());
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            fail(path, "cannot read: " + detail::os_error());
            return;
        }
        std::string_view first(buffer_.data(), static_cast<std::size_t>(n));
        if (n > 0 && first.substr(0, 5) != std::string_view("From ").substr(0, first.size())) {
            note(path, "not an mbox file (it does not start with a \"From \" line); skipped");
            return;
        }
        auto mailbox = ensure_mailbox(foreign_name, path);
        if (!mailbox) {
            return;
        }
        MboxSink sink(*this, path, *mailbox);
        mbox::Parser parser(sink);
        while (n > 0) {
            parser.feed({buffer_.data(), static_cast<std::size_t>(n)});
            do {
                n = ::read(fd.get(), buffer_.data(), buffer_.size());
            } while (n < 0 && errno == EINTR);
        }
        if (n < 0) {
            note(path, "read error, the rest of the file is skipped: " + detail::os_error());
        }
        parser.finish();
        if (!parser.is_mbox()) {
            note(path, "not an mbox file; skipped");
        }
    }

private:
    store::Store& store_;
    const ImportOptions& options_;
    ImportReport report_;
    std::map<std::string, std::size_t> counts_;  // mailbox → index in report_.mailboxes
    std::string buffer_;
};

}  // namespace

Result<ImportReport> import_mail(store::Store& store, const ImportOptions& options) {
    if (!store::Store::is_safe_account_name(options.account)) {
        return Errc::Invalid;
    }
    if (auto boxes = store.list_mailboxes(options.account); !boxes) {
        return Errc::Store;
    }
    Importer importer(store, options);
    return importer.run();
}

}  // namespace sov::exchange
