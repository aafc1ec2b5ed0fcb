#include "store/store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace sov::store {
namespace {

namespace fs = std::filesystem;

std::string message(int n, std::size_t body = 4096) {
    std::string m = "From: a@example.org\r\nTo: b@example.org\r\nSubject: test " +
                    std::to_string(n) + "\r\n\r\n";
    while (m.size() < body) {
        m += "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    }
    return m;
}

std::size_t count_files(const fs::path& dir) {
    std::size_t n = 0;
    if (!fs::exists(dir)) {
        return 0;
    }
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        n += e.is_regular_file() ? 1 : 0;
    }
    return n;
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override { open_store(); }

    void open_store() {
        store_.reset();
        StoreOptions o;
        o.data_dir = dir_.path();
        o.structure_of = [](std::string_view bytes) {
            return "structure:" + std::to_string(bytes.size());
        };
        auto s = Store::open(std::move(o));
        ASSERT_TRUE(s) << s.error().message();
        store_ = std::move(*s);
    }

    Incoming incoming(std::string_view bytes) {
        auto in = store_->begin_message();
        EXPECT_TRUE(in);
        // Several appends, as the SMTP driver streams chunks.
        for (std::size_t i = 0; i < bytes.size(); i += 1000) {
            EXPECT_TRUE(in->append(bytes.substr(i, 1000)));
        }
        return std::move(*in);
    }

    DeliveryOutcome deliver_one(
        const std::string& account, std::string_view bytes, std::string mailbox = "INBOX"
    ) {
        DeliveryRequest req;
        Recipient r;
        r.account = account;
        r.mailbox = std::move(mailbox);
        req.recipients.push_back(r);
        auto out = store_->deliver(incoming(bytes), req);
        EXPECT_EQ(out.size(), 1U);
        return out.empty() ? DeliveryOutcome{} : out[0];
    }

    fs::path spool() const { return dir_.path() / "tmp"; }
    fs::path account_dir(const std::string& a) const { return dir_.path() / "mail" / a; }

    test::TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, EnsureAccountCreatesSpecialUseMailboxes) {
    ASSERT_TRUE(store_->ensure_account("alice@example.org", {}));
    ASSERT_TRUE(store_->ensure_account("alice@example.org", {}));  // idempotent
    auto boxes = store_->list_mailboxes("alice@example.org");
    ASSERT_TRUE(boxes);
    std::map<std::string, std::string> uses;
    std::set<std::uint32_t> validities;
    for (const auto& b : *boxes) {
        uses[b.name] = b.special_use;
        validities.insert(b.uid_validity);
        EXPECT_TRUE(b.subscribed);
        EXPECT_EQ(b.uid_next, 1U);
    }
    EXPECT_EQ(uses.size(), 6U);
    EXPECT_EQ(uses["INBOX"], "");
    EXPECT_EQ(uses["Sent"], "\\Sent");
    EXPECT_EQ(uses["Drafts"], "\\Drafts");
    EXPECT_EQ(uses["Trash"], "\\Trash");
    EXPECT_EQ(uses["Junk"], "\\Junk");
    EXPECT_EQ(uses["Archive"], "\\Archive");
    EXPECT_EQ(validities.size(), 6U);  // distinct per mailbox
    EXPECT_TRUE(fs::exists(account_dir("alice@example.org") / "index.db"));
}

TEST_F(StoreTest, DeliverToOneAccount) {
    const std::string msg = message(1);
    auto o = deliver_one("bob@example.org", msg);  // store created on first delivery
    ASSERT_TRUE(o.delivered()) << o.reason;
    EXPECT_EQ(o.uid, 1U);
    EXPECT_EQ(o.mailbox, "INBOX");
    EXPECT_NE(o.uid_validity, 0U);

    auto bytes = store_->read_message("bob@example.org", "INBOX", 1);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, msg);

    auto msgs = store_->list_messages("bob@example.org", "inbox");  // INBOX is case-insensitive
    ASSERT_TRUE(msgs);
    ASSERT_EQ(msgs->size(), 1U);
    const auto& m = (*msgs)[0];
    EXPECT_EQ(m.size, msg.size());
    EXPECT_EQ(m.structure, "structure:" + std::to_string(msg.size()));
    EXPECT_TRUE(fs::exists(m.path));
    EXPECT_EQ(m.path.parent_path().parent_path().filename(), "msg");
    EXPECT_EQ(count_files(spool()), 0U);  // spool file removed after delivery

    auto box = store_->mailbox("bob@example.org", "INBOX");
    ASSERT_TRUE(box);
    EXPECT_EQ(box->messages, 1U);
    EXPECT_EQ(box->bytes, msg.size());
    EXPECT_EQ(box->uid_next, 2U);
    auto q = store_->quota_usage("bob@example.org");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->used_bytes, msg.size());
    EXPECT_EQ(q->used_messages, 1U);
}

TEST_F(StoreTest, DeliverToSeveralAccountsHardLinksOneFile) {
    const std::string msg = message(2);
    DeliveryRequest req;
    for (const char* a : {"a@x.org", "b@x.org", "c@x.org"}) {
        Recipient r;
        r.account = a;
        req.recipients.push_back(r);
    }
    auto out = store_->deliver(incoming(msg), req);
    ASSERT_EQ(out.size(), 3U);
    std::set<ino_t> inodes;
    for (const char* a : {"a@x.org", "b@x.org", "c@x.org"}) {
        auto msgs = store_->list_messages(a, "INBOX");
        ASSERT_TRUE(msgs);
        ASSERT_EQ(msgs->size(), 1U);
        struct stat st{};
        ASSERT_EQ(::stat((*msgs)[0].path.c_str(), &st), 0);
        EXPECT_EQ(st.st_nlink, 3U);  // spool link gone, three account links
        inodes.insert(st.st_ino);
        EXPECT_EQ(*store_->read_message(a, "INBOX", 1), msg);
    }
    EXPECT_EQ(inodes.size(), 1U);
    for (const auto& o : out) {
        EXPECT_TRUE(o.delivered()) << o.reason;
    }
    EXPECT_EQ(count_files(spool()), 0U);
}

TEST_F(StoreTest, SameAccountTwiceInOneDeliveryGetsTwoFiles) {
    ASSERT_TRUE(store_->ensure_account("d@x.org", {}));
    DeliveryRequest req;
    Recipient r;
    r.account = "d@x.org";
    req.recipients.push_back(r);
    r.mailbox = "Archive";
    req.recipients.push_back(r);
    auto out = store_->deliver(incoming(message(3)), req);
    ASSERT_EQ(out.size(), 2U);
    EXPECT_TRUE(out[0].delivered()) << out[0].reason;
    EXPECT_TRUE(out[1].delivered()) << out[1].reason;
    EXPECT_EQ(out[1].mailbox, "Archive");
    EXPECT_EQ(count_files(account_dir("d@x.org") / "msg"), 2U);
}

TEST_F(StoreTest, QuotaTemporaryVersusPermanent) {
    const std::string msg = message(4, 4096);
    DeliveryRequest req;
    Recipient r;
    r.account = "q@x.org";
    r.quota = Quota{.max_bytes = 10000, .max_messages = 0};
    req.recipients.push_back(r);

    auto o1 = store_->deliver(incoming(msg), req);
    auto o2 = store_->deliver(incoming(msg), req);
    auto o3 = store_->deliver(incoming(msg), req);  // 12 KB > 10 KB: full, for now
    ASSERT_EQ(o3.size(), 1U);
    EXPECT_TRUE(o1[0].delivered());
    EXPECT_TRUE(o2[0].delivered());
    EXPECT_EQ(o3[0].status, DeliveryStatus::QuotaExceeded);

    auto big = store_->deliver(incoming(message(5, 20000)), req);  // can never fit
    EXPECT_EQ(big[0].status, DeliveryStatus::MessageTooBigForQuota);

    // Message-count quota.
    req.recipients[0].quota = Quota{.max_bytes = 0, .max_messages = 2};
    auto o4 = store_->deliver(incoming(msg), req);
    EXPECT_EQ(o4[0].status, DeliveryStatus::QuotaExceeded);

    // Raising the limit (the accounts module passes the current quota) lets mail in again.
    req.recipients[0].quota = Quota{.max_bytes = 0, .max_messages = 3};
    auto o5 = store_->deliver(incoming(msg), req);
    EXPECT_TRUE(o5[0].delivered()) << o5[0].reason;
    auto q = store_->quota_usage("q@x.org");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->used_messages, 3U);
    EXPECT_EQ(q->limit.max_messages, 3U);
    EXPECT_EQ(count_files(account_dir("q@x.org") / "msg"), 3U);
    EXPECT_EQ(count_files(spool()), 0U);
}

TEST_F(StoreTest, MissingMailboxAndAccount) {
    ASSERT_TRUE(store_->ensure_account("m@x.org", {}));
    auto o = deliver_one("m@x.org", message(6), "NoSuchFolder");
    EXPECT_EQ(o.status, DeliveryStatus::MailboxMissing);
    // APPEND does not create accounts.
    auto a = store_->append(incoming(message(7)), "ghost@x.org", "INBOX", 0, {}, std::nullopt);
    EXPECT_EQ(a.status, DeliveryStatus::MailboxMissing);
    EXPECT_FALSE(fs::exists(account_dir("ghost@x.org")));
    EXPECT_EQ(count_files(account_dir("m@x.org") / "msg"), 0U);
}

TEST_F(StoreTest, UidAndModseqAreMonotonic) {
    std::uint64_t last_modseq = 0;
    for (std::uint32_t i = 1; i <= 5; ++i) {
        auto o = deliver_one("u@x.org", message(static_cast<int>(i)));
        ASSERT_TRUE(o.delivered());
        EXPECT_EQ(o.uid, i);
        EXPECT_GT(o.modseq, last_modseq);
        last_modseq = o.modseq;
    }
    auto st =
        store_->update_flags("u@x.org", "INBOX", {2}, {FlagChange::Mode::Add, flag::kSeen, {}});
    ASSERT_TRUE(st);
    ASSERT_EQ(st->size(), 1U);
    EXPECT_GT((*st)[0].modseq, last_modseq);
    auto box = store_->mailbox("u@x.org", "INBOX");
    EXPECT_EQ(box->highest_modseq, (*st)[0].modseq);

    // Expunging the last message does not make its UID reusable, even after a restart.
    ASSERT_TRUE(
        store_->update_flags("u@x.org", "INBOX", {5}, {FlagChange::Mode::Add, flag::kDeleted, {}})
    );
    auto gone = store_->expunge("u@x.org", "INBOX");
    ASSERT_TRUE(gone);
    EXPECT_EQ(*gone, std::vector<std::uint32_t>{5});
    open_store();
    auto rec = store_->recover();
    ASSERT_TRUE(rec);
    auto o = deliver_one("u@x.org", message(9));
    EXPECT_EQ(o.uid, 6U);
    EXPECT_GT(o.modseq, box->highest_modseq);
}

TEST_F(StoreTest, FlagsAndKeywords) {
    ASSERT_TRUE(deliver_one("f@x.org", message(1)).delivered());
    auto r = store_->update_flags(
        "f@x.org",
        "INBOX",
        {1, 99},
        {FlagChange::Mode::Add, flag::kSeen | flag::kFlagged, {"$Junk", "work", "bad key"}}
    );
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1U);  // UID 99 does not exist
    EXPECT_EQ((*r)[0].flags, flag::kSeen | flag::kFlagged);
    EXPECT_EQ((*r)[0].keywords, (std::vector<std::string>{"$Junk", "work"}));
    EXPECT_TRUE((*r)[0].changed);
    const auto modseq = (*r)[0].modseq;

    // No change, no new MODSEQ.
    auto same = store_->update_flags(
        "f@x.org", "INBOX", {1}, {FlagChange::Mode::Add, flag::kSeen, {"work"}}
    );
    ASSERT_TRUE(same);
    EXPECT_FALSE((*same)[0].changed);
    EXPECT_EQ((*same)[0].modseq, modseq);

    auto rm = store_->update_flags(
        "f@x.org", "INBOX", {1}, {FlagChange::Mode::Remove, flag::kFlagged, {"$Junk"}}
    );
    ASSERT_TRUE(rm);
    EXPECT_EQ((*rm)[0].flags, flag::kSeen);
    EXPECT_EQ((*rm)[0].keywords, std::vector<std::string>{"work"});

    auto rep = store_->update_flags(
        "f@x.org", "INBOX", {1}, {FlagChange::Mode::Replace, flag::kAnswered, {}}
    );
    ASSERT_TRUE(rep);
    auto msgs = store_->list_messages("f@x.org", "INBOX");
    ASSERT_TRUE(msgs);
    EXPECT_EQ((*msgs)[0].flags, flag::kAnswered);
    EXPECT_TRUE((*msgs)[0].keywords.empty());
    EXPECT_EQ((*msgs)[0].modseq, (*rep)[0].modseq);
}

TEST_F(StoreTest, AppendWithFlagsAndInternalDate) {
    ASSERT_TRUE(store_->ensure_account("ap@x.org", {}));
    const core::WallTime when = core::WallTime(std::chrono::seconds(1'000'000'000));
    auto o =
        store_->append(incoming(message(1)), "ap@x.org", "Sent", flag::kSeen, {"sent-by-me"}, when);
    ASSERT_TRUE(o.delivered()) << o.reason;
    auto msgs = store_->list_messages("ap@x.org", "Sent");
    ASSERT_TRUE(msgs);
    ASSERT_EQ(msgs->size(), 1U);
    EXPECT_EQ((*msgs)[0].flags, flag::kSeen);
    EXPECT_EQ((*msgs)[0].keywords, std::vector<std::string>{"sent-by-me"});
    EXPECT_EQ((*msgs)[0].internal_date, when);
    EXPECT_NE((*msgs)[0].save_date, when);
}

TEST_F(StoreTest, MailboxCreateRenameDelete) {
    const std::string acc = "mb@x.org";
    ASSERT_TRUE(store_->ensure_account(acc, {}));
    auto created = store_->create_mailbox(acc, "Projects");
    ASSERT_TRUE(created);
    EXPECT_FALSE(created->subscribed);
    EXPECT_EQ(store_->create_mailbox(acc, "Projects").error(), Errc::Exists);
    EXPECT_EQ(store_->create_mailbox(acc, "bad//name").error(), Errc::Invalid);
    EXPECT_EQ(store_->create_mailbox(acc, "x", "\\Bogus").error(), Errc::Invalid);
    ASSERT_TRUE(store_->create_mailbox(acc, "Projects/Ünïcode"));
    ASSERT_TRUE(deliver_one(acc, message(1), "Projects/Ünïcode").delivered());

    ASSERT_TRUE(store_->rename_mailbox(acc, "Projects", "Old"));
    EXPECT_EQ(store_->mailbox(acc, "Projects").error(), Errc::NotFound);
    ASSERT_TRUE(store_->mailbox(acc, "Old/Ünïcode"));
    EXPECT_EQ(store_->list_messages(acc, "Old/Ünïcode")->size(), 1U);
    EXPECT_EQ(store_->rename_mailbox(acc, "Old", "Sent").error(), Errc::Exists);

    ASSERT_TRUE(store_->set_subscribed(acc, "Old", true));
    EXPECT_TRUE(store_->mailbox(acc, "Old")->subscribed);

    // Renaming INBOX moves its messages and leaves INBOX, empty, with its UIDNEXT.
    ASSERT_TRUE(deliver_one(acc, message(2)).delivered());
    ASSERT_TRUE(store_->rename_mailbox(acc, "INBOX", "Saved"));
    EXPECT_EQ(store_->list_messages(acc, "Saved")->size(), 1U);
    auto inbox = store_->mailbox(acc, "INBOX");
    ASSERT_TRUE(inbox);
    EXPECT_EQ(inbox->messages, 0U);
    EXPECT_EQ(deliver_one(acc, message(3)).uid, 2U);

    auto before = store_->quota_usage(acc)->used_messages;
    auto file = (*store_->list_messages(acc, "Old/Ünïcode"))[0].path;
    ASSERT_TRUE(store_->delete_mailbox(acc, "Old/Ünïcode"));
    EXPECT_FALSE(fs::exists(file));
    EXPECT_EQ(store_->quota_usage(acc)->used_messages, before - 1);
    EXPECT_EQ(store_->delete_mailbox(acc, "INBOX").error(), Errc::Invalid);

    // A recreated name gets a new UIDVALIDITY (RFC 3501 §2.3.1.1).
    auto again = store_->create_mailbox(acc, "Old/Ünïcode");
    ASSERT_TRUE(again);
    EXPECT_GT(again->uid_validity, created->uid_validity);
}

// MailboxKey::identity (an IMAP session's selected mailbox): it follows a rename, and after a
// delete it matches nothing, even the new mailbox that took both the name and the row id.
TEST_F(StoreTest, MailboxIdentityFollowsRenamesAndEndsWithTheMailbox) {
    const std::string acc = "id@x.org";
    ASSERT_TRUE(store_->ensure_account(acc, {}));
    auto work = store_->create_mailbox(acc, "Work");
    ASSERT_TRUE(work);
    ASSERT_TRUE(deliver_one(acc, message(1), "Work").delivered());
    const auto key = MailboxKey::identity(work->id, work->uid_validity);
    ASSERT_EQ(store_->list_messages(acc, key)->size(), 1U);

    ASSERT_TRUE(store_->rename_mailbox(acc, "Work", "Projects"));
    auto renamed = store_->mailbox(acc, key);
    ASSERT_TRUE(renamed);
    EXPECT_EQ(renamed->name, "Projects");
    EXPECT_EQ(store_->list_messages(acc, key)->size(), 1U);

    ASSERT_TRUE(store_->delete_mailbox(acc, "Projects"));
    auto again = store_->create_mailbox(acc, "Work");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, work->id);  // SQLite reused the row id of the last row
    ASSERT_TRUE(deliver_one(acc, message(2), "Work").delivered());
    EXPECT_EQ(store_->mailbox(acc, key).error(), Errc::NotFound);
    EXPECT_EQ(store_->list_messages(acc, key).error(), Errc::NotFound);
    EXPECT_EQ(store_->get_messages(acc, key, {1}).error(), Errc::NotFound);
    EXPECT_EQ(store_->changes_since(acc, key, 0).error(), Errc::NotFound);
    EXPECT_EQ(store_->list_messages(acc, "Work")->size(), 1U);
}

TEST_F(StoreTest, ExpungeRemovesOnlyDeletedMessages) {
    const std::string acc = "ex@x.org";
    std::vector<fs::path> paths;
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(deliver_one(acc, message(i)).delivered());
    }
    for (const auto& m : *store_->list_messages(acc, "INBOX")) {
        paths.push_back(m.path);
    }
    ASSERT_TRUE(
        store_->update_flags(acc, "INBOX", {1, 2, 3}, {FlagChange::Mode::Add, flag::kDeleted, {}})
    );
    auto some = store_->expunge(acc, "INBOX", std::vector<std::uint32_t>{2});  // UID EXPUNGE
    ASSERT_TRUE(some);
    EXPECT_EQ(*some, std::vector<std::uint32_t>{2});
    auto rest = store_->expunge(acc, "INBOX");
    ASSERT_TRUE(rest);
    EXPECT_EQ(*rest, (std::vector<std::uint32_t>{1, 3}));
    EXPECT_FALSE(fs::exists(paths[0]));
    EXPECT_TRUE(fs::exists(paths[3]));
    auto box = store_->mailbox(acc, "INBOX");
    EXPECT_EQ(box->messages, 1U);
    EXPECT_EQ(store_->quota_usage(acc)->used_messages, 1U);
    EXPECT_EQ(store_->read_message(acc, "INBOX", 1).error(), Errc::NotFound);
}

TEST_F(StoreTest, InterruptedIncomingLeavesNoTrace) {
    {
        auto in = store_->begin_message();
        ASSERT_TRUE(in);
        ASSERT_TRUE(in->append(message(1, 300000)));  // large enough to hit the disk
        EXPECT_TRUE(fs::exists(in->spool_path()));
        EXPECT_EQ(count_files(spool()), 1U);
        Incoming moved = std::move(*in);
        EXPECT_FALSE(in->append("x"));  // moved from
        EXPECT_EQ(count_files(spool()), 1U);
    }
    EXPECT_EQ(count_files(spool()), 0U);
    EXPECT_EQ(count_files(dir_.path() / "mail"), 0U);
}

TEST_F(StoreTest, LargeMessageGoesThroughTheFile) {
    const std::string msg = message(1, 1'000'000);
    auto o = deliver_one("big@x.org", msg);
    ASSERT_TRUE(o.delivered());
    EXPECT_EQ(*store_->read_message("big@x.org", "INBOX", 1), msg);
    EXPECT_EQ(
        (*store_->list_messages("big@x.org", "INBOX"))[0].structure,
        "structure:" + std::to_string(msg.size())
    );
}

TEST_F(StoreTest, UnsafeAccountNamesAreRefused) {
    for (std::string bad :
         {std::string(""),
          std::string("../etc"),
          std::string(".hidden"),
          std::string("a/b"),
          std::string("nul\0byte", 8),
          std::string(".removed-x")}) {
        EXPECT_EQ(store_->ensure_account(bad, {}).error(), Errc::Invalid) << bad;
        EXPECT_EQ(deliver_one(bad, message(1)).status, DeliveryStatus::MailboxMissing) << bad;
        EXPECT_FALSE(store_->list_mailboxes(bad));
    }
    EXPECT_EQ(count_files(dir_.path() / "mail"), 0U);
    EXPECT_FALSE(fs::exists(dir_.path() / "etc"));
}

TEST_F(StoreTest, RecoverRepairsBrokenStates) {
    const std::string acc = "r@x.org";
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(deliver_one(acc, message(i)).delivered());
    }
    auto msgs = *store_->list_messages(acc, "INBOX");
    const fs::path bucket = msgs[0].path.parent_path();
    store_.reset();

    // 1. A spool leftover (crash while receiving).
    std::ofstream(spool() / "deadbeef-7") << "partial";
    // 2. An orphan file: linked, crash before the index commit.
    std::ofstream(bucket / "1.deadbeef-8") << message(8);
    // ... also in a bucket the index never heard of.
    fs::create_directories(account_dir(acc) / "msg" / "199001");
    std::ofstream(account_dir(acc) / "msg" / "199001" / "2.deadbeef-9") << message(9);
    // 3. A row whose file is gone (outside damage).
    fs::remove(msgs[1].path);
    // 4. A half-removed account.
    fs::create_directories(dir_.path() / "mail" / ".removed-old@x.org-1234" / "msg");

    open_store();
    auto live = store_->begin_message();  // a live spool file is not touched
    ASSERT_TRUE(live);
    ASSERT_TRUE(live->append("hello"));
    auto rep = store_->recover();
    ASSERT_TRUE(rep);
    EXPECT_EQ(rep->spool_files_removed, 1U);
    EXPECT_EQ(rep->orphan_files_removed, 2U);
    EXPECT_EQ(rep->rows_dropped, 1U);
    EXPECT_GE(rep->counters_fixed, 2U);  // INBOX counters and account usage
    EXPECT_EQ(rep->removed_accounts_finished, 1U);
    EXPECT_EQ(rep->accounts_checked, 1U);
    EXPECT_TRUE(fs::exists(live->spool_path()));
    EXPECT_FALSE(fs::exists(spool() / "deadbeef-7"));
    EXPECT_FALSE(fs::exists(bucket / "1.deadbeef-8"));
    EXPECT_FALSE(fs::exists(dir_.path() / "mail" / ".removed-old@x.org-1234"));

    auto after = store_->list_messages(acc, "INBOX");
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 2U);
    EXPECT_EQ((*after)[0].uid, 1U);
    EXPECT_EQ((*after)[1].uid, 3U);
    auto box = store_->mailbox(acc, "INBOX");
    EXPECT_EQ(box->messages, 2U);
    EXPECT_EQ(box->bytes, msgs[0].size + msgs[2].size);
    EXPECT_EQ(box->uid_next, 4U);
    EXPECT_EQ(store_->quota_usage(acc)->used_messages, 2U);
    EXPECT_EQ(count_files(account_dir(acc) / "msg"), 2U);

    // A second pass finds nothing to do.
    auto again = store_->recover();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->orphan_files_removed + again->rows_dropped + again->counters_fixed, 0U);
}

TEST_F(StoreTest, ConcurrentDeliveriesFromManyThreadsAreAllIndexed) {
    constexpr int kThreads = 32;
    constexpr int kPerThread = 8;
    const std::vector<std::string> accounts = {"c1@x.org", "c2@x.org", "c3@x.org"};
    std::atomic<int> delivered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                DeliveryRequest req;
                Recipient r;
                r.account = accounts[static_cast<std::size_t>(t + i) % accounts.size()];
                req.recipients.push_back(r);
                if (i % 4 == 0) {  // some go to two accounts
                    r.account = accounts[static_cast<std::size_t>(t + i + 1) % accounts.size()];
                    req.recipients.push_back(r);
                }
                auto in = store_->begin_message();
                ASSERT_TRUE(in);
                ASSERT_TRUE(in->append(message(t * 1000 + i)));
                for (const auto& o : store_->deliver(std::move(*in), req)) {
                    if (o.delivered()) {
                        delivered.fetch_add(1);
                    }
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const int expected = kThreads * kPerThread + kThreads * (kPerThread / 4);
    EXPECT_EQ(delivered.load(), expected);
    int indexed = 0;
    for (const auto& a : accounts) {
        auto msgs = store_->list_messages(a, "INBOX");
        ASSERT_TRUE(msgs);
        std::set<std::uint32_t> uids;
        for (const auto& m : *msgs) {
            uids.insert(m.uid);
            EXPECT_TRUE(fs::exists(m.path));
        }
        EXPECT_EQ(uids.size(), msgs->size());
        // UIDs are dense 1..n: no gaps, no duplicates.
        EXPECT_EQ(msgs->empty() ? 0U : *uids.rbegin(), msgs->size());
        EXPECT_EQ(store_->mailbox(a, "INBOX")->messages, msgs->size());
        indexed += static_cast<int>(msgs->size());
    }
    EXPECT_EQ(indexed, expected);
    EXPECT_EQ(count_files(spool()), 0U);
    auto s = store_->stats();
    EXPECT_EQ(s.deliveries, static_cast<std::uint64_t>(expected));
    EXPECT_LE(s.commits, s.batches * accounts.size() + accounts.size());
}

TEST_F(StoreTest, RemoveAccount) {
    ASSERT_TRUE(deliver_one("gone@x.org", message(1)).delivered());
    ASSERT_TRUE(store_->remove_account("gone@x.org"));
    EXPECT_FALSE(fs::exists(account_dir("gone@x.org")));
    EXPECT_EQ(store_->list_mailboxes("gone@x.org").error(), Errc::NotFound);
    EXPECT_EQ(store_->remove_account("gone@x.org").error(), Errc::NotFound);
    // Delivery recreates it empty.
    EXPECT_EQ(deliver_one("gone@x.org", message(2)).uid, 1U);
}

// for_each_flags walks the rows from a UID on (unseen ones only if asked) with what the
// covering index holds, and the list_messages narrow listing agrees with it.
TEST_F(StoreTest, ForEachFlagsWalksTheIndex) {
    const std::string a = "flags@example.org";
    for (int i = 1; i <= 6; ++i) {
        ASSERT_TRUE(deliver_one(a, message(i)).delivered());
    }
    ASSERT_TRUE(store_->update_flags(a, "INBOX", {2, 4}, {FlagChange::Mode::Add, flag::kSeen, {}}));
    ASSERT_TRUE(store_->update_flags(
        a, "INBOX", {3}, {FlagChange::Mode::Add, flag::kFlagged, {"$Work", "$Later"}}
    ));
    struct Row {
        std::uint32_t uid;
        std::uint32_t flags;
        std::string keywords;
        std::uint64_t modseq;
    };
    const auto walk = [&](std::uint32_t from, bool unseen) {
        std::vector<Row> rows;
        auto st = store_->for_each_flags(a, "INBOX", from, unseen, [&](const MessageRow& m) {
            rows.push_back({m.uid, m.flags, std::string(m.keywords), m.modseq});
            EXPECT_TRUE(m.file.empty());
            return Status{};
        });
        EXPECT_TRUE(st) << st.error().message();
        return rows;
    };
    const auto all = walk(1, false);
    ASSERT_EQ(all.size(), 6U);
    EXPECT_EQ(all[2].keywords, "$Later $Work");
    EXPECT_EQ(all[2].flags, flag::kFlagged);
    EXPECT_EQ(all[1].flags, flag::kSeen);
    auto listed = store_->list_messages(a, "INBOX", 1, ListOptions{.narrow = true});
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ((*listed)[i].uid, all[i].uid);
        EXPECT_EQ((*listed)[i].modseq, all[i].modseq);
        EXPECT_EQ((*listed)[i].flags, all[i].flags);
    }
    std::vector<std::uint32_t> unseen;
    for (const auto& r : walk(3, true)) {
        unseen.push_back(r.uid);
    }
    EXPECT_EQ(unseen, (std::vector<std::uint32_t>{3, 5, 6}));
    // An error from the callback stops the walk and is returned.
    int calls = 0;
    auto stopped = store_->for_each_flags(a, "INBOX", 1, false, [&](const MessageRow&) {
        ++calls;
        return Status(Errc::Invalid);
    });
    EXPECT_FALSE(stopped);
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(store_->for_each_flags(a, "Nope", 1, false, [](const MessageRow&) {
        return Status{};
    }));
}

TEST_F(StoreTest, ReadScopeReadsOneSnapshot) {
    const std::string a = "alice@example.org";
    const std::string b = "bob@example.org";
    ASSERT_TRUE(deliver_one(a, message(1)).delivered());
    ASSERT_TRUE(deliver_one(b, message(1)).delivered());
    const auto count = [&](const std::string& account) -> std::uint32_t {
        auto box = store_->mailbox(account, "INBOX");
        EXPECT_TRUE(box) << box.error().message();
        return box ? box->messages : 0;
    };
    {
        const ReadScope scope = store_->read_scope(a);
        EXPECT_EQ(count(a), 1U);  // the scope's transaction begins here
        ASSERT_TRUE(deliver_one(a, message(2)).delivered());
        ASSERT_TRUE(deliver_one(b, message(2)).delivered());
        EXPECT_EQ(count(a), 1U);  // the same snapshot: the new message is not seen
        auto msgs = store_->list_messages(a, "INBOX");
        ASSERT_TRUE(msgs);
        EXPECT_EQ(msgs->size(), 1U);
        EXPECT_EQ(count(b), 2U);  // another account reads as usual
        {
            const ReadScope inner = store_->read_scope(a);
            EXPECT_EQ(count(a), 2U);  // the inner scope begins its own snapshot
            ASSERT_TRUE(deliver_one(a, message(3)).delivered());
            EXPECT_EQ(count(a), 2U);
        }
        EXPECT_EQ(count(a), 1U);  // back to the outer one
        const ReadScope moved = [&] {
            ReadScope nested = store_->read_scope(a);
            EXPECT_EQ(count(a), 3U);
            return nested;
        }();
        EXPECT_EQ(count(a), 3U);  // a moved scope stays in force
    }
    EXPECT_EQ(count(a), 3U);                         // each read its own transaction again
    const ReadScope unused = store_->read_scope(a);  // never read: nothing to end
}

TEST_F(StoreTest, ReadScopeRemembersAMailboxByIdentityOnlyWhileItLasts) {
    const std::string acc = "memo@x.org";
    ASSERT_TRUE(store_->ensure_account(acc, {}));
    auto work = store_->create_mailbox(acc, "Work");
    auto home = store_->create_mailbox(acc, "Home");
    ASSERT_TRUE(work && home);
    ASSERT_TRUE(deliver_one(acc, message(1), "Work").delivered());
    const auto work_key = MailboxKey::identity(work->id, work->uid_validity);
    const auto home_key = MailboxKey::identity(home->id, home->uid_validity);
    const auto stale_key = MailboxKey::identity(work->id, work->uid_validity + 1);
    {
        const ReadScope scope = store_->read_scope(acc);
        EXPECT_EQ(store_->mailbox(acc, work_key)->name, "Work");
        EXPECT_EQ(store_->mailbox(acc, stale_key).error(), Errc::NotFound);
        EXPECT_EQ(store_->mailbox(acc, home_key)->name, "Home");
        EXPECT_EQ(store_->mailbox(acc, work_key)->messages, 1U);
        EXPECT_EQ(store_->mailbox(acc, stale_key).error(), Errc::NotFound);
        ASSERT_TRUE(deliver_one(acc, message(2), "Work").delivered());
        EXPECT_EQ(store_->mailbox(acc, work_key)->messages, 1U);  // the scope's snapshot
        EXPECT_EQ(store_->list_messages(acc, work_key)->size(), 1U);
    }
    EXPECT_EQ(store_->mailbox(acc, work_key)->messages, 2U);
    {
        const ReadScope scope = store_->read_scope(acc);
        EXPECT_EQ(store_->mailbox(acc, work_key)->messages, 2U);  // not the last scope's row
        EXPECT_EQ(store_->changes_since(acc, work_key, 0)->changed.size(), 2U);
    }
}

TEST_F(StoreTest, AsyncDoneRunsAfterCommit) {
    std::promise<std::vector<DeliveryOutcome>> p;
    auto f = p.get_future();
    DeliveryRequest req;
    Recipient r;
    r.account = "as@x.org";
    req.recipients.push_back(r);
    store_->deliver_async(incoming(message(1)), req, [&](std::vector<DeliveryOutcome> o) {
        // The row is committed when done runs: a fresh reader sees it.
        auto n = store_->list_messages("as@x.org", "INBOX");
        EXPECT_TRUE(n && n->size() == 1);
        p.set_value(std::move(o));
    });
    auto out = f.get();
    ASSERT_EQ(out.size(), 1U);
    EXPECT_TRUE(out[0].delivered());
}

TEST(MailboxNames, Canonical) {
    EXPECT_EQ(Store::canonical_mailbox_name("inbox"), "INBOX");
    EXPECT_EQ(Store::canonical_mailbox_name("InBox/Sub"), "INBOX/Sub");
    EXPECT_EQ(Store::canonical_mailbox_name("InBoxes"), "InBoxes");
    EXPECT_EQ(Store::canonical_mailbox_name("Été"), "Été");
    EXPECT_EQ(Store::canonical_mailbox_name(""), "");
    EXPECT_EQ(Store::canonical_mailbox_name("/a"), "");
    EXPECT_EQ(Store::canonical_mailbox_name("a/"), "");
    EXPECT_EQ(Store::canonical_mailbox_name("a\r\nb"), "");
    EXPECT_EQ(Store::canonical_mailbox_name("\xff"), "");
    EXPECT_EQ(Store::canonical_mailbox_name("\xc3"), "");
}

}  // namespace
}  // namespace sov::store
