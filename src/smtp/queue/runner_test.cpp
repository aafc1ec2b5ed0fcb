#include "smtp/queue/runner.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "smtp/wire/server_engine.hpp"

namespace sov::smtp::queue {
namespace {

// ---- tls_required_no (RFC 8689 §3) ----

TEST(TlsRequiredNo, PlainField) {
    EXPECT_TRUE(tls_required_no("TLS-Required: No\r\nSubject: x\r\n\r\nbody\r\n"));
    EXPECT_TRUE(tls_required_no("Subject: x\r\nTLS-Required: No\r\n\r\n"));
}

TEST(TlsRequiredNo, NameAndValueAnyCaseAndWhitespace) {
    EXPECT_TRUE(tls_required_no("tls-required: no\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-REQUIRED:NO\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-Required:\t No \t\r\n\r\n"));
}

TEST(TlsRequiredNo, FoldedValue) {
    EXPECT_TRUE(tls_required_no("TLS-Required:\r\n No\r\n\r\n"));
    EXPECT_TRUE(tls_required_no("TLS-Required: N\r\n o\r\nSubject: x\r\n\r\n"));
}

TEST(TlsRequiredNo, OtherValuesAreNotNo) {
    EXPECT_FALSE(tls_required_no("TLS-Required: Yes\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required: No thanks\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required: No\r\n please\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("TLS-Required:\r\n\r\n"));
}

TEST(TlsRequiredNo, OnlyTheHeaderSectionCounts) {
    EXPECT_FALSE(tls_required_no("Subject: x\r\n\r\nTLS-Required: No\r\n"));
    EXPECT_FALSE(tls_required_no("\r\nTLS-Required: No\r\n"));
    EXPECT_FALSE(tls_required_no("X-TLS-Required: No\r\n\r\n"));
    EXPECT_FALSE(tls_required_no("Subject: TLS-Required: No\r\n\r\n"));
    EXPECT_FALSE(tls_required_no(""));
}

TEST(TlsRequiredNo, BareLineFeedsAndNoFinalLineEnd) {
    EXPECT_TRUE(tls_required_no("Subject: x\nTLS-Required: No\n\nbody"));
    EXPECT_TRUE(tls_required_no("TLS-Required: No"));
    EXPECT_FALSE(tls_required_no("TLS-Required: N"));
}

// ---- success notices (RFC 3461 §5.2.2, §5.2.3) ----

RecipientOutcome accepted(bool dsn_passed_on) {
    return RecipientOutcome{
        .code = 250, .reply = "250 2.0.0 Ok", .local = false, .dsn_passed_on = dsn_passed_on
    };
}

TEST(OwesSuccessNotice, OnlyForSuccessAskedAndNotPassedOn) {
    MessageEnvelope env;
    env.sender = "alice@example.org";
    EXPECT_TRUE(owes_success_notice(env, wire::kNotifySuccess, accepted(false)));
    EXPECT_TRUE(
        owes_success_notice(env, wire::kNotifySuccess | wire::kNotifyFailure, accepted(false))
    );
    // The peer offered DSN and got NOTIFY=SUCCESS: it reports, we do not.
    EXPECT_FALSE(owes_success_notice(env, wire::kNotifySuccess, accepted(true)));
    // NOTIFY absent means failures only (§4.1); NEVER and FAILURE,DELAY ask no success notice.
    EXPECT_FALSE(owes_success_notice(env, 0, accepted(false)));
    EXPECT_FALSE(owes_success_notice(env, wire::kNotifyNever, accepted(false)));
    EXPECT_FALSE(
        owes_success_notice(env, wire::kNotifyFailure | wire::kNotifyDelay, accepted(false))
    );
    // Not accepted: nothing to report as a success.
    auto refused = accepted(false);
    refused.code = 550;
    EXPECT_FALSE(owes_success_notice(env, wire::kNotifySuccess, refused));
    // The null sender never gets a DSN (§6.2).
    env.sender.clear();
    EXPECT_FALSE(owes_success_notice(env, wire::kNotifySuccess, accepted(false)));
}

const core::WallTime kCreated{std::chrono::seconds{1'750'000'000}};

QueuedRecipient recipient(std::int64_t id, RecipientState state, unsigned notify) {
    QueuedRecipient r;
    r.id = id;
    r.address = "r" + std::to_string(id) + "@example.com";
    r.state = state;
    r.notify = notify;
    r.last_host = "mx.example.com";
    r.last_reply = state == RecipientState::Failed ? "550 5.1.1 no" : "250 2.0.0 Ok";
    return r;
}

TEST(PlanNotices, RelayedAndDeliveredForOwedSuccesses) {
    QueuedMessage m;
    m.envelope.sender = "alice@example.org";
    m.created = kCreated;
    auto relayed = recipient(1, RecipientState::Delivered, wire::kNotifySuccess);
    relayed.success_notice = true;
    auto local = recipient(2, RecipientState::Delivered, wire::kNotifySuccess);
    local.success_notice = true;
    local.last_host = std::string(kLocalHost);
    auto passed_on = recipient(3, RecipientState::Delivered, wire::kNotifySuccess);  // not owed
    auto already = recipient(4, RecipientState::Delivered, wire::kNotifySuccess);
    already.success_notice = true;
    already.dsn_done = true;
    m.recipients = {relayed, local, passed_on, already};
    RetryPolicy retry;
    const auto plan = plan_notices(m, kCreated + std::chrono::seconds{10}, retry);
    EXPECT_EQ(plan.settled, (std::vector<std::int64_t>{1, 2}));
    EXPECT_TRUE(plan.failed.empty());
    EXPECT_TRUE(plan.delayed.empty());
    ASSERT_EQ(plan.succeeded.size(), 2u);
    EXPECT_EQ(plan.succeeded[0].action, DsnAction::Relayed);
    EXPECT_EQ(plan.succeeded[0].remote_mta, "mx.example.com");
    EXPECT_EQ(plan.succeeded[1].action, DsnAction::Delivered);
    EXPECT_EQ(plan.succeeded[1].remote_mta, "");
    EXPECT_EQ(plan.succeeded[1].final_recipient, "r2@example.com");
}

TEST(PlanNotices, NullSenderGetsNothingButDebtsAreSettled) {
    QueuedMessage m;
    m.created = kCreated;  // sender "": a bounce
    auto owed = recipient(1, RecipientState::Delivered, wire::kNotifySuccess);
    owed.success_notice = true;
    m.recipients = {owed, recipient(2, RecipientState::Failed, 0)};
    const auto plan = plan_notices(m, kCreated, RetryPolicy{});
    EXPECT_EQ(plan.settled, (std::vector<std::int64_t>{1, 2}));
    EXPECT_TRUE(plan.failed.empty());
    EXPECT_TRUE(plan.succeeded.empty());
}

TEST(PlanNotices, FailuresAndDelayWarnings) {
    QueuedMessage m;
    m.envelope.sender = "alice@example.org";
    m.created = kCreated;
    m.recipients = {
        recipient(1, RecipientState::Failed, 0),                      // default: notify
        recipient(2, RecipientState::Failed, wire::kNotifyNever),     // settled, silent
        recipient(3, RecipientState::Pending, 0),                     // delay warning
        recipient(4, RecipientState::Pending, wire::kNotifyFailure),  // warned, silent
        recipient(5, RecipientState::Pending, wire::kNotifyDelay),    // delay warning
    };
    m.recipients[2].last_reply = "451 4.7.1 later";
    RetryPolicy retry;
    retry.delay_warning = std::chrono::seconds{60};
    auto early = plan_notices(m, kCreated + std::chrono::seconds{59}, retry);
    EXPECT_EQ(early.settled, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(early.failed.size(), 1u);
    EXPECT_TRUE(early.warned.empty());
    auto late = plan_notices(m, kCreated + std::chrono::seconds{60}, retry);
    EXPECT_EQ(late.warned, (std::vector<std::int64_t>{3, 4, 5}));
    ASSERT_EQ(late.delayed.size(), 2u);
    EXPECT_EQ(late.delayed[0].action, DsnAction::Delayed);
    EXPECT_EQ(late.delayed[0].final_recipient, "r3@example.com");
    EXPECT_EQ(late.delayed[0].will_retry_until, kCreated + retry.max_age);
    m.recipients[2].delay_notified = true;  // once only
    EXPECT_EQ(plan_notices(m, kCreated + std::chrono::seconds{61}, retry).warned.size(), 2u);
    retry.delay_warning = std::chrono::seconds{0};  // off
    EXPECT_TRUE(plan_notices(m, kCreated + std::chrono::hours{24}, retry).warned.empty());
}

// ---- dsn_envelope (RFC 8689 §5, RFC 3461 §6.2) ----

MessageEnvelope original_envelope() {
    return MessageEnvelope{
        .sender = "alice@example.org",
        .envid = "abc",
        .ret_headers = true,
        .smtputf8 = true,
        .eight_bit = true,
        .requiretls = false,
        .auth = "alice",
    };
}

TEST(DsnEnvelope, FromTheNullSender) {
    const auto e = dsn_envelope(original_envelope());
    EXPECT_EQ(e.sender, "");
    EXPECT_EQ(e.envid, "");
    EXPECT_FALSE(e.ret_headers);
    EXPECT_EQ(e.auth, "");
    EXPECT_TRUE(e.smtputf8);
    EXPECT_TRUE(e.eight_bit);
    EXPECT_FALSE(e.requiretls);
}

TEST(DsnEnvelope, RequireTlsCarriedOver) {
    auto original = original_envelope();
    original.requiretls = true;
    EXPECT_TRUE(dsn_envelope(original).requiretls);
    // A relayed message (forwarded, an alias) bounces the same way: the flag travels with the
    // message in its envelope, whoever queued it.
    original.auth.clear();
    original.smtputf8 = false;
    original.eight_bit = false;
    const auto e = dsn_envelope(original);
    EXPECT_TRUE(e.requiretls);
    EXPECT_FALSE(e.smtputf8);
    EXPECT_EQ(e.sender, "");
}

}  // namespace
}  // namespace sov::smtp::queue
