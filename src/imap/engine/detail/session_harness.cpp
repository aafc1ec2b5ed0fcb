#include "imap/engine/detail/session_harness.hpp"

#include <utility>

namespace sov::imap::detail {

SessionHarness::SessionHarness(
    Services services, SessionConfig config, std::string remote_ip, wire::ParserLimits limits
)
    : session_(services, std::move(config), std::move(remote_ip)), parser_(limits) {
    session_.greeting(greeting_);
    parser_.set_options(session_.parser_options());
}

std::string SessionHarness::send(std::string_view input) {
    std::string out;
    std::size_t pos = 0;
    while (!closed_) {
        const auto step = parser_.feed(input.substr(pos));
        pos += step.consumed;
        switch (step.status) {
            case wire::ParseStatus::NeedMore:
                return out;
            case wire::ParseStatus::Continue:
                out += "+ Ready\r\n";
                break;
            case wire::ParseStatus::Command:
                run_command(out);
                break;
            case wire::ParseStatus::Line:
                if (in_idle_) {
                    session_.idle_done(step.data, out);
                    in_idle_ = false;
                    closed_ = session_.must_close();  // the mailbox was deleted: BYE written
                } else if (session_.sasl_response(step.data, out) == After::SaslContinue) {
                    parser_.expect_line();
                }
                break;
            case wire::ParseStatus::AppendLiteral:
                if (session_.append_begin(parser_.pending_append(), out)) {
                    parser_.accept_literal();
                } else {
                    parser_.reject_literal();
                }
                break;
            case wire::ParseStatus::LiteralData:
                session_.append_data(step.data);
                break;
            case wire::ParseStatus::Error:
                session_.append_abort();
                session_.parse_error(parser_.error(), false, out);
                break;
            case wire::ParseStatus::Fatal:
                session_.parse_error(parser_.error(), true, out);
                closed_ = true;
                break;
        }
    }
    return out;
}

void SessionHarness::run_command(std::string& out) {
    After after = After::Offload;
    ran_quick = false;
    if (quick) {
        const std::size_t before = out.size();
        after = session_.handle(parser_.command(), out, true);
        ran_quick = after != After::Offload;
        if (!ran_quick && out.size() != before) {
            quick_refusal_wrote = true;
        }
    }
    if (after == After::Offload) {
        after = session_.handle(parser_.command(), out);
    }
    parser_.set_options(session_.parser_options());
    closed_ = session_.must_close();
    switch (after) {
        case After::Idle:
        case After::SaslContinue:
            parser_.expect_line();
            in_idle_ = after == After::Idle;
            break;
        case After::Logout:
            closed_ = true;
            break;
        case After::StartTls:
            session_.tls_started();  // the handshake is the driver's; here it always succeeds
            break;
        case After::Continue:
        case After::Compress:  // the stream would be deflated from here on: not modelled
        case After::Offload:
            break;
    }
}

std::string SessionHarness::idle_poll() {
    std::string out;
    session_.idle_poll(out);
    return out;
}

void SessionHarness::collect_spills() {
    session_.set_spill([this](std::string&& responses) { spilled.push_back(std::move(responses)); }
    );
}

}  // namespace sov::imap::detail
