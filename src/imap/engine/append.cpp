// APPEND (RFC 9051 §6.3.12, UIDPLUS APPENDUID RFC 4315 §3, MULTIAPPEND RFC 3502).
#include <algorithm>

#include "core/log.hpp"
#include "imap/engine/append_state.hpp"
#include "imap/engine/flags.hpp"
#include "imap/engine/handlers.hpp"
#include "mime/date.hpp"

namespace sov::imap {

using wire::Condition;

namespace {

// Messages of one MULTIAPPEND: each holds a spool file (and its descriptor) until the command
// ends, so a client must not be able to pile up thousands (RFC 5530 LIMIT beyond).
constexpr std::size_t kMaxAppendMessages = 100;

core::WallTime to_wall_time(const wire::DateTime& dt) {
    const mime::DateTime d{
        .year = dt.date.year,
        .month = dt.date.month,
        .day = dt.date.day,
        .hour = dt.hour,
        .minute = dt.minute,
        .second = dt.second,
        .zone_minutes = dt.zone_minutes,
    };
    return core::WallTime{std::chrono::seconds{d.unix_time()}};
}

}  // namespace

bool Session::append_begin(const wire::PendingAppend& pending, std::string& out) {
    wire::ResponseWriter w(out, Handlers::writer_options(*this));
    if (state_ == State::NotAuthenticated) {
        w.tagged(pending.tag, Condition::Bad, "", "Log in first");
        append_.reset();
        return false;
    }
    if (pending.catenate_text) {
        w.tagged(pending.tag, Condition::No, "CANNOT", "CATENATE is not supported");
        append_.reset();
        return false;
    }
    if (pending.index == 0) {
        append_ = std::make_unique<AppendState>();
        append_->tag = pending.tag;
        append_->mailbox = pending.mailbox;
        // Refuse before the client sends the bytes (RFC 9051 §6.3.12: TRYCREATE).
        if (auto box = services_.store->mailbox(account_, pending.mailbox); !box) {
            append_.reset();
            if (box.error() == store::Errc::NotFound || box.error() == store::Errc::Invalid) {
                w.tagged(pending.tag, Condition::No, "TRYCREATE", "No such mailbox");
            } else {
                w.tagged(pending.tag, Condition::No, "SERVERBUG", "Internal error");
            }
            return false;
        }
    }
    if (!append_) {
        return false;
    }
    if (pending.index >= kMaxAppendMessages) {
        w.tagged(pending.tag, Condition::No, "LIMIT", "Too many messages in one APPEND");
        append_.reset();
        return false;
    }
    const auto parsed = parse_flags(pending.message.flags);
    if (!parsed.ok) {
        w.tagged(pending.tag, Condition::Bad, "", "Unknown system flag");
        append_.reset();
        return false;
    }
    auto incoming = services_.store->begin_message();
    if (!incoming) {
        w.tagged(pending.tag, Condition::No, "SERVERBUG", "Cannot spool the message");
        append_.reset();
        return false;
    }
    AppendState::Message m;
    m.incoming.emplace(std::move(*incoming));
    m.flags = parsed.flags;
    m.keywords = parsed.keywords;
    if (pending.message.internal_date) {
        m.internal_date = to_wall_time(*pending.message.internal_date);
    }
    append_->messages.push_back(std::move(m));
    append_->previous_cr = false;
    return true;
}

void Session::append_data(std::string_view bytes) {
    if (!append_ || append_->messages.empty() || append_->error) {
        return;
    }
    // Stored messages have CRLF line ends (what FETCH sends and RFC822.SIZE counts): a bare LF
    // from the client becomes CRLF here, so every later answer is consistent.
    auto& incoming = *append_->messages.back().incoming;
    std::string normalised;
    std::size_t start = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == '\n' && !(i == 0 ? append_->previous_cr : bytes[i - 1] == '\r')) {
            normalised.append(bytes.substr(start, i - start));
            normalised.append("\r\n");
            start = i + 1;
        }
    }
    Status st;
    if (start == 0) {
        st = incoming.append(bytes);
    } else {
        normalised.append(bytes.substr(start));
        st = incoming.append(normalised);
    }
    if (!bytes.empty()) {
        append_->previous_cr = bytes.back() == '\r';
    }
    if (!st) {
        append_->error = st.error();
    }
}

void Session::append_abort() {
    append_.reset();
}

void Session::Handlers::append(Session& s, const Cmd& c, W& w) {
    auto state = std::move(s.append_);
    if (!state || state->tag != c.tag || state->messages.empty()) {
        no(w, c, "SERVERBUG", "APPEND state lost");
        return;
    }
    if (state->error) {
        log::warn(
            "imap.append.spool", {{"account", s.account_}, {"error", state->error.message()}}
        );
        no(w, c, "SERVERBUG", "Cannot spool the message");
        return;
    }
    for (const auto& m : state->messages) {
        if (m.incoming->size() == 0) {
            no(w, c, "CANNOT", "Empty message");
            return;
        }
    }
    std::vector<store::DeliveryOutcome> outcomes;
    if (state->messages.size() == 1) {
        auto& m = state->messages.front();
        outcomes.push_back(s.services_.store->append(
            std::move(*m.incoming), s.account_, state->mailbox, m.flags, m.keywords, m.internal_date
        ));
    } else {
        // MULTIAPPEND (RFC 3502 §6.3.11): all the messages or none, in one transaction.
        std::vector<store::AppendItem> items;
        items.reserve(state->messages.size());
        for (auto& m : state->messages) {
            items.push_back(
                {std::move(*m.incoming), m.flags, std::move(m.keywords), m.internal_date}
            );
        }
        outcomes = s.services_.store->append_all(s.account_, state->mailbox, std::move(items));
    }
    // Of a refused group, the message that was refused says why; the others only that they
    // went with it (TempFail).
    const auto refused = [&](store::DeliveryStatus status) {
        return std::any_of(outcomes.begin(), outcomes.end(), [&](const auto& o) {
            return o.status == status;
        });
    };
    if (refused(store::DeliveryStatus::QuotaExceeded) ||
        refused(store::DeliveryStatus::MessageTooBigForQuota)) {
        no(w, c, "OVERQUOTA", "Quota exceeded");
        return;
    }
    if (refused(store::DeliveryStatus::MailboxMissing)) {
        no(w, c, "TRYCREATE", "No such mailbox");
        return;
    }
    for (const auto& o : outcomes) {
        if (!o.delivered()) {
            log::warn("imap.append.failed", {{"account", s.account_}, {"reason", o.reason}});
            no(w, c, "SERVERBUG", "Cannot store the message");
            return;
        }
    }
    const std::uint32_t uid_validity = outcomes.front().uid_validity;
    std::vector<std::uint32_t> uids;
    for (const auto& o : outcomes) {
        uids.push_back(o.uid);
    }
    std::string set;
    for (const auto uid : uids) {
        set += (set.empty() ? "" : ",") + std::to_string(uid);
    }
    ok(w, c, "APPENDUID " + std::to_string(uid_validity) + " " + set);
}

}  // namespace sov::imap
