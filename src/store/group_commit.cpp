// Group commit: sync threads fdatasync spool files, the committer thread writes every ready
// delivery of a batch with one transaction and one directory fsync per account.
#include <time.h>

#include <algorithm>
#include <latch>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "store/detail/fs.hpp"
#include "store/detail/sqlite.hpp"
#include "store/detail/store_impl.hpp"

namespace sov::store {

namespace fs = std::filesystem;
using detail::Account;
using detail::bucket_of;
using detail::Job;
using detail::join_keywords;
using detail::normalize_keywords;
using detail::outcome;
using detail::StmtScope;
using detail::to_unix;

std::string detail::bucket_of(std::int64_t unix_s) {
    time_t tt = static_cast<time_t>(unix_s);
    struct tm tm{};
    gmtime_r(&tt, &tm);
    return fmt::format("{:04d}{:02d}", tm.tm_year + 1900, tm.tm_mon + 1);
}

namespace {

// A mailbox touched by a batch: counters are kept here and written back once.
struct MailboxState {
    std::int64_t id = 0;
    std::uint32_t uid_validity = 0;
    std::int64_t uid_next = 1;
    std::int64_t highest_modseq = 1;
    std::int64_t count_delta = 0;
    std::int64_t bytes_delta = 0;
    std::int64_t unseen_delta = 0;
    std::int64_t deleted_delta = 0;
};

struct AccountState {
    Quota quota;
    std::int64_t used_bytes = 0;
    std::int64_t used_messages = 0;
};

}  // namespace

void Store::Impl::start() {
    unsigned n = std::max(1U, opt.sync_threads);
    for (unsigned i = 0; i < n; ++i) {
        sync_threads.emplace_back([this] {
            core::set_thread_name("sov-sync");
            sync_loop();
        });
    }
    committer = std::thread([this] {
        core::set_thread_name("sov-commit");
        commit_loop();
    });
    maintenance = std::thread([this] {
        // Mostly the full-text indexer (fts.cpp); the benchmarks report its CPU by this name.
        core::set_thread_name("sov-index");
        maintenance_loop();
    });
}

// The committer drains first (it still needs the workers for its per-account tasks), then the
// workers stop.
void Store::Impl::shutdown() {
    {
        // Leftover text garbage stays listed in the index and is collected after the next open.
        std::lock_guard lock(maintenance_mu);
        stop_maintenance = true;
    }
    maintenance_cv.notify_all();
    if (maintenance.joinable()) {
        maintenance.join();
    }
    {
        std::lock_guard lock(queue_mu);
        stop_commit = true;
    }
    commit_cv.notify_all();
    if (committer.joinable()) {
        committer.join();
    }
    {
        std::lock_guard lock(queue_mu);
        stop_sync = true;
    }
    sync_cv.notify_all();
    for (auto& t : sync_threads) {
        t.join();
    }
}

void Store::Impl::run_parallel(std::vector<std::function<void()>>& fns) {
    if (fns.empty()) {
        return;
    }
    std::latch remaining(static_cast<std::ptrdiff_t>(fns.size() - 1));
    {
        std::lock_guard lock(queue_mu);
        for (std::size_t i = 1; i < fns.size(); ++i) {
            tasks.emplace_back([&fns, &remaining, i] {
                fns[i]();
                remaining.count_down();
            });
        }
    }
    sync_cv.notify_all();
    fns[0]();
    remaining.wait();
}

void Store::Impl::prepare(Job& job) {
    // Step 1 of the durability contract, outside any lock and in parallel with other
    // deliveries: concurrent fdatasyncs share the file system's journal commits.
    job.prepared = IncomingAccess::finish(job.message, opt.structure_of, job.structure);
    ++n_file_syncs;
}

void Store::Impl::enqueue_commit(std::unique_ptr<Job> job, bool was_syncing) {
    {
        std::lock_guard lock(queue_mu);
        commit_queue.push_back(std::move(job));
        if (was_syncing) {
            --syncing;
        }
    }
    commit_cv.notify_one();
}

void Store::Impl::enqueue_group(std::vector<std::unique_ptr<Job>> jobs) {
    {
        std::lock_guard lock(queue_mu);
        for (auto& job : jobs) {
            commit_queue.push_back(std::move(job));
        }
    }
    commit_cv.notify_one();
}

void Store::Impl::sync_loop() {
    for (;;) {
        std::unique_ptr<Job> job;
        std::function<void()> task;
        {
            std::unique_lock lock(queue_mu);
            sync_cv.wait(lock, [&] { return stop_sync || !sync_queue.empty() || !tasks.empty(); });
            if (!tasks.empty()) {  // the committer is waiting on these: first
                task = std::move(tasks.front());
                tasks.pop_front();
            } else if (!sync_queue.empty()) {
                job = std::move(sync_queue.front());
                sync_queue.pop_front();
                ++syncing;
            } else {
                return;  // stopping, and the committer has drained everything
            }
        }
        if (task) {
            task();
            continue;
        }
        prepare(*job);
        enqueue_commit(std::move(job), true);
    }
}

void Store::Impl::commit_loop() {
    for (;;) {
        std::vector<std::unique_ptr<Job>> batch;
        {
            std::unique_lock lock(queue_mu);
            auto drained = [&] { return sync_queue.empty() && syncing == 0; };
            commit_cv.wait(lock, [&] {
                return !commit_queue.empty() || (stop_commit && drained());
            });
            if (commit_queue.empty()) {
                return;
            }
            // Everything that became ready while the previous batch was syncing forms the next
            // batch: under load batches grow by themselves, idle there is no added latency. The
            // messages of an append_all are a batch of their own, whole: its transaction must
            // be all or nothing without taking other deliveries with it.
            const std::uint64_t group = commit_queue.front()->group;
            while (!commit_queue.empty() && commit_queue.front()->group == group &&
                   (group != 0 || batch.size() < std::max<std::size_t>(1, opt.max_batch))) {
                batch.push_back(std::move(commit_queue.front()));
                commit_queue.pop_front();
            }
        }
        process_batch(batch);
    }
}

Status Store::Impl::commit(Account& acc) {
    ++n_commits;
    return acc.db.commit();
}

Status Store::Impl::ensure_bucket(Account& acc, const std::string& bucket) {
    if (acc.known_buckets.contains(bucket)) {
        return {};
    }
    bool created = false;
    if (auto st = detail::make_dir(acc.dir / "msg" / bucket, created); !st) {
        return st;
    }
    if (created) {
        // The new directory's entry in msg/ must be durable before files in it count.
        if (auto st = sync_dir(acc.dir / "msg"); !st) {
            return st;
        }
    }
    acc.known_buckets.insert(bucket);
    return {};
}

void Store::Impl::process_batch(std::vector<std::unique_ptr<Job>>& batch) {
    ++n_batches;
    std::vector<std::vector<DeliveryOutcome>> outcomes(batch.size());
    struct Item {
        std::size_t job;
        std::size_t rcpt;
    };
    std::map<std::string, std::vector<Item>, std::less<>> by_account;
    for (std::size_t j = 0; j < batch.size(); ++j) {
        Job& job = *batch[j];
        outcomes[j].resize(job.request.recipients.size());
        for (std::size_t r = 0; r < job.request.recipients.size(); ++r) {
            auto& o = outcomes[j][r];
            o.mailbox = job.request.recipients[r].mailbox;
            if (!job.prepared) {
                o = outcome(DeliveryStatus::TempFail, "spool: " + job.prepared.error().message());
                continue;
            }
            if (!Store::is_safe_account_name(job.request.recipients[r].account)) {
                o = outcome(DeliveryStatus::MailboxMissing, "unusable account name");
                continue;
            }
            by_account[job.request.recipients[r].account].push_back({j, r});
        }
    }
    n_deliveries += [&] {
        std::uint64_t n = 0;
        for (auto& [a, items] : by_account) {
            n += items.size();
        }
        return n;
    }();

    struct Work {
        std::shared_ptr<Account> acc;
        std::unique_lock<std::mutex> lock;
        std::vector<Item> items;
        std::vector<fs::path> linked;
        std::set<std::string> buckets;
        bool open_txn = false;
    };
    std::vector<Work> work;
    // Phase 0: resolve accounts before locking any (accounts_mu is never taken under an
    // Account::mu, see remove_account).
    for (auto& [name, items] : by_account) {
        const Recipient& first = batch[items[0].job]->request.recipients[items[0].rcpt];
        const bool create = batch[items[0].job]->request.create_missing_accounts;
        auto acc = account(name, create, first.quota);
        if (!acc) {
            for (const Item& it : items) {
                outcomes[it.job][it.rcpt] =
                    acc.error() == Errc::NotFound
                        ? outcome(DeliveryStatus::MailboxMissing, "no such account")
                        : outcome(DeliveryStatus::TempFail, "account: " + acc.error().message());
            }
            continue;
        }
        work.push_back(Work{std::move(*acc), {}, std::move(items), {}, {}, false});
    }

    const std::int64_t now_s = to_unix(core::now());
    const std::string bucket = bucket_of(now_s);

    auto fail_work = [&](Work& w, const std::string& reason) {
        if (w.open_txn) {
            w.acc->db.rollback();
            w.open_txn = false;
        }
        for (const auto& p : w.linked) {
            detail::remove_file(p);
        }
        w.linked.clear();
        for (const Item& it : w.items) {
            auto& o = outcomes[it.job][it.rcpt];
            if (o.status == DeliveryStatus::Delivered) {
                o = outcome(DeliveryStatus::TempFail, reason);
            }
        }
    };

    // Phase 1: per account, link files and write rows inside one open transaction.
    for (Work& w : work) {
        w.lock = std::unique_lock(w.acc->mu);
        Account& acc = *w.acc;
        for (const Item& it : w.items) {
            outcomes[it.job][it.rcpt] = outcome(DeliveryStatus::TempFail, "not attempted");
        }
        if (acc.removed || !acc.db.is_open()) {
            fail_work(w, "account removed");
            for (const Item& it : w.items) {
                outcomes[it.job][it.rcpt] = outcome(DeliveryStatus::TempFail, "account removed");
            }
            continue;
        }
        if (auto st = acc.db.begin(); !st) {
            for (const Item& it : w.items) {
                outcomes[it.job][it.rcpt] = outcome(DeliveryStatus::TempFail, "index busy");
            }
            continue;
        }
        w.open_txn = true;

        AccountState as;
        {
            auto s = acc.db.prepare(
                "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account "
                "WHERE id = 1"
            );
            if (!s) {
                fail_work(w, "index error");
                continue;
            }
            StmtScope scope(**s);
            if (!scope->step()) {
                fail_work(w, "index has no account row");
                continue;
            }
            as.quota.max_bytes = static_cast<std::uint64_t>(scope->int64(0));
            as.quota.max_messages = static_cast<std::uint64_t>(scope->int64(1));
            as.used_bytes = scope->int64(2);
            as.used_messages = scope->int64(3);
        }
        const AccountState before = as;
        std::map<std::string, MailboxState, std::less<>> mailboxes;
        std::map<std::size_t, int> links_of_job;       // a job delivered twice here needs two names
        std::map<std::size_t, std::string> email_ids;  // one EMAILID per message (RFC 8474 §5.1)

        bool bucket_ok = true;
        if (auto st = ensure_bucket(acc, bucket); !st) {
            bucket_ok = false;
        }

        bool aborted = false;  // the transaction is gone (see below)
        for (const Item& it : w.items) {
            Job& job = *batch[it.job];
            const Recipient& r = job.request.recipients[it.rcpt];
            auto& o = outcomes[it.job][it.rcpt];
            if (r.quota) {
                as.quota = *r.quota;  // the accounts module is the authority on limits
            }
            std::string mbname = Store::canonical_mailbox_name(r.mailbox);
            if (mbname.empty()) {
                o = outcome(DeliveryStatus::MailboxMissing, "invalid mailbox name");
                continue;
            }
            auto mit = mailboxes.find(mbname);
            if (mit == mailboxes.end()) {
                auto s = acc.db.prepare(
                    "SELECT id, uid_validity, uid_next, highest_modseq FROM mailboxes WHERE name = "
                    "?1"
                );
                if (!s) {
                    o = outcome(DeliveryStatus::TempFail, "index error");
                    continue;
                }
                StmtScope scope(**s);
                if (!scope->bind(1, mbname).step()) {
                    o = scope->error() ? outcome(DeliveryStatus::MailboxMissing, "no such mailbox")
                                       : outcome(DeliveryStatus::TempFail, "index error");
                    continue;
                }
                MailboxState ms;
                ms.id = scope->int64(0);
                ms.uid_validity = static_cast<std::uint32_t>(scope->int64(1));
                ms.uid_next = scope->int64(2);
                ms.highest_modseq = scope->int64(3);
                mit = mailboxes.emplace(mbname, ms).first;
            }
            MailboxState& ms = mit->second;
            const auto size = static_cast<std::int64_t>(job.message.size());
            // RFC 5321 §4.5.3.1.10 / RFC 3463 §3.3: X.2.2 mailbox full is temporary unless the
            // message could never fit.
            if (as.quota.max_bytes != 0 && static_cast<std::uint64_t>(size) > as.quota.max_bytes) {
                o = outcome(DeliveryStatus::MessageTooBigForQuota, "message larger than quota");
                continue;
            }
            if ((as.quota.max_bytes != 0 &&
                 static_cast<std::uint64_t>(as.used_bytes + size) > as.quota.max_bytes) ||
                (as.quota.max_messages != 0 &&
                 static_cast<std::uint64_t>(as.used_messages + 1) > as.quota.max_messages)) {
                o = outcome(DeliveryStatus::QuotaExceeded, "mailbox full");
                continue;
            }
            if (ms.uid_next > 0xffffffffLL - 1) {
                // RFC 3501 §2.3.1.1: UIDs are 32-bit; a new UIDVALIDITY would be needed.
                o = outcome(DeliveryStatus::TempFail, "UID space exhausted");
                continue;
            }
            if (!bucket_ok) {
                o = outcome(DeliveryStatus::TempFail, "cannot create message directory");
                continue;
            }
            int nth = links_of_job[it.job]++;
            std::string file = fmt::format(
                "msg/{}/{}.{}{}",
                bucket,
                now_s,
                IncomingAccess::name(job.message),
                nth == 0 ? std::string() : fmt::format(".{}", nth)
            );
            fs::path target = acc.dir / file;
            bool copied = false;
            // Step 2: the link makes the (already synced) inode reachable from the account; the
            // directory fsync below makes the link durable.
            if (auto st = detail::link_or_copy(job.message.spool_path(), target, copied); !st) {
                o = outcome(DeliveryStatus::TempFail, "cannot store message file");
                continue;
            }
            if (copied) {
                ++n_file_syncs;
            }
            w.linked.push_back(target);
            w.buckets.insert(bucket);

            const std::int64_t uid = ms.uid_next;
            const std::int64_t modseq = ms.highest_modseq + 1;
            const std::uint32_t flags = r.flags & flag::kAll;
            auto kw = normalize_keywords(r.keywords);
            auto& email_id = email_ids[it.job];
            if (email_id.empty()) {
                email_id = new_email_id();
            }
            const auto keywords = join_keywords(kw);
            auto inserted = detail::insert_message_row(
                acc.db,
                {.mailbox_id = ms.id,
                 .uid = uid,
                 .modseq = modseq,
                 .flags = static_cast<std::int64_t>(flags),
                 .keywords = keywords,
                 .internal_date = r.internal_date ? to_unix(*r.internal_date) : now_s,
                 .save_date = now_s,
                 .size = size,
                 .file = file,
                 .email_id = email_id,
                 .thread_id = std::nullopt,
                 .text_id = std::nullopt}
            );
            Status ins = inserted ? Status() : Status(inserted.error());
            if (ins) {
                const std::int64_t id = *inserted;
                auto d = acc.db.prepare(
                    "INSERT OR REPLACE INTO message_data(id, structure, envelope) "
                    "VALUES (?1, ?2, ?3)"
                );
                ins = d ? Status() : Status(d.error());
                if (d) {
                    StmtScope scope(**d);
                    ins = scope->bind(1, id).bind_blob(2, job.structure).bind(3, r.envelope).run();
                }
                if (!ins) {  // take the row back: a message without its data is not delivered
                    auto del = acc.db.prepare("DELETE FROM messages WHERE id = ?1");
                    bool undone = del.has_value();
                    if (undone) {
                        StmtScope scope(**del);
                        undone = scope->bind(1, id).run().has_value();
                    }
                    if (!undone || sqlite3_get_autocommit(acc.db.raw()) != 0) {
                        aborted = true;
                        break;
                    }
                }
            }
            if (!ins) {
                detail::remove_file(target);
                w.linked.pop_back();
                o = outcome(DeliveryStatus::TempFail, "index insert failed");
                continue;
            }
            ms.uid_next = uid + 1;
            ms.highest_modseq = modseq;
            ms.count_delta += 1;
            ms.bytes_delta += size;
            ms.unseen_delta += (flags & flag::kSeen) == 0 ? 1 : 0;
            ms.deleted_delta += (flags & flag::kDeleted) != 0 ? 1 : 0;
            as.used_bytes += size;
            as.used_messages += 1;
            o.status = DeliveryStatus::Delivered;
            o.uid = static_cast<std::uint32_t>(uid);
            o.uid_validity = ms.uid_validity;
            o.modseq = static_cast<std::uint64_t>(modseq);
            o.mailbox = mbname;
            o.reason.clear();
        }

        // Write back the counters once per mailbox and once for the account.
        bool ok = !aborted;
        for (auto& [name, ms] : mailboxes) {
            if (!ok) {
                break;
            }
            if (ms.count_delta == 0) {
                continue;
            }
            auto s = acc.db.prepare(
                "UPDATE mailboxes SET uid_next = ?1, highest_modseq = ?2, "
                "message_count = message_count + ?3, total_size = total_size + ?4, "
                "unseen_count = unseen_count + ?6, deleted_count = deleted_count + ?7 WHERE id = ?5"
            );
            if (!s) {
                ok = false;
                break;
            }
            StmtScope scope(**s);
            ok = scope->bind(1, ms.uid_next)
                     .bind(2, ms.highest_modseq)
                     .bind(3, ms.count_delta)
                     .bind(4, ms.bytes_delta)
                     .bind(5, ms.id)
                     .bind(6, ms.unseen_delta)
                     .bind(7, ms.deleted_delta)
                     .run()
                     .has_value();
            if (!ok) {
                break;
            }
        }
        if (ok &&
            (as.used_bytes != before.used_bytes || as.quota.max_bytes != before.quota.max_bytes ||
             as.quota.max_messages != before.quota.max_messages)) {
            auto s = acc.db.prepare(
                "UPDATE account SET quota_bytes = ?1, quota_messages = ?2, used_bytes = ?3, "
                "used_messages = ?4 WHERE id = 1"
            );
            ok = s.has_value();
            if (ok) {
                StmtScope scope(**s);
                ok = scope->bind(1, static_cast<std::int64_t>(as.quota.max_bytes))
                         .bind(2, static_cast<std::int64_t>(as.quota.max_messages))
                         .bind(3, as.used_bytes)
                         .bind(4, as.used_messages)
                         .run()
                         .has_value();
            }
        }
        if (!ok) {
            fail_work(w, "index update failed");
        }
    }

    // A group (Store::append_all, one account) is stored whole or not at all (RFC 3502 §6.3.11):
    // if any of its messages was refused, the others are taken back before anything commits.
    if (batch.front()->group != 0 &&
        std::any_of(outcomes.begin(), outcomes.end(), [](const auto& job_outcomes) {
            return std::any_of(job_outcomes.begin(), job_outcomes.end(), [](const auto& o) {
                return !o.delivered();
            });
        })) {
        for (Work& w : work) {
            fail_work(w, "not stored: another message of the group was refused");
        }
    }

    // Phase 2, per account: make the links durable (one fsync per bucket directory), then
    // commit; after COMMIT returns the delivery may be acknowledged. Accounts are independent, so
    // they sync in parallel and their fsyncs share journal commits.
    std::vector<std::function<void()>> finals;
    for (Work& w : work) {
        if (!w.open_txn) {
            continue;
        }
        finals.emplace_back([&w, &fail_work, this] {
            for (const auto& b : w.buckets) {
                if (auto st = sync_dir(w.acc->dir / "msg" / b); !st) {
                    fail_work(w, "directory sync failed");
                    return;
                }
            }
            if (auto st = commit(*w.acc); !st) {
                fail_work(w, "index commit failed");
                return;
            }
            w.open_txn = false;
        });
    }
    run_parallel(finals);
    work.clear();  // unlock accounts before running listeners and callbacks

    std::set<std::pair<std::string, std::string>> changed;
    for (std::size_t j = 0; j < batch.size(); ++j) {
        for (std::size_t r = 0; r < outcomes[j].size(); ++r) {
            if (outcomes[j][r].delivered()) {
                changed.emplace(batch[j]->request.recipients[r].account, outcomes[j][r].mailbox);
            }
        }
    }
    std::string last_account;
    for (const auto& [account, mailbox] : changed) {
        if (opt.text_of && account != last_account) {
            schedule_maintenance(account);  // the text index follows in the background (fts.cpp)
            last_account = account;
        }
        notify(account, mailbox);
    }

    for (std::size_t j = 0; j < batch.size(); ++j) {
        Job& job = *batch[j];
        for (std::size_t r = 0; r < outcomes[j].size(); ++r) {
            const auto& o = outcomes[j][r];
            if (!o.delivered()) {
                log::info(
                    "store.delivery_failed",
                    {{"trace", job.request.trace_id},
                     {"account", job.request.recipients[r].account},
                     {"reason", o.reason}}
                );
            }
        }
        auto done = std::move(job.done);
        auto result = std::move(outcomes[j]);
        batch[j].reset();  // removes the spool file: it is linked everywhere it is needed
        if (done) {
            done(std::move(result));
        }
    }
}

}  // namespace sov::store
