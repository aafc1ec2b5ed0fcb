// APPEND (RFC 9051 §6.3.12, UIDPLUS APPENDUID RFC 4315 §3, MULTIAPPEND RFC 3502, CATENATE
// RFC 4469).
#include <algorithm>

#include "core/log.hpp"
#include "imap/engine/append_state.hpp"
#include "imap/engine/flags.hpp"
#include "imap/engine/handlers.hpp"
#include "imap/engine/mailbox_view.hpp"
#include "imap/engine/message_file.hpp"
#include "imap/fetch/fetch.hpp"
#include "imap/wire/imap_url.hpp"
#include "mime/date.hpp"
#include "mime/serialize.hpp"

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

/// The octets a CATENATE URL part stands for (RFC 4469 §3): BODY.PEEK[section]<partial> of a
/// message of the user's, as FETCH would send them; nullopt if the URL is not one we serve
/// (imap_url.hpp), or names a mailbox, UIDVALIDITY, message or part that does not exist.
/// `selected` resolves URLs relative to the selected mailbox (nullptr: none is).
std::optional<std::string> url_octets(
    store::Store& store,
    std::string_view account,
    const MailboxView* selected,
    std::string_view text
) {
    const auto url = wire::parse_message_part_url(text);
    if (!url || (!url->mailbox && selected == nullptr)) {
        return std::nullopt;
    }
    const store::MailboxKey key = url->mailbox ? store::MailboxKey(*url->mailbox) : selected->key();
    const auto box = store.mailbox(account, key);
    if (!box || (url->uid_validity && *url->uid_validity != box->uid_validity)) {
        return std::nullopt;  // RFC 5092 §5: a stale URL is as if the mailbox did not exist
    }
    const auto found = store.get_messages(
        account, store::MailboxKey::identity(box->id, box->uid_validity), {url->uid}
    );
    if (!found || found->empty()) {
        return std::nullopt;
    }
    const store::MessageInfo& m = found->front();
    MessageFile file;
    if (!file.load(m.path)) {
        return std::nullopt;  // expunged meanwhile
    }
    auto structure = mime::deserialize(m.structure);
    if (!structure) {
        structure = mime::parse_message(file.bytes());
    }
    // nullopt for a part that does not exist: RFC 4469 §4.1's "invalid body part".
    return fetch::body_section_octets(url->section, url->partial, *structure, file.bytes());
}

/// BADURL's url-resp-text (RFC 4469 §5): TEXT-CHARs but "]".
std::string badurl_code(std::string_view url) {
    std::string code = "BADURL ";
    for (const char ch : url.substr(0, wire::kMaxImapUrl)) {
        const auto u = static_cast<unsigned char>(ch);
        code += u < 0x20 || u == 0x7f || ch == ']' ? '?' : ch;
    }
    return code;
}

}  // namespace

bool Session::append_begin(const wire::PendingAppend& pending, std::string& out) {
    wire::ResponseWriter w(out, Handlers::writer_options(*this));
    if (state_ == State::NotAuthenticated) {
        w.tagged(pending.tag, Condition::Bad, "", "Log in first");
        append_.reset();
        return false;
    }
    if (!append_ || append_->tag != pending.tag) {
        // The command's first literal (messages before it, if any, are CATENATEs of URLs).
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
    if (pending.index >= kMaxAppendMessages) {
        w.tagged(pending.tag, Condition::No, "LIMIT", "Too many messages in one APPEND");
        append_.reset();
        return false;
    }
    if (!parse_flags(pending.message.flags).ok) {
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
    auto& messages = append_->messages;
    // Messages that sent no literal before this one are CATENATEs of URLs alone.
    while (messages.size() < pending.index) {
        messages.emplace_back().catenate = true;
    }
    if (pending.catenate_text) {
        if (messages.size() == pending.index) {
            messages.emplace_back().catenate = true;  // its first TEXT part
        }
        messages.back().texts.push_back(std::move(*incoming));
    } else {
        messages.emplace_back().incoming.emplace(std::move(*incoming));
    }
    append_->previous_cr = false;
    return true;
}

void Session::append_data(std::string_view bytes) {
    if (!append_ || append_->messages.empty() || append_->error) {
        return;
    }
    // Stored messages have CRLF line ends (what FETCH sends and RFC822.SIZE counts): a bare LF
    // from the client becomes CRLF here, so every later answer is consistent.
    auto& message = append_->messages.back();
    auto& incoming = message.catenate ? message.texts.back() : *message.incoming;
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

namespace {

/// Puts a CATENATE message together (RFC 4469 §3), in its parts' order: the spooled TEXT
/// parts and the octets each URL part names. A refusal is written to `w` (BADURL, TOOBIG).
std::optional<store::Incoming> catenated(
    store::Store& store,
    std::string_view account,
    const MailboxView* selected,
    const std::vector<wire::CatenatePart>& parts,
    std::vector<store::Incoming>& texts,
    std::uint64_t max_size,
    const wire::Command& c,
    wire::ResponseWriter& w
) {
    auto out = store.begin_message();
    if (!out) {
        w.tagged(c.tag, Condition::No, "SERVERBUG", "Cannot spool the message");
        return std::nullopt;
    }
    std::size_t next_text = 0;
    for (const auto& part : parts) {
        std::optional<std::string> octets;
        if (part.is_url) {
            octets = url_octets(store, account, selected, part.url);
            if (!octets) {
                w.tagged(c.tag, Condition::No, badurl_code(part.url), "Cannot use that URL");
                return std::nullopt;
            }
        } else if (next_text < texts.size()) {
            auto text = texts[next_text++].contents();
            if (text) {
                octets = std::move(*text);
            }
        }
        if (!octets || !out->append(*octets)) {
            w.tagged(c.tag, Condition::No, "SERVERBUG", "Cannot spool the message");
            return std::nullopt;
        }
        if (out->size() > max_size) {
            w.tagged(c.tag, Condition::No, "TOOBIG", "The message would be too large");
            return std::nullopt;
        }
    }
    return std::move(*out);
}

}  // namespace

void Session::Handlers::append(Session& s, const Cmd& c, W& w) {
    const auto& args = std::get<wire::AppendArgs>(c.args);
    auto state = std::move(s.append_);
    if (!state) {
        // No literal at all: every message is a CATENATE of URLs.
        state = std::make_unique<AppendState>();
        state->tag = c.tag;
        state->mailbox = args.mailbox;
        if (auto box = s.services_.store->mailbox(s.account_, args.mailbox); !box) {
            const bool missing =
                box.error() == store::Errc::NotFound || box.error() == store::Errc::Invalid;
            no(w,
               c,
               missing ? "TRYCREATE" : "SERVERBUG",
               missing ? "No such mailbox" : "Internal error");
            return;
        }
    }
    while (state->messages.size() < args.messages.size()) {
        state->messages.emplace_back().catenate = true;  // URLs only, after the last literal
    }
    if (state->tag != c.tag || state->messages.size() != args.messages.size()) {
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
    if (args.messages.size() > kMaxAppendMessages) {
        no(w, c, "LIMIT", "Too many messages in one APPEND");
        return;
    }
    std::vector<store::AppendItem> items;
    items.reserve(args.messages.size());
    for (std::size_t i = 0; i < args.messages.size(); ++i) {
        const auto& sent = args.messages[i];
        auto& m = state->messages[i];
        const auto flags = parse_flags(sent.flags);
        if (!flags.ok) {
            bad(w, c, "Unknown system flag");
            return;
        }
        if (sent.catenate && m.catenate) {
            auto whole = catenated(
                *s.services_.store,
                s.account_,
                s.view_.get(),
                *sent.catenate,
                m.texts,
                s.config_.max_append,
                c,
                w
            );
            if (!whole) {
                return;
            }
            m.incoming.emplace(std::move(*whole));
        }
        if (!m.incoming || sent.catenate.has_value() != m.catenate) {
            no(w, c, "SERVERBUG", "APPEND state lost");
            return;
        }
        if (m.incoming->size() == 0) {
            no(w, c, "CANNOT", "Empty message");
            return;
        }
        std::optional<core::WallTime> date;
        if (sent.internal_date) {
            date = to_wall_time(*sent.internal_date);
        }
        items.push_back({std::move(*m.incoming), flags.flags, flags.keywords, date});
    }
    std::vector<store::DeliveryOutcome> outcomes;
    if (items.size() == 1) {
        auto& m = items.front();
        outcomes.push_back(s.services_.store->append(
            std::move(m.message), s.account_, state->mailbox, m.flags, m.keywords, m.internal_date
        ));
    } else {
        // MULTIAPPEND (RFC 3502 §6.3.11): all the messages or none, in one transaction.
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
