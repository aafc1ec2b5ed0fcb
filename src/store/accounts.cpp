// Account stores: opening (and creating) an account's directory and index, removing an account,
// and its quota usage.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Account;
using detail::kRemovedPrefix;
using detail::StmtScope;

namespace {

constexpr std::size_t kMaxOpenAccounts = 1024;  // idle index connections kept open

}  // namespace

Status Store::Impl::create_account_files(Account& acc, Quota quota) {
    bool created_dir = false;
    if (auto st = detail::make_dir(acc.dir, created_dir); !st) {
        return st;
    }
    bool created_msg = false;
    if (auto st = detail::make_dir(acc.dir / "msg", created_msg); !st) {
        return st;
    }
    if (auto st = acc.db.open(acc.dir / "index.db", true); !st) {
        return st;
    }
    if (auto st = init_index(acc, quota); !st) {
        return st;
    }
    // The index file, its WAL and msg/ must be reachable after a crash: sync the account
    // directory, then its entry in mail/.
    if (auto st = sync_dir(acc.dir); !st) {
        return st;
    }
    if (created_dir) {
        return sync_dir(mail_dir);
    }
    return {};
}

Result<std::shared_ptr<Account>> Store::Impl::account(
    std::string_view name, bool create, std::optional<Quota> quota
) {
    if (!Store::is_safe_account_name(name)) {
        log::warn("store.unsafe_account_name", {{"account", name}});
        return Errc::Invalid;
    }
    std::lock_guard lock(accounts_mu);
    if (auto it = accounts.find(std::string(name)); it != accounts.end()) {
        return it->second;
    }
    if (accounts.size() >= kMaxOpenAccounts) {
        // Close idle connections: an entry only the map references is not in use by anyone.
        std::erase_if(accounts, [](const auto& kv) { return kv.second.use_count() == 1; });
    }
    auto acc = std::make_shared<Account>();
    acc->name = std::string(name);
    acc->dir = mail_dir / acc->name;
    if (create) {
        if (auto st = create_account_files(*acc, quota.value_or(Quota{})); !st) {
            return st.error();
        }
    } else {
        struct stat st{};
        if (::stat((acc->dir / "index.db").c_str(), &st) != 0) {
            return Errc::NotFound;
        }
        if (auto s = acc->db.open(acc->dir / "index.db", false); !s) {
            return s.error();
        }
        if (auto s = init_index(*acc, std::nullopt); !s) {
            return s.error();
        }
    }
    // Text index work left when the store last stopped (or crashed), or never done: messages
    // delivered before text_of was set, or by a version without the index; a text.db deleted
    // by hand is rebuilt.
    if (auto st = detail::check_text_index(*acc, false, nullptr); !st) {
        return st.error();
    }
    const char* pending = opt.text_of ? "SELECT 1 FROM text_garbage UNION ALL "
                                        "SELECT 1 FROM messages WHERE text_id IS NULL LIMIT 1"
                                      : "SELECT 1 FROM text_garbage LIMIT 1";
    if (auto s = acc->db.prepare(pending)) {
        StmtScope scope(**s);
        if (scope->step()) {
            schedule_maintenance(acc->name);
        }
    }
    // Without it, readers open message files by their full path (MessageRow::dir_fd).
    acc->dir_fd = detail::Fd(::open(acc->dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    accounts.emplace(acc->name, acc);
    return acc;
}

Status Store::ensure_account(std::string_view account, Quota quota) {
    auto acc = impl_->account(account, true, quota);
    if (!acc) {
        return acc.error();
    }
    // Already open: only the quota may have changed.
    std::lock_guard lock((*acc)->mu);
    if ((*acc)->removed) {
        return Errc::TempFail;
    }
    return impl_->init_index(**acc, quota);
}

Status Store::remove_account(std::string_view account) {
    if (!is_safe_account_name(account)) {
        return Errc::Invalid;
    }
    fs::path doomed;
    {
        std::lock_guard lock(impl_->accounts_mu);
        fs::path dir = impl_->mail_dir / std::string(account);
        if (auto it = impl_->accounts.find(std::string(account)); it != impl_->accounts.end()) {
            std::lock_guard acc_lock(it->second->mu);
            it->second->removed = true;
            it->second->closed = true;
            it->second->db.close();
            impl_->accounts.erase(it);
        }
        struct stat st{};
        if (::stat(dir.c_str(), &st) != 0) {
            return Errc::NotFound;
        }
        // Rename first (atomic, durable after the fsync): a crash during the slow recursive
        // removal leaves a ".removed-" directory that recover() finishes, never half an account.
        doomed = impl_->mail_dir /
                 fmt::format("{}{}-{}", kRemovedPrefix, account, detail::random_token());
        if (::rename(dir.c_str(), doomed.c_str()) != 0) {
            log::error(
                "store.io",
                {{"op", "rename"}, {"path", dir.string()}, {"error", std::strerror(errno)}}
            );
            return Errc::Io;
        }
        if (auto s = impl_->sync_dir(impl_->mail_dir); !s) {
            return s;
        }
    }
    std::error_code ec;
    fs::remove_all(doomed, ec);
    log::info("store.account_removed", {{"account", account}});
    return {};
}

Result<QuotaUsage> Store::quota_usage(std::string_view account) {
    auto acc = impl_->account(account, false, std::nullopt);
    if (!acc) {
        return acc.error();
    }
    std::lock_guard lock((*acc)->mu);
    if ((*acc)->removed) {
        return Errc::NotFound;
    }
    auto s = (*acc)->db.prepare(
        "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account WHERE id = 1"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    if (!scope->step()) {
        return Errc::Corrupt;
    }
    QuotaUsage q;
    q.limit.max_bytes = static_cast<std::uint64_t>(scope->int64(0));
    q.limit.max_messages = static_cast<std::uint64_t>(scope->int64(1));
    q.used_bytes = static_cast<std::uint64_t>(scope->int64(2));
    q.used_messages = static_cast<std::uint64_t>(scope->int64(3));
    return q;
}

namespace detail {

Status release_usage(Account& acc, std::int64_t bytes, std::int64_t messages) {
    auto s = acc.db.prepare(
        "UPDATE account SET used_bytes = used_bytes - ?1, "
        "used_messages = used_messages - ?2 WHERE id = 1"
    );
    if (!s) {
        return s.error();
    }
    StmtScope scope(**s);
    return scope->bind(1, bytes).bind(2, messages).run();
}

}  // namespace detail

}  // namespace sov::store
