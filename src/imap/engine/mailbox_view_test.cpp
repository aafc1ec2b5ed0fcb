// MailboxView over a real store: the shared UID list (issue 3, memory per session) and the
// RFC 9051 §7.5.1 / RFC 7162 reporting rules it must keep.
#include "imap/engine/mailbox_view.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace sov::imap {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Uids = std::vector<std::uint32_t>;

constexpr const char* kAcc = "view@example.test";

class MailboxViewTest : public ::testing::Test {
protected:
    void SetUp() override {
        store::StoreOptions o;
        o.data_dir = dir_.path();
        o.sync_threads = 1;
        auto s = store::Store::open(std::move(o));
        ASSERT_TRUE(s) << s.error().message();
        store_ = std::move(*s);
        ASSERT_TRUE(store_->ensure_account(kAcc, {}));
    }

    std::uint32_t deliver() {
        auto in = store_->begin_message();
        EXPECT_TRUE(in);
        EXPECT_TRUE(in->append("From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n"));
        store::DeliveryRequest req;
        store::Recipient r;
        r.account = kAcc;
        req.recipients.push_back(r);
        auto out = store_->deliver(std::move(*in), req);
        EXPECT_TRUE(!out.empty() && out[0].delivered());
        return out.empty() ? 0 : out[0].uid;
    }

    std::vector<store::FlagState> flag(const Uids& uids, std::uint32_t flags) {
        auto r =
            store_->update_flags(kAcc, "INBOX", uids, {store::FlagChange::Mode::Add, flags, {}});
        EXPECT_TRUE(r);
        return r ? *r : std::vector<store::FlagState>{};
    }

    void expunge() { ASSERT_TRUE(store_->expunge(kAcc, "INBOX")); }

    MailboxView open(bool read_only = false) {
        auto v = MailboxView::open(*store_, kAcc, "INBOX", read_only, &pool_);
        EXPECT_TRUE(v);
        return std::move(*v);
    }

    std::string poll(MailboxView& v, PollMode mode = {}) {
        std::string out;
        wire::ResponseWriter w(out);
        EXPECT_TRUE(v.poll(*store_, mode, w));
        return out;
    }

    test::TempDir dir_;
    std::unique_ptr<store::Store> store_;
    UidListPool pool_;  // declared after the store, before any view: outlives the views
};

TEST_F(MailboxViewTest, SessionsOfOneMailboxShareTheirUidList) {
    for (int i = 0; i < 5; ++i) {
        deliver();
    }
    auto a = open();
    auto b = open(true);
    EXPECT_EQ(a.uid_list(), b.uid_list());  // one copy of the UIDs, not one per session
    EXPECT_EQ(a.uids(), (Uids{1, 2, 3, 4, 5}));
    EXPECT_EQ(pool_.live_for_test(), 1U);
}

TEST_F(MailboxViewTest, DeliveriesConvergeOnOneNewList) {
    deliver();
    auto a = open();
    auto b = open();
    auto c = open();
    deliver();
    EXPECT_THAT(poll(a), HasSubstr("* 2 EXISTS\r\n"));  // a hears of each delivery at once
    deliver();
    EXPECT_THAT(poll(a), HasSubstr("* 3 EXISTS\r\n"));
    EXPECT_THAT(poll(b), HasSubstr("* 3 EXISTS\r\n"));  // b of both together
    EXPECT_EQ(a.uid_list(), b.uid_list());
    EXPECT_NE(a.uid_list(), c.uid_list());  // c has not caught up yet
    EXPECT_EQ(pool_.live_for_test(), 2U);
    EXPECT_THAT(poll(c), HasSubstr("* 3 EXISTS\r\n"));
    EXPECT_EQ(a.uid_list(), c.uid_list());
    EXPECT_EQ(pool_.live_for_test(), 1U);  // the old list died with its last holder
    EXPECT_EQ(a.uids(), (Uids{1, 2, 3}));
}

// RFC 9051 §7.5.1: no EXPUNGE while the client may be using sequence numbers; the message keeps
// its number until then, and changes to it are not reported meanwhile.
TEST_F(MailboxViewTest, ExpungesWaitForAnAllowedMoment) {
    for (int i = 0; i < 4; ++i) {
        deliver();
    }
    auto a = open();
    auto b = open();
    flag({2}, store::flag::kDeleted);
    EXPECT_THAT(poll(a), HasSubstr("* 2 FETCH (FLAGS (\\Deleted"));
    EXPECT_THAT(poll(b), HasSubstr("* 2 FETCH (FLAGS (\\Deleted"));
    expunge();
    flag({2}, store::flag::kFlagged);  // gone: nothing changes
    flag({4}, store::flag::kSeen);
    const PollMode no_expunge{.allow_expunge = false};
    auto out = poll(b, no_expunge);
    EXPECT_THAT(out, Not(HasSubstr("EXPUNGE")));
    EXPECT_THAT(out, HasSubstr("* 4 FETCH (FLAGS (\\Seen"));  // still number 4
    EXPECT_EQ(b.exists(), 4U);
    EXPECT_EQ(b.seq_of(2), 2U);
    EXPECT_EQ(poll(b, no_expunge), "");
    // The expunge and a change after it, in one poll: the FETCH uses the new numbers.
    flag({3}, store::flag::kAnswered);
    out = poll(b);
    EXPECT_EQ(out, "* 2 EXPUNGE\r\n* 2 FETCH (FLAGS (\\Answered))\r\n");
    EXPECT_EQ(b.uids(), (Uids{1, 3, 4}));
    EXPECT_EQ(poll(b), "");
    out = poll(a);
    EXPECT_THAT(out, HasSubstr("* 2 EXPUNGE\r\n"));
    EXPECT_THAT(out, HasSubstr("* 3 FETCH (FLAGS (\\Seen"));
    EXPECT_EQ(a.uid_list(), b.uid_list());
}

TEST_F(MailboxViewTest, OwnExpungeSharesTheListOthersReach) {
    for (int i = 0; i < 3; ++i) {
        deliver();
    }
    auto a = open();
    auto b = open();
    flag({1, 3}, store::flag::kDeleted);
    (void)poll(a);
    (void)poll(b);
    auto gone = store_->expunge(kAcc, "INBOX");
    ASSERT_TRUE(gone);
    std::string out;
    wire::ResponseWriter w(out);
    a.report_expunged(*gone, false, w);
    EXPECT_EQ(out, "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n");
    EXPECT_EQ(poll(a), "");  // its own expunge is not reported again
    EXPECT_EQ(poll(b, {.qresync = true}), "* VANISHED 1,3\r\n");
    EXPECT_EQ(a.uid_list(), b.uid_list());
    EXPECT_EQ(a.uids(), (Uids{2}));
}

// RFC 7162: what a session changed itself and reported (STORE) is not reported again; what
// another session changes afterwards, is, with its MODSEQ.
TEST_F(MailboxViewTest, OwnChangesAreNotReportedTwice) {
    for (int i = 0; i < 3; ++i) {
        deliver();
    }
    auto first = open();  // claims \Recent, so a's and b's flags below come without it
    auto a = open();
    auto b = open();
    const PollMode condstore{.condstore = true};
    a.note_reported(flag({1, 2}, store::flag::kFlagged));
    EXPECT_GT(a.reported_modseq(1), a.highest_modseq());
    EXPECT_EQ(poll(a, condstore), "");
    EXPECT_EQ(a.reported_modseq(1), 0U);  // caught up: nothing remembered per message
    auto out = poll(b, condstore);
    EXPECT_THAT(out, HasSubstr("* 1 FETCH (FLAGS (\\Flagged) MODSEQ ("));
    EXPECT_THAT(out, HasSubstr("* 2 FETCH (FLAGS (\\Flagged) MODSEQ ("));
    EXPECT_EQ(a.highest_modseq(), b.highest_modseq());
    // a's own change, then b's change of the same message before a polls.
    a.note_reported(flag({3}, store::flag::kSeen));
    b.note_reported(flag({3}, store::flag::kAnswered));
    EXPECT_EQ(
        poll(a, condstore),
        "* 3 FETCH (FLAGS (\\Seen \\Answered) MODSEQ (" + std::to_string(b.reported_modseq(3)) +
            "))\r\n"
    );
    // b's own STORE reported the latest state already.
    EXPECT_EQ(poll(b, condstore), "");
    EXPECT_EQ(a.highest_modseq(), b.highest_modseq());
}

TEST_F(MailboxViewTest, ResolveAndRecent) {
    for (int i = 0; i < 3; ++i) {
        deliver();
    }
    auto a = open();
    EXPECT_EQ(a.recent_count(), 3U);
    auto b = open();
    EXPECT_EQ(b.recent_count(), 0U);  // a claimed them (RFC 3501 §2.3.2)
    deliver();
    EXPECT_EQ(poll(b), "* 4 EXISTS\r\n* 1 RECENT\r\n");
    EXPECT_EQ(poll(a), "* 4 EXISTS\r\n* 3 RECENT\r\n");  // b claimed UID 4
    wire::SequenceSet set;
    set.ranges.push_back({2, wire::kStar});
    EXPECT_EQ(a.resolve(set, false), (Uids{2, 3, 4}));
    EXPECT_EQ(a.resolve(set, true), (Uids{2, 3, 4}));
    set.ranges = {{wire::kStar, 3}, {1, 1}, {2, 3}};  // "*:3,1,2:3": sorted, once each
    EXPECT_EQ(a.resolve(set, false), (Uids{1, 2, 3, 4}));
    set.ranges = {{3, 2}};  // "3:2" is "2:3" (RFC 9051 §9, seq-range)
    EXPECT_EQ(a.resolve(set, true), (Uids{2, 3}));
}

TEST_F(MailboxViewTest, RecentInExactlyOneSession) {
    // RFC 3501 §2.3.2: a message is \Recent in one session only, also when another session
    // claims new messages after this one's SELECT.
    for (int i = 0; i < 2; ++i) {
        deliver();
    }
    auto a = open();
    EXPECT_EQ(a.recent_count(), 2U);
    const std::uint32_t third = deliver();
    auto b = open();  // claims the third before a hears of it
    EXPECT_TRUE(b.is_recent(third));
    EXPECT_EQ(poll(a), "* 3 EXISTS\r\n* 2 RECENT\r\n");
    EXPECT_FALSE(a.is_recent(third));
    EXPECT_TRUE(a.is_recent(1));
    // A flag change to it reaches a without \Recent.
    flag({third}, store::flag::kSeen);
    EXPECT_EQ(poll(a), "* 3 FETCH (FLAGS (\\Seen))\r\n");
    EXPECT_THAT(poll(b), HasSubstr("FLAGS (\\Seen \\Recent)"));

    // Whoever polls first claims the next ones; later claims continue a's range.
    const std::uint32_t fourth = deliver();
    EXPECT_EQ(poll(a), "* 4 EXISTS\r\n* 3 RECENT\r\n");
    EXPECT_EQ(poll(b), "* 4 EXISTS\r\n* 1 RECENT\r\n");
    const std::uint32_t fifth = deliver();
    EXPECT_EQ(poll(a), "* 5 EXISTS\r\n* 4 RECENT\r\n");
    EXPECT_TRUE(a.is_recent(fourth) && a.is_recent(fifth));
    EXPECT_FALSE(b.is_recent(fourth) || b.is_recent(fifth));

    // EXAMINE claims nothing and shows only what nobody claimed: the sixth, until a polls.
    auto c = open(true);
    EXPECT_EQ(c.recent_count(), 0U);
    const std::uint32_t sixth = deliver();
    EXPECT_EQ(poll(c), "* 6 EXISTS\r\n* 1 RECENT\r\n");
    EXPECT_TRUE(c.is_recent(sixth));
    EXPECT_EQ(poll(a), "* 6 EXISTS\r\n* 5 RECENT\r\n");
    EXPECT_EQ(poll(b), "* 6 EXISTS\r\n* 1 RECENT\r\n");
}

}  // namespace
}  // namespace sov::imap
