#pragma once
// The outbound queue on disk (ARCHITECTURE.md §3, §4): <queue>/messages/<id> holds each message
// as it will be sent (DKIM-signed, fixed up), <queue>/queue.db (SQLite, WAL) its envelope and one
// row per recipient with its state. A message is acknowledged to the submitting client only
// after both are durable; a recipient the remote side accepted is recorded at once, so a restart
// never sends to it again. Files are written before rows and removed after them, so a crash
// leaves at worst an orphan file, which open() removes.
//
// Thread-safe (one mutex around the connection); every call blocks on SQLite or fsync, so
// coroutines call it through core::offload.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/sqlite.hpp"

namespace sov::smtp::queue {

enum class RecipientState {
    Pending,    // to be tried at next_attempt
    Delivered,  // the remote side (or the local store) accepted it
    Failed,     // permanent failure or expiry; a DSN is owed unless NOTIFY says otherwise
};

struct QueuedRecipient {
    std::int64_t id = 0;
    std::string address;  // forward-path as it goes in RCPT TO
    std::string domain;   // lower-case A-label: the routing key
    std::string orcpt;    // RFC 3461 ORCPT "type;value" (value decoded), "" if none
    unsigned notify = 0;  // wire::NotifyFlags
    RecipientState state = RecipientState::Pending;
    unsigned attempts = 0;
    core::WallTime next_attempt{};
    std::string last_reply;  // "550 5.1.1 ..." or a local reason ("connect: refused")
    std::string last_host;   // the MX host that gave last_reply
    bool dsn_done = false;   // failure or success notice (or its suppression) handled
    bool delay_notified = false;
    /// Delivered, and NOTIFY=SUCCESS is still owed a "relayed" (the peer did not take the DSN
    /// request) or "delivered" (local store) notice; dsn_done once it is queued (RFC 3461 §5.2.2).
    bool success_notice = false;

    /// The notice still to be queued about this recipient, which keeps its message in the queue
    /// (as finish_if_done counts): "failure", "success", or "" for none.
    [[nodiscard]] std::string_view notice_owed() const {
        if (dsn_done) {
            return "";
        }
        if (state == RecipientState::Failed) {
            return "failure";
        }
        return state == RecipientState::Delivered && success_notice ? "success" : "";
    }
};

struct MessageEnvelope {
    std::string sender;        // reverse-path without <>, "" for the null sender
    std::string envid;         // RFC 3461 ENVID, decoded
    bool ret_headers = false;  // RET=HDRS (RFC 3461 §4.3); default full
    bool smtputf8 = false;     // needs SMTPUTF8 at the next hop (RFC 6531)
    bool eight_bit = false;    // BODY=8BITMIME (RFC 6152)
    bool requiretls = false;   // RFC 8689
    std::string auth;          // the submitting account, for logs and rate limits
};

struct NewRecipient {
    std::string address;
    std::string orcpt;
    unsigned notify = 0;
};

struct QueuedMessage {
    std::string id;
    MessageEnvelope envelope;
    core::WallTime created{};
    std::uint64_t size = 0;
    bool held = false;
    std::vector<QueuedRecipient> recipients;
};

/// Recipients of one message that are due, for one destination domain.
struct DueBatch {
    std::string message_id;
    std::string domain;
    std::vector<std::int64_t> recipient_ids;
};

class QueueStore {
public:
    /// Opens (creating) the queue under `dir` and removes orphan files.
    static Result<std::unique_ptr<QueueStore>> open(const std::filesystem::path& dir);

    /// Stores a message durably; returns its id. `content` is the exact message to send.
    Result<std::string> enqueue(
        const MessageEnvelope& envelope,
        const std::vector<NewRecipient>& recipients,
        std::string_view content,
        core::WallTime now
    );

    /// Due work: pending recipients with next_attempt <= now of messages not held, grouped by
    /// message and domain, oldest first.
    Result<std::vector<DueBatch>> due(core::WallTime now, std::size_t limit);
    /// The earliest next_attempt of any pending recipient of a message not held.
    Result<std::optional<core::WallTime>> next_due();

    Result<QueuedMessage> message(std::string_view id);
    Result<std::vector<QueuedMessage>> list();
    Result<std::string> content(std::string_view id);
    std::filesystem::path content_path(std::string_view id) const;

    /// Outcome of one attempt for some recipients. `success_notice`: a success DSN is owed
    /// (recorded in the same transaction, so a crash cannot lose it).
    Status record_delivered(
        const std::vector<std::int64_t>& ids,
        std::string_view reply,
        std::string_view host,
        bool success_notice = false
    );
    Status record_deferred(
        const std::vector<std::int64_t>& ids,
        std::string_view reply,
        std::string_view host,
        core::WallTime next_attempt
    );
    Status record_failed(
        const std::vector<std::int64_t>& ids, std::string_view reply, std::string_view host
    );
    Status mark_dsn_done(const std::vector<std::int64_t>& ids);
    Status mark_delay_notified(const std::vector<std::int64_t>& ids);

    /// Removes the message when no recipient is pending and every failure (and every delivery
    /// owed a success notice) has had its DSN.
    /// Returns 1 if it was removed, else 0.
    Result<std::size_t> finish_if_done(std::string_view id);

    // Administration (`sovereign queue ...`).
    Status retry_now(std::string_view id, core::WallTime now);  // "" = every message
    Status set_held(std::string_view id, bool held);
    Status remove(std::string_view id);

private:
    explicit QueueStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
    Status init();
    Status migrate();
    Status remove_orphans();
    Status set_state(
        const std::vector<std::int64_t>& ids,
        RecipientState state,
        std::string_view reply,
        std::string_view host,
        std::optional<core::WallTime> next_attempt,
        bool success_notice = false
    );
    Result<QueuedMessage> load(std::string_view id);

    std::filesystem::path dir_;
    std::mutex mutex_;
    core::Db db_;
};

/// True for ids this queue hands out (so `queue show ID` never builds a path from anything else).
bool valid_message_id(std::string_view id) noexcept;

}  // namespace sov::smtp::queue
