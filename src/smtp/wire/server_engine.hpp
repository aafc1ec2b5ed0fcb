#pragma once
// Sans-I/O SMTP (RFC 5321) and LMTP (RFC 2033) server protocol engine.
//
// The driver owns the socket, the input buffer, deadlines and TLS. It loops:
//
//   engine.greet();
//   for (;;) {
//       auto step = engine.step(buffer_view);   // never blocks, never throws
//       buffer.consume(step.consumed);           // exactly that much (STYLE.md §3.11 #3)
//       switch (step.event) {
//       case Event::NeedInput:       write(engine.take_output()); read_some(); break;
//       case Event::VerifyRecipient: engine.answer_recipient(check(engine.pending_recipient()));
//       case Event::VerifySender:    engine.answer_sender(check(engine.envelope().reverse_path));
//       case Event::MessageBegin:    open store writer, write format_trace_headers(...);
//       case Event::BodyChunk:       writer.write(step.data);   // view into buffer_view
//       case Event::MessageAborted:  writer.discard();          // reply already queued
//       case Event::DeliverMessage:  engine.answer_delivery(commit(writer));  // 1 or N replies
//       case Event::StartTls:        write(engine.take_output()); handshake();
//       engine.tls_started(); case Event::Close:           write(engine.take_output()); close();
//       return;
//       case Event::Authenticate:    // AUTH: start a SASL exchange with auth_mechanism(),
//       case Event::AuthResponse:    // auth_data(); then one of auth_challenge(),
//                                    // auth_success(), auth_failure()
//       case Event::AuthAborted:     forget the SASL exchange (the reply is queued)
//       }
//   }
//
// Contract:
// - step() processes input command by command and returns at the first event. `consumed` is
//   exact; unconsumed bytes must be presented again (with more appended) on the next call.
//   BodyChunk `data` views into the input given to that step() call (or static storage) and is
//   valid until the driver drops those bytes.
// - After VerifySender/VerifyRecipient/DeliverMessage/Authenticate/AuthResponse the engine
//   consumes nothing until the matching answer_*()/auth_*() call: step() returns the same event
//   with consumed == 0 meanwhile. Input pipelined after AUTH waits for the SASL verdict.
// - SMTP AUTH (RFC 4954): the engine frames the exchange (AUTH arguments, "334" challenges,
//   response lines with their own length limit, "*" to cancel, strict base64) and reports the
//   decoded bytes; the SASL mechanisms themselves live with the driver (accounts/sasl.hpp), so
//   this stays pure and free of the accounts module.
// - Replies accumulate in the output while pipelined input is pending (RFC 2920 §3.2); the
//   driver must write take_output() at NeedInput (before reading), StartTls and Close. It may
//   write more often (e.g. before a slow verification).
// - Peer errors are replies, never C++ errors. Nothing here throws except std::bad_alloc.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/wire/address.hpp"
#include "smtp/wire/command_parser.hpp"
#include "smtp/wire/dot_decoder.hpp"
#include "smtp/wire/reply.hpp"

namespace sov::smtp::wire {

enum class Protocol {
    Smtp,  ///< RFC 5321; HELO/EHLO
    Lmtp,  ///< RFC 2033; LHLO, one reply per accepted recipient after the body
};

/// Session limits (plain aggregate filled from config, STYLE.md §3.7). Recoverable limits
/// produce a reply; fatal ones produce 421 and Close.
struct ServerLimits {
    CommandLimits command;
    /// Largest message body in octets (after dot-unstuffing), advertised as "SIZE n"
    /// (RFC 1870). A larger SIZE= is refused at MAIL (552 5.3.4); a body that grows past it is
    /// drained and discarded, then refused with 552 5.3.4 (RFC 1870 §6.3), so the session stays
    /// in sync with a client that did not declare SIZE.
    std::uint64_t max_message_bytes = 50ull * 1024 * 1024;
    /// Recipients per transaction. RFC 5321 §4.5.3.1.8 requires buffering at least 100; more
    /// get "452 4.5.3 Too many recipients" (§4.5.3.1.10), which clients retry in a new
    /// transaction.
    std::size_t max_recipients = 100;
    /// 4xx/5xx replies to commands after which the session is closed with 421 4.7.0. Stops
    /// address harvesting and garbage-spewing peers from holding a connection (Postfix
    /// smtpd_hard_error_limit = 20).
    unsigned max_errors = 20;
    /// Longest AUTH response line (base64, including CRLF). RFC 4954 §4: the AUTH exchange is
    /// exempt from the command line limit, and 12288 octets suffice for deployed mechanisms.
    /// Longer: "500 5.5.6" and the exchange ends (recoverable, like an overlong command).
    std::size_t max_auth_line = 12288;
};

/// Which extensions to advertise and accept. Defaults suit the MX listener.
struct ServerConfig {
    Protocol protocol = Protocol::Smtp;
    std::string hostname = "localhost";  ///< in the greeting, EHLO reply and Received "by"
    std::string greeting_text = "ESMTP Sovereign";
    ServerLimits limits;
    BareLineEnding bare_line_ending = BareLineEnding::Normalize;  ///< see dot_decoder.hpp
    bool tls_available = false;         ///< a TLS context exists: advertise and accept STARTTLS
    bool tls_active = false;            ///< implicit TLS (port 465): STARTTLS is not offered
    bool pipelining = true;             ///< RFC 2920
    bool eightbitmime = true;           ///< RFC 6152
    bool smtputf8 = true;               ///< RFC 6531
    bool chunking = true;               ///< RFC 3030 CHUNKING (BDAT)
    bool binarymime = false;            ///< RFC 3030 BINARYMIME (needs a store that keeps binary)
    bool dsn = true;                    ///< RFC 3461
    bool requiretls = true;             ///< RFC 8689, on TLS sessions only (else 530 5.7.10)
    bool enhanced_status_codes = true;  ///< RFC 2034 (advertised; codes are always sent)
    bool verify_sender = false;         ///< ask the driver about MAIL FROM (Event::VerifySender)
    bool require_auth = false;          ///< submission: MAIL before authentication → 530 5.7.0
    bool require_tls = false;           ///< MAIL before TLS → 530 5.7.0 (RFC 3207 §4)
    /// RFC 4954: accept AUTH and advertise "AUTH <auth_mechanisms>" (submission listeners).
    bool auth_available = false;
    /// RFC 4954 §4 / RFC 8314 §3: no password over plaintext. Before TLS, AUTH is neither
    /// advertised nor accepted (530 5.7.0). Only a test configuration turns this off.
    bool require_tls_for_auth = true;
    /// The SASL mechanisms the driver implements, space-separated, as advertised; AUTH with
    /// another name gets 504 5.5.4. The driver sets accounts::kSaslMechanismList.
    std::string auth_mechanisms = "PLAIN LOGIN SCRAM-SHA-256";
};

enum class Event {
    NeedInput,        ///< flush take_output(), read more, call step() with unconsumed+new bytes
    VerifySender,     ///< (config.verify_sender) answer_sender(): 2xx accepts MAIL
    VerifyRecipient,  ///< pending_recipient() needs a verdict: answer_recipient()
    MessageBegin,     ///< a body starts (354 sent or first BDAT); envelope() is final
    BodyChunk,        ///< Step::data holds the next body bytes
    MessageAborted,   ///< the body will not be delivered (too big, bad line ends, RSET/QUIT
                      ///< during BDAT): discard what was written; the reply is queued
    DeliverMessage,   ///< body complete: answer_delivery() with 1 reply (SMTP) or one per
                      ///< accepted recipient in RCPT order (LMTP, RFC 2033 §4.2)
    StartTls,         ///< "220" queued: flush it, do the handshake, then tls_started()
    Close,            ///< flush take_output(), then close the connection
    Authenticate,     ///< AUTH accepted: start SASL with auth_mechanism() and auth_data() (the
                      ///< initial response, if any), answer with an auth_*() call
    AuthResponse,     ///< a client response to our 334: auth_data(); answer with an auth_*()
    AuthAborted,      ///< the exchange ended without a verdict ("*", bad base64, overlong
                      ///< line); the reply is queued: forget the SASL state
};

/// How an AUTH exchange failed (RFC 4954 §6), for auth_failure().
enum class AuthFailure {
    InvalidCredentials,  ///< 535 5.7.8: wrong password, unknown user, malformed SASL message
    Temporary,           ///< 454 4.7.0: the directory failed; the client should not re-prompt
};

struct Step {
    Event event = Event::NeedInput;
    std::size_t consumed = 0;  ///< bytes of the input to drop now
    std::string_view data;     ///< BodyChunk only
};

/// DSN NOTIFY flags (RFC 3461 §4.1), a bit set; 0 means "not given".
enum NotifyFlags : unsigned {
    kNotifyNever = 1U << 0,
    kNotifySuccess = 1U << 1,
    kNotifyFailure = 1U << 2,
    kNotifyDelay = 1U << 3,
};

/// RFC 3461 §4.3 RET.
enum class DsnRet {
    Unspecified,
    Full,
    Hdrs,
};

/// BODY= of RFC 6152 / RFC 3030.
enum class BodyType {
    Unspecified,
    SevenBit,
    EightBitMime,
    BinaryMime,
};

struct Recipient {
    Path path;
    unsigned notify = 0;      ///< NotifyFlags
    std::string orcpt_type;   ///< RFC 3461 §4.2 addr-type ("rfc822", "utf-8"), "" if absent
    std::string orcpt_value;  ///< xtext-decoded original recipient
};

/// The transaction as accepted so far. Copied into owning strings (valid after the input goes).
struct Envelope {
    Path reverse_path;
    std::optional<std::uint64_t> declared_size;  ///< SIZE= (RFC 1870)
    BodyType body = BodyType::Unspecified;
    bool smtputf8 = false;  ///< SMTPUTF8 parameter (RFC 6531 §3.4)
    DsnRet ret = DsnRet::Unspecified;
    std::string envid;        ///< ENVID, xtext-decoded (RFC 3461 §4.4)
    std::string auth;         ///< AUTH= parameter, xtext-decoded (RFC 4954 §5), unverified
    bool requiretls = false;  ///< REQUIRETLS parameter (RFC 8689 §4.1: tag the message)
    std::vector<Recipient> recipients;  ///< accepted recipients, RCPT order
};

class ServerEngine {
public:
    explicit ServerEngine(ServerConfig config);

    /// Queues the 220 greeting (RFC 5321 §4.3.1). Call once, before the first step().
    void greet();
    /// Queues `reply` (e.g. 554 5.7.1 or 421 4.3.2) and closes: for a refused connection,
    /// shutdown or a driver-side timeout. step() returns Close afterwards.
    void close_with(Reply reply);

    /// Processes input until the next event. See the contract above.
    [[nodiscard]] Step step(std::string_view input);

    /// Answers VerifySender. A 2xx accepts the MAIL (the reply is sent as given).
    void answer_sender(Reply reply);
    /// Answers VerifyRecipient. A 2xx adds pending_recipient() to the envelope.
    void answer_recipient(Reply reply);
    /// Answers DeliverMessage: SMTP uses replies[0]; LMTP needs one per accepted recipient
    /// (missing ones become 451 4.3.0, extras are ignored).
    void answer_delivery(std::span<const Reply> replies);
    /// The TLS handshake after StartTls succeeded: the session restarts as RFC 3207 §4.2 says
    /// (HELO/EHLO forgotten, transaction reset; STARTTLS no longer offered).
    void tls_started();
    /// Submission: the client authenticated (RFC 4954); affects require_auth and the Received
    /// "with" keyword (ESMTPA/ESMTPSA, RFC 3848). auth_success() calls it.
    void set_authenticated(std::string identity);

    // AUTH (RFC 4954 §4). Valid during Authenticate/AuthResponse; ignored otherwise.
    /// Authenticate: the mechanism named by AUTH, upper-cased.
    [[nodiscard]] const std::string& auth_mechanism() const noexcept { return auth_mechanism_; }
    /// Authenticate: the decoded initial response, nullopt if none ("=" is an empty one).
    /// AuthResponse: the decoded client response.
    [[nodiscard]] std::optional<std::string_view> auth_data() const noexcept;
    /// Sends "334 <base64 challenge>" and reads the client's response line.
    void auth_challenge(std::string_view challenge);
    /// "235 2.7.0": the session is authenticated as `identity` (the canonical account).
    void auth_success(std::string identity);
    /// 535 5.7.8 or 454 4.7.0; counts as an error (ServerLimits::max_errors).
    void auth_failure(AuthFailure failure);

    /// Replies queued so far, as wire bytes; the engine forgets them.
    [[nodiscard]] std::string take_output();
    [[nodiscard]] bool has_output() const noexcept { return !output_.empty(); }
    [[nodiscard]] bool closed() const noexcept { return closed_; }

    [[nodiscard]] const Envelope& envelope() const noexcept { return envelope_; }
    /// The recipient awaiting a verdict (valid during VerifyRecipient).
    [[nodiscard]] const Recipient& pending_recipient() const noexcept { return pending_rcpt_; }
    /// HELO/EHLO/LHLO argument as sent ("" before it).
    [[nodiscard]] const std::string& helo_name() const noexcept { return helo_; }
    [[nodiscard]] bool esmtp() const noexcept { return esmtp_; }
    [[nodiscard]] bool tls_active() const noexcept { return tls_active_; }
    [[nodiscard]] bool authenticated() const noexcept { return authenticated_; }
    [[nodiscard]] const std::string& auth_identity() const noexcept { return auth_identity_; }
    /// Body octets received for the current message (after unstuffing).
    [[nodiscard]] std::uint64_t message_bytes() const noexcept { return message_bytes_; }
    /// Transactions delivered so far in this session (for message ids).
    [[nodiscard]] std::uint64_t transactions() const noexcept { return transactions_; }

    /// Received "with" keyword for the current session: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA,
    /// LMTP[S][A] (RFC 3848), UTF8SMTP[S][A] / UTF8LMTP[S][A] when SMTPUTF8 was used
    /// (RFC 6531 §4.3).
    [[nodiscard]] std::string_view with_keyword() const noexcept;

private:
    enum class State {
        Command,         // reading command lines (RFC 5321 §4.1)
        SkipLine,        // discarding the rest of an overlong line (§4.5.3.1.4)
        AwaitSender,     // VerifySender asked
        AwaitRecipient,  // VerifyRecipient asked
        Data,            // DATA body (§4.1.1.4)
        Bdat,            // BDAT chunk bytes (RFC 3030 §2)
        AwaitDelivery,   // DeliverMessage asked
        StartTls,        // StartTls asked, awaiting tls_started()
        AwaitAuth,       // Authenticate/AuthResponse asked, awaiting an auth_*() call
        AuthLine,        // "334" sent: the next line is a SASL response (RFC 4954 §4)
        Closed,
    };

    // Handlers return an event to report, or nullopt to go on with the next command.
    std::optional<Event> on_line(std::string_view line, std::size_t remaining);
    std::optional<Event> cmd_helo(const Command& cmd);
    std::optional<Event> cmd_mail(const Command& cmd);
    std::optional<Event> cmd_rcpt(const Command& cmd);
    std::optional<Event> cmd_data(const Command& cmd);
    std::optional<Event> cmd_bdat(const Command& cmd);
    std::optional<Event> cmd_starttls(const Command& cmd, std::size_t remaining);
    std::optional<Event> cmd_auth(const Command& cmd);
    Step step_auth_line(std::string_view input);
    /// Ends the exchange (state back to Command) and wipes the client's SASL data.
    void end_auth();
    Step step_data(std::string_view input);
    Step step_bdat(std::string_view input);
    std::optional<Event> fail_body(Reply reply);
    void reply(int code, std::string_view enhanced, std::string_view text);
    void error(int code, std::string_view enhanced, std::string_view text);
    void queue(const Reply& r);
    /// Resets the transaction (RFC 5321 §4.1.1.5); true if a body was being received.
    bool reset_transaction();
    [[nodiscard]] std::string ehlo_text() const;
    /// AUTH is available now: configured, SMTP (not LMTP), and TLS unless not required.
    [[nodiscard]] bool auth_offered() const noexcept;

    ServerConfig config_;
    State state_ = State::Command;
    std::string output_;
    Envelope envelope_;
    Recipient pending_rcpt_;
    std::string helo_;
    std::string auth_identity_;
    bool esmtp_ = false;
    bool helo_seen_ = false;
    bool in_transaction_ = false;  // MAIL accepted
    bool tls_active_ = false;
    bool authenticated_ = false;
    bool bdat_transaction_ = false;  // BDAT chunks were accepted in this transaction
    bool body_started_ = false;      // MessageBegin was emitted, no end/abort yet
    bool body_failed_ = false;       // too big / bad line ends: drain, then body_reply_
    bool bdat_last_ = false;
    bool bdat_discard_ = false;  // drain this chunk and answer bdat_reply_ (no transaction)
    Reply body_reply_;
    Reply bdat_reply_;
    std::uint64_t bdat_remaining_ = 0;
    std::uint64_t bdat_chunk_size_ = 0;
    std::uint64_t message_bytes_ = 0;
    std::uint64_t transactions_ = 0;
    unsigned errors_ = 0;
    bool closed_ = false;
    DotDecoder dot_;
    // AUTH exchange in progress.
    Event auth_event_ = Event::Authenticate;
    std::string auth_mechanism_;
    std::string auth_data_;  // decoded; wiped after the driver's answer
    bool auth_has_data_ = false;
};

}  // namespace sov::smtp::wire
