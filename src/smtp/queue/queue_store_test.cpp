#include "smtp/queue/queue_store.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace sov::smtp::queue {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using namespace std::string_literals;

// A fixed, whole-second point (the store keeps seconds).
const core::WallTime kT0{seconds{1'750'000'000}};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

MessageEnvelope envelope(std::string sender = "alice@example.org") {
    MessageEnvelope e;
    e.sender = std::move(sender);
    return e;
}

std::vector<NewRecipient> rcpts(std::initializer_list<const char*> addresses) {
    std::vector<NewRecipient> out;
    for (const auto* a : addresses) {
        out.push_back(NewRecipient{.address = a, .orcpt = "", .notify = 0});
    }
    return out;
}

class QueueStoreTest : public ::testing::Test {
protected:
    void SetUp() override { reopen(); }

    void reopen() {
        store_.reset();
        auto q = QueueStore::open(dir_.path() / "queue");
        ASSERT_TRUE(q) << q.error().message();
        store_ = std::move(*q);
    }

    std::string enqueue(
        std::vector<NewRecipient> recipients,
        std::string_view content = "Subject: hi\r\n\r\nbody\r\n",
        core::WallTime now = kT0,
        MessageEnvelope env = envelope()
    ) {
        auto id = store_->enqueue(env, recipients, content, now);
        EXPECT_TRUE(id) << id.error().message();
        return id ? *id : std::string();
    }

    QueuedMessage message(const std::string& id) {
        auto m = store_->message(id);
        EXPECT_TRUE(m) << m.error().message();
        return m ? *m : QueuedMessage{};
    }

    std::vector<DueBatch> due(core::WallTime now, std::size_t limit = 100) {
        auto d = store_->due(now, limit);
        EXPECT_TRUE(d) << d.error().message();
        return d ? *d : std::vector<DueBatch>{};
    }

    // Recipient rows left in the database for `id` (seen directly, beneath the API's joins).
    std::int64_t recipient_rows(const std::string& id) {
        core::Db db;
        EXPECT_TRUE(db.open(dir_.path() / "queue" / "queue.db", false));
        auto stmt = db.prepare("SELECT COUNT(*) FROM recipients WHERE message_id = ?");
        EXPECT_TRUE(stmt);
        core::StmtScope s(**stmt);
        s->bind(1, id);
        EXPECT_TRUE(s->step());
        return s->int64(0);
    }

    sov::test::TempDir dir_;
    std::unique_ptr<QueueStore> store_;
};

TEST_F(QueueStoreTest, EnqueueWritesExactFileAndRows) {
    const std::string content = "From: a@example.org\r\nSubject: x\r\n\r\n.dot\r\n\0binary"s;
    MessageEnvelope env = envelope("alice@example.org");
    env.envid = "env-1";
    env.ret_headers = true;
    env.smtputf8 = true;
    env.eight_bit = true;
    env.requiretls = true;
    env.auth = "alice";
    std::vector<NewRecipient> list{
        {.address = "bob@Example.COM", .orcpt = "rfc822;bob@example.com", .notify = 6},
        {.address = "carol@other.net", .orcpt = "", .notify = 0},
    };
    const auto id = enqueue(list, content, kT0, env);
    ASSERT_TRUE(valid_message_id(id)) << id;

    const auto path = store_->content_path(id);
    EXPECT_EQ(path, dir_.path() / "queue" / "messages" / id);
    EXPECT_EQ(read_file(path), content);
    auto stored = store_->content(id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(*stored, content);

    const auto m = message(id);
    EXPECT_EQ(m.id, id);
    EXPECT_EQ(m.envelope.sender, "alice@example.org");
    EXPECT_EQ(m.envelope.envid, "env-1");
    EXPECT_TRUE(m.envelope.ret_headers);
    EXPECT_TRUE(m.envelope.smtputf8);
    EXPECT_TRUE(m.envelope.eight_bit);
    EXPECT_TRUE(m.envelope.requiretls);
    EXPECT_EQ(m.envelope.auth, "alice");
    EXPECT_EQ(m.created, kT0);
    EXPECT_EQ(m.size, content.size());
    EXPECT_FALSE(m.held);
    ASSERT_EQ(m.recipients.size(), 2u);
    const auto& bob = m.recipients[0];
    EXPECT_EQ(bob.address, "bob@Example.COM");
    EXPECT_EQ(bob.domain, "example.com");  // routing key is lower case
    EXPECT_EQ(bob.orcpt, "rfc822;bob@example.com");
    EXPECT_EQ(bob.notify, 6u);
    EXPECT_EQ(bob.state, RecipientState::Pending);
    EXPECT_EQ(bob.attempts, 0u);
    EXPECT_EQ(bob.next_attempt, kT0);  // due at once
    EXPECT_FALSE(bob.dsn_done);
    EXPECT_FALSE(bob.delay_notified);
    EXPECT_EQ(m.recipients[1].domain, "other.net");
    EXPECT_LT(bob.id, m.recipients[1].id);
}

TEST_F(QueueStoreTest, NullSenderAndEmptyContent) {
    const auto id = enqueue(rcpts({"bob@example.com"}), "", kT0, envelope(""));
    const auto m = message(id);
    EXPECT_EQ(m.envelope.sender, "");
    EXPECT_EQ(m.size, 0u);
    auto c = store_->content(id);
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, "");
}

TEST_F(QueueStoreTest, IdsAreDistinct) {
    const auto a = enqueue(rcpts({"x@a.example"}));
    const auto b = enqueue(rcpts({"x@a.example"}));
    EXPECT_NE(a, b);
    auto all = store_->list();
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 2u);
}

TEST_F(QueueStoreTest, UnknownMessage) {
    auto m = store_->message("00000000000000000000");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), core::Errc::NotFound);
    auto c = store_->content("00000000000000000000");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), core::Errc::NotFound);
}

TEST_F(QueueStoreTest, ContentRefusesInvalidIds) {
    // A file that a path-building id could reach must not be read.
    {
        std::ofstream(dir_.path() / "queue" / "secret") << "secret";
    }
    auto c = store_->content("../secret");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), core::Errc::Invalid);
}

TEST_F(QueueStoreTest, DueGroupsByMessageAndDomainOldestFirst) {
    const auto newer = enqueue(rcpts({"a@z.example", "b@y.example"}), "m2", kT0 + seconds{10});
    const auto older =
        enqueue(rcpts({"a@y.example", "b@x.example", "c@Y.example", "d@x.example"}), "m1", kT0);
    const auto mo = message(older);
    const auto mn = message(newer);

    const auto batches = due(kT0 + seconds{10});
    ASSERT_EQ(batches.size(), 4u);
    // The older message first, its domains in order, recipients in id order.
    EXPECT_EQ(batches[0].message_id, older);
    EXPECT_EQ(batches[0].domain, "x.example");
    EXPECT_EQ(batches[0].recipient_ids, (std::vector{mo.recipients[1].id, mo.recipients[3].id}));
    EXPECT_EQ(batches[1].message_id, older);
    EXPECT_EQ(batches[1].domain, "y.example");
    EXPECT_EQ(batches[1].recipient_ids, (std::vector{mo.recipients[0].id, mo.recipients[2].id}));
    EXPECT_EQ(batches[2].message_id, newer);
    EXPECT_EQ(batches[2].domain, "y.example");
    EXPECT_EQ(batches[2].recipient_ids, std::vector{mn.recipients[1].id});
    EXPECT_EQ(batches[3].message_id, newer);
    EXPECT_EQ(batches[3].domain, "z.example");
    EXPECT_EQ(batches[3].recipient_ids, std::vector{mn.recipients[0].id});
}

TEST_F(QueueStoreTest, DueRespectsTimeAndLimit) {
    const auto a = enqueue(rcpts({"a@x.example"}), "a", kT0);
    const auto b = enqueue(rcpts({"b@x.example", "c@x.example"}), "b", kT0 + seconds{5});
    EXPECT_TRUE(due(kT0 - seconds{1}).empty());
    auto only_a = due(kT0 + seconds{4});
    ASSERT_EQ(only_a.size(), 1u);
    EXPECT_EQ(only_a[0].message_id, a);

    // The limit counts recipients.
    auto limited = due(kT0 + seconds{5}, 2);
    ASSERT_EQ(limited.size(), 2u);
    EXPECT_EQ(limited[0].message_id, a);
    EXPECT_EQ(limited[1].message_id, b);
    EXPECT_EQ(limited[1].recipient_ids.size(), 1u);
}

TEST_F(QueueStoreTest, HeldMessagesAreNotDue) {
    const auto held = enqueue(rcpts({"a@x.example"}), "a", kT0);
    const auto released = enqueue(rcpts({"b@x.example"}), "b", kT0 + seconds{30});
    ASSERT_TRUE(store_->set_held(held, true));
    EXPECT_TRUE(message(held).held);

    auto batches = due(kT0 + seconds{60});
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].message_id, released);
    auto next = store_->next_due();
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, kT0 + seconds{30});  // the held one's earlier time does not count

    ASSERT_TRUE(store_->set_held(held, false));
    EXPECT_EQ(due(kT0 + seconds{60}).size(), 2u);
}

TEST_F(QueueStoreTest, SetHeldAndRemoveUnknownId) {
    auto st = store_->set_held("00000000000000000000", true);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error(), core::Errc::NotFound);
    auto rm = store_->remove("00000000000000000000");
    ASSERT_FALSE(rm);
    EXPECT_EQ(rm.error(), core::Errc::NotFound);
}

TEST_F(QueueStoreTest, NextDue) {
    auto none = store_->next_due();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());

    const auto id = enqueue(rcpts({"a@x.example", "b@y.example"}), "m", kT0);
    auto m = message(id);
    ASSERT_TRUE(store_->record_deferred(
        {m.recipients[0].id}, "451 4.3.0 later", "mx.x.example", kT0 + seconds{300}
    ));
    auto next = store_->next_due();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->value(), kT0);  // b is still due now

    ASSERT_TRUE(store_->record_deferred(
        {m.recipients[1].id}, "451 4.3.0 later", "mx.y.example", kT0 + seconds{120}
    ));
    next = store_->next_due();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->value(), kT0 + seconds{120});

    // Delivered and failed recipients are not pending.
    ASSERT_TRUE(store_->record_delivered({m.recipients[1].id}, "250 ok", "mx.y.example"));
    next = store_->next_due();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->value(), kT0 + seconds{300});
    ASSERT_TRUE(store_->record_failed({m.recipients[0].id}, "550 5.1.1 no", "mx.x.example"));
    next = store_->next_due();
    ASSERT_TRUE(next);
    EXPECT_FALSE(next->has_value());
}

TEST_F(QueueStoreTest, StateTransitionsAndAttempts) {
    const auto id = enqueue(rcpts({"a@x.example", "b@x.example", "c@x.example"}), "m", kT0);
    auto m = message(id);
    const auto a = m.recipients[0].id;
    const auto b = m.recipients[1].id;
    const auto c = m.recipients[2].id;

    ASSERT_TRUE(
        store_->record_deferred({a, b}, "421 4.7.0 try later", "mx1.x.example", kT0 + seconds{60})
    );
    m = message(id);
    for (int i : {0, 1}) {
        const auto& r = m.recipients[i];
        EXPECT_EQ(r.state, RecipientState::Pending);
        EXPECT_EQ(r.attempts, 1u);
        EXPECT_EQ(r.next_attempt, kT0 + seconds{60});
        EXPECT_EQ(r.last_reply, "421 4.7.0 try later");
        EXPECT_EQ(r.last_host, "mx1.x.example");
    }
    EXPECT_EQ(m.recipients[2].attempts, 0u);
    EXPECT_EQ(m.recipients[2].next_attempt, kT0);
    // Only c is due before the retry time.
    auto batches = due(kT0 + seconds{59});
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].recipient_ids, std::vector{c});

    ASSERT_TRUE(store_->record_delivered({a}, "250 2.0.0 ok", "mx2.x.example"));
    ASSERT_TRUE(store_->record_failed({b}, "550 5.1.1 unknown", "mx2.x.example"));
    ASSERT_TRUE(store_->record_delivered({c}, "250 2.0.0 ok", "mx2.x.example"));
    m = message(id);
    EXPECT_EQ(m.recipients[0].state, RecipientState::Delivered);
    EXPECT_EQ(m.recipients[0].attempts, 2u);
    EXPECT_EQ(m.recipients[0].last_reply, "250 2.0.0 ok");
    EXPECT_EQ(m.recipients[0].last_host, "mx2.x.example");
    EXPECT_EQ(m.recipients[0].next_attempt, kT0 + seconds{60});  // unchanged
    EXPECT_EQ(m.recipients[1].state, RecipientState::Failed);
    EXPECT_EQ(m.recipients[1].attempts, 2u);
    EXPECT_EQ(m.recipients[1].last_reply, "550 5.1.1 unknown");
    EXPECT_FALSE(m.recipients[1].dsn_done);
    EXPECT_EQ(m.recipients[2].state, RecipientState::Delivered);
    EXPECT_EQ(m.recipients[2].attempts, 1u);
    EXPECT_TRUE(due(kT0 + seconds{3600}).empty());

    ASSERT_TRUE(store_->mark_dsn_done({b}));
    ASSERT_TRUE(store_->mark_delay_notified({a}));
    m = message(id);
    EXPECT_TRUE(m.recipients[1].dsn_done);
    EXPECT_FALSE(m.recipients[0].dsn_done);
    EXPECT_TRUE(m.recipients[0].delay_notified);
    EXPECT_FALSE(m.recipients[1].delay_notified);
}

TEST_F(QueueStoreTest, FinishIfDoneOnlyWhenNothingOwed) {
    const auto id = enqueue(rcpts({"a@x.example", "b@x.example"}), "content", kT0);
    const auto m = message(id);
    const auto a = m.recipients[0].id;
    const auto b = m.recipients[1].id;
    const auto path = store_->content_path(id);

    auto done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 0u);  // both pending

    ASSERT_TRUE(store_->record_delivered({a}, "250 ok", "mx"));
    done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 0u);  // b pending

    EXPECT_EQ(message(id).recipients[1].notice_owed(), "");  // pending: nothing owed yet
    ASSERT_TRUE(store_->record_failed({b}, "550 5.1.1 no", "mx"));
    EXPECT_EQ(message(id).recipients[1].notice_owed(), "failure");
    done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 0u);  // b's DSN not yet handled
    EXPECT_TRUE(fs::exists(path));

    ASSERT_TRUE(store_->mark_dsn_done({b}));
    done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 1u);
    EXPECT_FALSE(fs::exists(path));
    auto gone = store_->message(id);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error(), core::Errc::NotFound);
    EXPECT_EQ(recipient_rows(id), 0);  // ON DELETE CASCADE took the recipients

    done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 0u);
}

TEST_F(QueueStoreTest, FinishIfDoneAllDelivered) {
    const auto id = enqueue(rcpts({"a@x.example"}), "content", kT0);
    ASSERT_TRUE(store_->record_delivered({message(id).recipients[0].id}, "250 ok", "mx"));
    auto done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 1u);
    EXPECT_FALSE(fs::exists(store_->content_path(id)));
}

// RFC 3461 §5.2.2: a delivery owed a "relayed" / "delivered" notice keeps the message until the
// notice is queued, and the debt survives a restart.
TEST_F(QueueStoreTest, SuccessNoticeOwedKeepsTheMessage) {
    const auto id = enqueue(rcpts({"a@x.example", "b@x.example"}), "content", kT0);
    const auto m = message(id);
    const auto a = m.recipients[0].id;
    const auto b = m.recipients[1].id;
    ASSERT_TRUE(store_->record_delivered({a}, "250 ok", "mx", true));
    ASSERT_TRUE(store_->record_delivered({b}, "250 ok", "mx"));
    reopen();
    auto after = message(id);
    EXPECT_EQ(after.recipients[0].state, RecipientState::Delivered);
    EXPECT_TRUE(after.recipients[0].success_notice);
    EXPECT_FALSE(after.recipients[0].dsn_done);
    EXPECT_FALSE(after.recipients[1].success_notice);

    EXPECT_EQ(after.recipients[0].notice_owed(), "success");  // `queue show` says so
    EXPECT_EQ(after.recipients[1].notice_owed(), "");
    auto done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 0u);  // a's notice not yet queued
    ASSERT_TRUE(store_->mark_dsn_done({a}));
    EXPECT_EQ(message(id).recipients[0].notice_owed(), "");
    done = store_->finish_if_done(id);
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 1u);
}

TEST_F(QueueStoreTest, DeferralClearsAnEarlierNoticeFlag) {
    const auto id = enqueue(rcpts({"a@x.example"}), "content", kT0);
    const auto a = message(id).recipients[0].id;
    ASSERT_TRUE(store_->record_deferred({a}, "451 later", "mx", kT0 + seconds{60}));
    EXPECT_FALSE(message(id).recipients[0].success_notice);
}

// A queue written before the success_notice column (schema version 1) opens, gets the column
// with nothing owed, and its messages finish as before.
TEST(QueueStoreMigration, VersionOneQueueGetsTheColumn) {
    sov::test::TempDir dir;
    const auto queue_dir = dir.path() / "queue";
    fs::create_directories(queue_dir / "messages");
    {
        core::Db db;
        ASSERT_TRUE(db.open(queue_dir / "queue.db", true));
        ASSERT_TRUE(db.exec(R"sql(
CREATE TABLE messages (id TEXT PRIMARY KEY, sender TEXT NOT NULL, envid TEXT NOT NULL DEFAULT '',
    ret_headers INTEGER NOT NULL DEFAULT 0, smtputf8 INTEGER NOT NULL DEFAULT 0,
    eight_bit INTEGER NOT NULL DEFAULT 0, requiretls INTEGER NOT NULL DEFAULT 0,
    auth TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, size INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0);
CREATE TABLE recipients (id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE, address TEXT NOT NULL,
    domain TEXT NOT NULL, orcpt TEXT NOT NULL DEFAULT '', notify INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL, last_reply TEXT NOT NULL DEFAULT '',
    last_host TEXT NOT NULL DEFAULT '', dsn_done INTEGER NOT NULL DEFAULT 0,
    delay_notified INTEGER NOT NULL DEFAULT 0);
INSERT INTO messages (id, sender, created, size) VALUES ('aaaaaaaaaabbbbbbbbbb', 'a@b.example', 1, 4);
INSERT INTO recipients (message_id, address, domain, state, next_attempt)
    VALUES ('aaaaaaaaaabbbbbbbbbb', 'c@d.example', 'd.example', 1, 1);
PRAGMA user_version = 1;
)sql"));
    }
    {
        std::ofstream out(queue_dir / "messages" / "aaaaaaaaaabbbbbbbbbb", std::ios::binary);
        out << "body";
    }
    auto store = QueueStore::open(queue_dir);
    ASSERT_TRUE(store) << store.error().message();
    auto m = (*store)->message("aaaaaaaaaabbbbbbbbbb");
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_EQ(m->recipients.size(), 1u);
    EXPECT_FALSE(m->recipients[0].success_notice);
    auto done = (*store)->finish_if_done("aaaaaaaaaabbbbbbbbbb");
    ASSERT_TRUE(done);
    EXPECT_EQ(*done, 1u);
    store->reset();
    auto again = QueueStore::open(queue_dir);  // the second open finds the column there
    ASSERT_TRUE(again) << again.error().message();
}

TEST_F(QueueStoreTest, RetryNow) {
    const auto one = enqueue(rcpts({"a@x.example", "b@x.example"}), "1", kT0);
    const auto two = enqueue(rcpts({"c@x.example"}), "2", kT0);
    auto m1 = message(one);
    auto m2 = message(two);
    ASSERT_TRUE(store_->record_deferred(
        {m1.recipients[0].id, m2.recipients[0].id}, "451 later", "mx", kT0 + seconds{3600}
    ));
    ASSERT_TRUE(store_->record_delivered({m1.recipients[1].id}, "250 ok", "mx"));
    const auto now = kT0 + seconds{10};
    EXPECT_TRUE(due(now).empty());

    ASSERT_TRUE(store_->retry_now(one, now));
    auto batches = due(now);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].message_id, one);
    EXPECT_EQ(batches[0].recipient_ids, std::vector{m1.recipients[0].id});
    m1 = message(one);
    EXPECT_EQ(m1.recipients[0].next_attempt, now);
    EXPECT_EQ(m1.recipients[1].state, RecipientState::Delivered);  // not revived
    EXPECT_EQ(message(two).recipients[0].next_attempt, kT0 + seconds{3600});

    // "" = every message.
    ASSERT_TRUE(store_->retry_now("", now));
    EXPECT_EQ(due(now).size(), 2u);
}

TEST_F(QueueStoreTest, Remove) {
    const auto id = enqueue(rcpts({"a@x.example"}), "content", kT0);
    const auto keep = enqueue(rcpts({"b@x.example"}), "other", kT0);
    ASSERT_TRUE(store_->remove(id));
    EXPECT_FALSE(fs::exists(store_->content_path(id)));
    EXPECT_FALSE(store_->message(id));
    EXPECT_EQ(recipient_rows(id), 0);
    auto batches = due(kT0);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].message_id, keep);
    EXPECT_TRUE(fs::exists(store_->content_path(keep)));
    auto again = store_->remove(id);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), core::Errc::NotFound);
}

TEST_F(QueueStoreTest, OpenRemovesOrphanFiles) {
    const auto id = enqueue(rcpts({"a@x.example"}), "kept", kT0);
    const auto messages = dir_.path() / "queue" / "messages";
    const auto orphan = messages / "abcdefghij0123456789";
    const auto temp = messages / ".abcdefghij0123456789.tmp";  // a write cut short
    std::ofstream(orphan) << "never acknowledged";
    std::ofstream(temp) << "partial";
    ASSERT_TRUE(fs::exists(orphan));

    reopen();
    EXPECT_FALSE(fs::exists(orphan));
    EXPECT_FALSE(fs::exists(temp));
    EXPECT_EQ(read_file(store_->content_path(id)), "kept");
}

TEST_F(QueueStoreTest, ReopenKeepsEverything) {
    MessageEnvelope env = envelope("alice@example.org");
    env.envid = "E1";
    env.ret_headers = true;
    env.auth = "alice";
    std::vector<NewRecipient> list{
        {.address = "a@x.example", .orcpt = "rfc822;a@x.example", .notify = 2},
        {.address = "b@y.example", .orcpt = "", .notify = 0},
        {.address = "c@y.example", .orcpt = "", .notify = 0},
    };
    const auto id = enqueue(list, "Subject: s\r\n\r\nbody\r\n", kT0, env);
    const auto held = enqueue(rcpts({"d@z.example"}), "held", kT0 + seconds{1});
    auto before = message(id);
    ASSERT_TRUE(store_->record_deferred(
        {before.recipients[0].id}, "451 4.4.1 timeout", "mx.x.example", kT0 + seconds{600}
    ));
    ASSERT_TRUE(store_->record_failed({before.recipients[1].id}, "550 5.1.1 no", "mx.y.example"));
    ASSERT_TRUE(store_->mark_dsn_done({before.recipients[1].id}));
    ASSERT_TRUE(store_->record_delivered({before.recipients[2].id}, "250 ok", "mx.y.example"));
    ASSERT_TRUE(store_->mark_delay_notified({before.recipients[0].id}));
    ASSERT_TRUE(store_->set_held(held, true));
    before = message(id);

    reopen();

    const auto after = message(id);
    EXPECT_EQ(after.envelope.sender, before.envelope.sender);
    EXPECT_EQ(after.envelope.envid, "E1");
    EXPECT_TRUE(after.envelope.ret_headers);
    EXPECT_EQ(after.envelope.auth, "alice");
    EXPECT_EQ(after.created, kT0);
    EXPECT_EQ(after.size, before.size);
    ASSERT_EQ(after.recipients.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& x = before.recipients[i];
        const auto& y = after.recipients[i];
        EXPECT_EQ(y.id, x.id);
        EXPECT_EQ(y.address, x.address);
        EXPECT_EQ(y.domain, x.domain);
        EXPECT_EQ(y.orcpt, x.orcpt);
        EXPECT_EQ(y.notify, x.notify);
        EXPECT_EQ(y.state, x.state);
        EXPECT_EQ(y.attempts, x.attempts);
        EXPECT_EQ(y.next_attempt, x.next_attempt);
        EXPECT_EQ(y.last_reply, x.last_reply);
        EXPECT_EQ(y.last_host, x.last_host);
        EXPECT_EQ(y.dsn_done, x.dsn_done);
        EXPECT_EQ(y.delay_notified, x.delay_notified);
    }
    EXPECT_EQ(after.recipients[0].state, RecipientState::Pending);
    EXPECT_EQ(after.recipients[0].last_reply, "451 4.4.1 timeout");
    EXPECT_TRUE(after.recipients[0].delay_notified);
    EXPECT_EQ(after.recipients[1].state, RecipientState::Failed);
    EXPECT_TRUE(after.recipients[1].dsn_done);
    EXPECT_EQ(after.recipients[2].state, RecipientState::Delivered);
    EXPECT_TRUE(message(held).held);
    EXPECT_EQ(read_file(store_->content_path(id)), "Subject: s\r\n\r\nbody\r\n");
    EXPECT_EQ(read_file(store_->content_path(held)), "held");

    auto next = store_->next_due();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->value(), kT0 + seconds{600});
    EXPECT_TRUE(due(kT0 + seconds{599}).empty());
    auto all = store_->list();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].id, id);  // oldest first
    EXPECT_EQ((*all)[1].id, held);
}

TEST_F(QueueStoreTest, TwoInstancesSeeEachOthersWrites) {
    auto other = QueueStore::open(dir_.path() / "queue");
    ASSERT_TRUE(other);
    const auto id = enqueue(rcpts({"a@x.example"}), "m", kT0);
    auto m = (*other)->message(id);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->recipients.size(), 1u);
}

TEST(ValidMessageId, AcceptsOnlyGeneratedShape) {
    EXPECT_TRUE(valid_message_id("abcdefghij0123456789"));
    EXPECT_TRUE(valid_message_id("zzzzzzzzzzzzzzzzzzzz"));
    EXPECT_FALSE(valid_message_id(""));
    EXPECT_FALSE(valid_message_id("../x"));
    EXPECT_FALSE(valid_message_id("../aaaaaaaaaaaaaaaaa"));  // right length, path characters
    EXPECT_FALSE(valid_message_id("aaaaaaaaa/aaaaaaaaaa"));
    EXPECT_FALSE(valid_message_id("ABCDEFGHIJ0123456789"));
    EXPECT_FALSE(valid_message_id("abcdefghij012345678A"));
    EXPECT_FALSE(valid_message_id("abcdefghij012345678"));    // 19
    EXPECT_FALSE(valid_message_id("abcdefghij0123456789a"));  // 21
    EXPECT_FALSE(valid_message_id(".bcdefghij0123456789"));
    EXPECT_FALSE(valid_message_id(std::string_view("abcdefghij012345678\0", 20)));
}

}  // namespace
}  // namespace sov::smtp::queue
