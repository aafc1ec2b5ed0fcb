#include "exchange/exporter.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "exchange/detail/files.hpp"
#include "exchange/line_ends.hpp"
#include "exchange/maildir.hpp"
#include "exchange/mbox.hpp"
#include "exchange/names.hpp"

namespace sov::exchange {
namespace {

namespace fs = std::filesystem;

class Exporter {
public:
    Exporter(store::Store& store, const ExportOptions& options)
        : store_(store), options_(options) {}

    Result<ExportReport> run() {
        if (auto st = prepare_target(); !st) {
            return st.error();
        }
        auto boxes = store_.list_mailboxes(options_.account);
        if (!boxes) {
            return Errc::Store;
        }
        // INBOX first (it is the Maildir root), then by name: parents before children.
        std::stable_sort(boxes->begin(), boxes->end(), [](const auto& a, const auto& b) {
            return (a.name == "INBOX") != (b.name == "INBOX") ? a.name == "INBOX" : a.name < b.name;
        });
        for (const auto& box : *boxes) {
            names_.insert(box.name);
            messages_of_[box.name] = box.messages;
        }
        std::vector<std::string> subscribed;
        for (const auto& box : *boxes) {
            const bool ok =
                options_.format == Format::Maildir ? export_maildir_box(box) : export_mbox_box(box);
            if (ok) {
                ++report_.mailboxes;
                if (box.subscribed) {
                    subscribed.push_back(box.name);
                }
            }
        }
        const fs::path subscriptions =
            options_.target /
            (options_.format == Format::Maildir ? "subscriptions" : ".subscriptions");
        if (auto err = detail::create_file(subscriptions, format_subscriptions(subscribed));
            !err.empty()) {
            report_.problems.push_back(subscriptions.string() + ": " + err);
        }
        // One flush for the whole tree instead of an fsync per file.
        detail::Fd dir(::open(options_.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (dir.valid() && ::syncfs(dir.get()) != 0) {
            report_.problems.push_back(
                options_.target.string() + ": syncfs: " + detail::os_error()
            );
        }
        return std::move(report_);
    }

private:
    Status prepare_target() {
        std::error_code ec;
        const auto& target = options_.target;
        if (fs::exists(fs::symlink_status(target, ec))) {
            if (!fs::is_directory(fs::symlink_status(target, ec)) || !fs::is_empty(target, ec) ||
                ec) {
                return Errc::TargetInUse;
            }
            return {};
        }
        if (target.has_parent_path()) {
            fs::create_directories(target.parent_path(), ec);
            if (ec) {
                return Errc::Io;
            }
        }
        if (!detail::make_dir(target).empty()) {
            return Errc::Io;
        }
        return {};
    }

    void problem(const fs::path& where, std::string_view reason) {
        report_.problems.push_back(fmt::format("{}: {}", where.string(), reason));
    }

    bool make_dirs(const std::vector<fs::path>& dirs) {
        for (const auto& dir : dirs) {
            if (auto err = detail::make_dir(dir); !err.empty()) {
                problem(dir, "cannot create: " + err);
                return false;
            }
        }
        return true;
    }

    std::optional<std::string> read(const store::MailboxInfo& box, const store::MessageInfo& m) {
        auto bytes = store_.read_message(options_.account, box.name, m.uid);
        if (!bytes) {
            ++report_.failed;
            problem(
                fmt::format("{} uid {}", box.name, m.uid), "cannot read: " + bytes.error().message()
            );
            return std::nullopt;
        }
        return to_lf(*bytes);
    }

    // ---- Maildir++
    bool export_maildir_box(const store::MailboxInfo& box) {
        fs::path dir = options_.target;
        if (box.name != "INBOX") {
            const auto on_disk = maildirpp_dir_name(box.name);
            if (!on_disk) {
                problem(box.name, "mailbox name cannot be written as a Maildir++ folder");
                return false;
            }
            dir /= *on_disk;
        }
        if (!make_dirs({dir, dir / "cur", dir / "new", dir / "tmp"})) {
            return false;
        }
        if (box.name != "INBOX") {
            // Maildir++: marks a folder (Courier, Dovecot's maildir_copy_with_hardlinks check).
            if (auto err = detail::create_file(dir / "maildirfolder", ""); !err.empty()) {
                problem(dir / "maildirfolder", err);
            }
        }
        auto messages = store_.list_messages(options_.account, box.name);
        if (!messages) {
            problem(box.name, "cannot list messages: " + messages.error().message());
            return false;
        }
        std::vector<std::string> keyword_names;  // letter 'a' + index
        maildir::UidList uidlist{
            .uid_validity = box.uid_validity, .next_uid = box.uid_next, .entries = {}
        };
        for (const auto& m : *messages) {
            auto bytes = read(box, m);
            if (!bytes) {
                continue;
            }
            std::string letters;
            for (const auto& keyword : m.keywords) {
                auto it = std::find(keyword_names.begin(), keyword_names.end(), keyword);
                if (it == keyword_names.end()) {
                    if (keyword_names.size() == 26) {
                        ++report_.dropped_keywords;  // Maildir has 26 keyword letters
                        continue;
                    }
                    it = keyword_names.insert(keyword_names.end(), keyword);
                }
                letters += static_cast<char>('a' + (it - keyword_names.begin()));
            }
            const std::int64_t date = core::unix_seconds(m.internal_date);
            const std::string base = maildir::unique_name(
                date,
                ++counter_,
                static_cast<long>(::getpid()),
                bytes->size(),
                bytes->size() + count_lf(*bytes)
            );
            // Maildir delivery: write in tmp/, then rename into place (never a partial file).
            const fs::path tmp = dir / "tmp" / base;
            const fs::path cur = dir / "cur" / (base + maildir::info_suffix(m.flags, letters));
            if (auto err = detail::create_file(tmp, *bytes, date); !err.empty()) {
                ++report_.failed;
                problem(tmp, "cannot write: " + err);
                continue;
            }
            if (::rename(tmp.c_str(), cur.c_str()) != 0) {
                ++report_.failed;
                problem(cur, "cannot rename: " + detail::os_error());
                continue;
            }
            uidlist.entries.emplace_back(m.uid, base);
            ++report_.messages;
        }
        if (!keyword_names.empty()) {
            if (auto err = detail::create_file(
                    dir / "dovecot-keywords", maildir::format_keywords_file(keyword_names)
                );
                !err.empty()) {
                problem(dir / "dovecot-keywords", err);
            }
        }
        // Dovecot keeps our UIDs and UIDVALIDITY when it finds them here.
        if (auto err =
                detail::create_file(dir / "dovecot-uidlist", maildir::format_uidlist(uidlist));
            !err.empty()) {
            problem(dir / "dovecot-uidlist", err);
        }
        return true;
    }

    // ---- mbox
    bool has_children(const std::string& name) const {
        const auto prefix = name + "/";
        const auto first = names_.lower_bound(prefix);
        return first != names_.end() && first->compare(0, prefix.size(), prefix) == 0;
    }
    /// A mailbox is a file unless it is only a parent (no messages, has children).
    bool is_file(const std::string& name) const {
        const auto it = messages_of_.find(name);
        return it != messages_of_.end() && (it->second > 0 || !has_children(name));
    }

    bool export_mbox_box(const store::MailboxInfo& box) {
        if (!is_file(box.name)) {
            return true;  // its directory is made with its children
        }
        const auto levels = split_levels(box.name);
        fs::path path = options_.target;
        std::string prefix;
        for (std::size_t i = 0; i < levels.size(); ++i) {
            const auto on_disk = encode_level(levels[i]);
            if (!on_disk) {
                problem(box.name, "mailbox name cannot be written as a file name");
                return false;
            }
            prefix += (i == 0 ? "" : "/") + levels[i];
            if (i + 1 == levels.size()) {
                path /= *on_disk;
                break;
            }
            // Thunderbird's convention when the parent is an mbox file itself.
            path /= is_file(prefix) ? *on_disk + ".sbd" : *on_disk;
            if (!make_dirs({path})) {
                return false;
            }
        }
        detail::Fd fd(
            ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)
        );
        if (!fd.valid()) {
            problem(path, "cannot create: " + detail::os_error());
            return false;
        }
        auto messages = store_.list_messages(options_.account, box.name);
        if (!messages) {
            problem(box.name, "cannot list messages: " + messages.error().message());
            return false;
        }
        std::set<std::string> keywords;
        for (const auto& m : *messages) {
            keywords.insert(m.keywords.begin(), m.keywords.end());
        }
        std::string imapbase = mbox::imapbase_header(
            box.uid_validity, box.uid_next, {keywords.begin(), keywords.end()}
        );
        for (const auto& m : *messages) {
            auto bytes = read(box, m);
            if (!bytes) {
                continue;
            }
            const mbox::Meta meta{.flags = m.flags, .keywords = m.keywords, .uid = m.uid};
            const auto text = mbox::format_message(*bytes, m.internal_date, meta, imapbase);
            imapbase.clear();  // only in the first message
            if (!detail::write_all(fd.get(), text)) {
                ++report_.failed;
                problem(path, "cannot write: " + detail::os_error());
                return false;
            }
            ++report_.messages;
        }
        return true;
    }

    store::Store& store_;
    const ExportOptions& options_;
    ExportReport report_;
    std::set<std::string> names_;
    std::map<std::string, std::uint32_t> messages_of_;
    std::uint64_t counter_ = 0;
};

}  // namespace

Result<ExportReport> export_mail(store::Store& store, const ExportOptions& options) {
    if (!store::Store::is_safe_account_name(options.account)) {
        return Errc::Invalid;
    }
    if (auto boxes = store.list_mailboxes(options.account); !boxes) {
        return Errc::Store;
    }
    Exporter exporter(store, options);
    return exporter.run();
}

}  // namespace sov::exchange
