#pragma once
// A scripted stand-in for the Asio driver, shared by the unit tests, the transcript runner and
// smtp_session_fuzz. It follows the ServerEngine contract exactly (consume what step() says,
// flush at NeedInput/StartTls/Close, answer every question) and records what happened.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/wire/server_engine.hpp"

namespace sov::smtp::wire::detail {

struct DeliveredMessage {
    Envelope envelope;
    std::string body;
};

class SessionHarness {
public:
    using RcptVerdict = std::function<Reply(const Recipient&)>;
    using DeliveryVerdict = std::function<std::vector<Reply>(const Envelope&, std::string_view)>;

    explicit SessionHarness(ServerConfig config) : engine_(std::move(config)) {
        engine_.greet();
        output_ = engine_.take_output();
    }

    RcptVerdict rcpt_verdict = [](const Recipient&) { return Reply{250, "2.1.5", "Ok"}; };
    DeliveryVerdict delivery_verdict = [](const Envelope& env, std::string_view) {
        return std::vector<Reply>(
            env.recipients.empty() ? 1 : env.recipients.size(), Reply{250, "2.0.0", "Ok"}
        );
    };
    std::function<Reply(const Envelope&)> sender_verdict = [](const Envelope&) {
        return Reply{250, "2.1.0", "Ok"};
    };

    /// The driver's SASL side, scripted: given the mechanism and the client's messages so far
    /// (the initial response first, if any), the next answer.
    struct AuthAnswer {
        enum class Kind {
            Challenge,
            Success,
            Failure,
        } kind = Kind::Failure;
        std::string data;  // Challenge: the raw challenge; Success: the identity
        AuthFailure failure = AuthFailure::InvalidCredentials;
    };
    using AuthScript =
        std::function<AuthAnswer(std::string_view mechanism, const std::vector<std::string>&)>;
    /// Default: PLAIN "\0user\0secret" and LOGIN user/secret succeed as "user@example.org";
    /// a PLAIN password "tempfail" fails temporarily; anything else (SCRAM-SHA-256 included,
    /// after one challenge) is refused.
    AuthScript auth_script = [](std::string_view mechanism, const std::vector<std::string>& msgs) {
        using K = AuthAnswer::Kind;
        if (mechanism == "PLAIN") {
            if (msgs.empty()) {
                return AuthAnswer{K::Challenge, "", {}};
            }
            if (msgs.back() == std::string_view("\0user\0secret", 12)) {
                return AuthAnswer{K::Success, "user@example.org", {}};
            }
            if (msgs.back() == std::string_view("\0user\0tempfail", 14)) {
                return AuthAnswer{K::Failure, "", AuthFailure::Temporary};
            }
            return AuthAnswer{};
        }
        if (mechanism == "LOGIN") {
            if (msgs.size() < 2) {
                return AuthAnswer{K::Challenge, msgs.empty() ? "Username:" : "Password:", {}};
            }
            if (msgs[0] == "user" && msgs[1] == "secret") {
                return AuthAnswer{K::Success, "user@example.org", {}};
            }
            return AuthAnswer{};
        }
        if (msgs.size() < 2) {
            return AuthAnswer{K::Challenge, "r=nonce,s=c2FsdA==,i=4096", {}};
        }
        return AuthAnswer{};
    };

    /// Appends bytes to the input buffer and runs the engine until it needs more or closes.
    void feed(std::string_view bytes) {
        if (engine_.closed() && done_) {
            return;  // the connection is gone; bytes after close are never read
        }
        buffer_ += bytes;
        run();
    }

    [[nodiscard]] ServerEngine& engine() { return engine_; }
    /// Everything the server wrote, in order.
    [[nodiscard]] const std::string& output() const { return output_; }
    /// Events other than NeedInput and BodyChunk, as names (chunking-independent).
    [[nodiscard]] const std::vector<std::string>& events() const { return events_; }
    [[nodiscard]] const std::vector<DeliveredMessage>& delivered() const { return delivered_; }
    [[nodiscard]] bool closed() const { return done_; }
    /// Unconsumed input (what a driver would still hold).
    [[nodiscard]] const std::string& buffer() const { return buffer_; }

private:
    void run() {
        for (int guard = 0; guard < 1000000; ++guard) {
            const auto s = engine_.step(buffer_);
            if (s.consumed > buffer_.size()) {
                events_.emplace_back("BUG:overconsumed");
                return;
            }
            // Use the chunk before dropping the bytes it views.
            if (s.event == Event::BodyChunk) {
                body_.append(s.data);
            }
            buffer_.erase(0, s.consumed);
            switch (s.event) {
                case Event::NeedInput:
                    output_ += engine_.take_output();
                    return;
                case Event::BodyChunk:
                    break;
                case Event::VerifySender:
                    events_.emplace_back("sender");
                    engine_.answer_sender(sender_verdict(engine_.envelope()));
                    break;
                case Event::VerifyRecipient:
                    events_.emplace_back("rcpt");
                    engine_.answer_recipient(rcpt_verdict(engine_.pending_recipient()));
                    break;
                case Event::MessageBegin:
                    events_.emplace_back("begin");
                    body_.clear();
                    break;
                case Event::MessageAborted:
                    events_.emplace_back("aborted");
                    body_.clear();
                    break;
                case Event::DeliverMessage: {
                    events_.emplace_back("deliver");
                    delivered_.push_back({engine_.envelope(), body_});
                    const auto replies = delivery_verdict(engine_.envelope(), body_);
                    engine_.answer_delivery(replies);
                    body_.clear();
                    break;
                }
                case Event::StartTls:
                    events_.emplace_back("starttls");
                    output_ += engine_.take_output();
                    engine_.tls_started();
                    break;
                case Event::Close:
                    events_.emplace_back("close");
                    output_ += engine_.take_output();
                    done_ = true;
                    return;
                case Event::Authenticate:
                case Event::AuthResponse: {
                    events_.emplace_back(s.event == Event::Authenticate ? "auth" : "auth-response");
                    if (s.event == Event::Authenticate) {
                        auth_messages_.clear();
                    }
                    if (const auto data = engine_.auth_data()) {
                        auth_messages_.emplace_back(*data);
                    }
                    const auto answer = auth_script(engine_.auth_mechanism(), auth_messages_);
                    switch (answer.kind) {
                        case AuthAnswer::Kind::Challenge:
                            engine_.auth_challenge(answer.data);
                            break;
                        case AuthAnswer::Kind::Success:
                            engine_.auth_success(answer.data);
                            break;
                        case AuthAnswer::Kind::Failure:
                            engine_.auth_failure(answer.failure);
                            break;
                    }
                    break;
                }
                case Event::AuthAborted:
                    events_.emplace_back("auth-aborted");
                    auth_messages_.clear();
                    break;
            }
        }
        events_.emplace_back("BUG:no-progress");
    }

    ServerEngine engine_;
    std::string buffer_;
    std::string output_;
    std::string body_;
    std::vector<std::string> events_;
    std::vector<DeliveredMessage> delivered_;
    std::vector<std::string> auth_messages_;
    bool done_ = false;
};

}  // namespace sov::smtp::wire::detail
