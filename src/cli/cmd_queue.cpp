// `sovereign queue`: what the outbound queue holds, and the operator's levers on it. Works on
// <data>/queue directly (SQLite WAL), while the server runs; the server picks up a `retry` or
// `release` at its next look at the queue (within [queue] poll, 5 s).
#include <iostream>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/commands_list.hpp"
#include "core/errors.hpp"
#include "smtp/queue/queue_store.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::cli {

namespace {

using smtp::queue::QueuedMessage;
using smtp::queue::RecipientState;

std::string_view state_name(RecipientState state) {
    switch (state) {
        case RecipientState::Pending:
            return "pending";
        case RecipientState::Delivered:
            return "delivered";
        case RecipientState::Failed:
            return "failed";
    }
    return "?";
}

std::string date(core::WallTime t) {
    return smtp::wire::format_rfc5322_date(core::unix_seconds(t), 0);
}

void print_summary(const QueuedMessage& m) {
    std::size_t pending = 0;
    for (const auto& r : m.recipients) {
        pending += r.state == RecipientState::Pending ? 1 : 0;
    }
    std::cout << fmt::format(
        "{}  {:>9}  {}  <{}>  {} recipient(s), {} pending{}\n",
        m.id,
        m.size,
        date(m.created),
        m.envelope.sender,
        m.recipients.size(),
        pending,
        m.held ? "  HELD" : ""
    );
}

void print_detail(const QueuedMessage& m) {
    std::cout << fmt::format("id:        {}\n", m.id);
    std::cout << fmt::format("from:      <{}>\n", m.envelope.sender);
    std::cout << fmt::format("queued:    {}\n", date(m.created));
    std::cout << fmt::format("size:      {}\n", m.size);
    if (!m.envelope.auth.empty()) {
        std::cout << fmt::format("submitted: {}\n", m.envelope.auth);
    }
    if (!m.envelope.envid.empty()) {
        std::cout << fmt::format("envid:     {}\n", m.envelope.envid);
    }
    std::cout << fmt::format("held:      {}\n", m.held ? "yes" : "no");
    for (const auto& r : m.recipients) {
        std::cout << fmt::format(
            "  <{}>  {}  attempts={}", r.address, state_name(r.state), r.attempts
        );
        if (r.state == RecipientState::Pending) {
            std::cout << "  next=" << date(r.next_attempt);
        }
        if (const auto owed = r.notice_owed(); !owed.empty()) {
            std::cout << "  notice owed: " << owed;
        }
        if (r.delay_notified) {
            std::cout << "  delay notice sent";
        }
        if (!r.last_reply.empty()) {
            std::cout << fmt::format(
                "\n      last: {}{}",
                r.last_reply,
                r.last_host.empty() ? "" : " (" + r.last_host + ")"
            );
        }
        std::cout << "\n";
    }
}

int run_queue(const Command& command, int argc, char** argv, int first) {
    auto args = parse_command_args(
        command,
        argc,
        argv,
        first,
        {.options = {"config", "data"}, .flags = {"all"}},
        Positionals::at_least(1, "expected list, show, retry, hold, release or delete")
    );
    if (!args) {
        return args.exit_code();
    }
    const auto& action = args->positional[0];
    const bool takes_id = action == "show" || action == "retry" || action == "hold" ||
                          action == "release" || action == "delete";
    if (action != "list" && !takes_id) {
        return usage_error(command, "unknown action '" + action + "'");
    }
    const bool all = args->has("all");
    if (action == "list" && args->positional.size() != 1) {
        return usage_error(command, "list takes no argument");
    }
    if (takes_id && !(args->positional.size() == 2 ||
                      (action == "retry" && all && args->positional.size() == 1))) {
        return usage_error(command, action + " needs one message id (retry: or --all)");
    }
    const std::string id = args->positional.size() == 2 ? args->positional[1] : std::string();
    if (!id.empty() && !smtp::queue::valid_message_id(id)) {
        return fail(command, "'" + id + "' is not a queue id (see `sovereign queue list`)");
    }
    auto config = load_command_config(*args);
    if (!config) {
        return config.exit_code();
    }
    auto queue = smtp::queue::QueueStore::open(config->queue_dir());
    if (!queue) {
        return fail(command, config->queue_dir().string(), queue.error());
    }
    auto& q = **queue;
    if (action == "list") {
        auto messages = q.list();
        if (!messages) {
            return fail(command, messages.error());
        }
        for (const auto& m : *messages) {
            print_summary(m);
        }
        if (messages->empty()) {
            std::cout << "the queue is empty\n";
        }
        return kExitOk;
    }
    if (action == "show") {
        auto m = q.message(id);
        if (!m) {
            return fail(command, id, m.error());
        }
        print_detail(*m);
        return kExitOk;
    }
    Status st;
    if (action == "retry") {
        st = q.retry_now(id, core::now());
    } else if (action == "hold" || action == "release") {
        st = q.set_held(id, action == "hold");
    } else {
        st = q.remove(id);
    }
    if (!st) {
        return fail(command, id, st.error());
    }
    std::cout << fmt::format(
        "{}: {}\n",
        id.empty() ? "all" : id,
        action == "retry"     ? "retry now"
        : action == "hold"    ? "held"
        : action == "release" ? "released"
                              : "deleted"
    );
    return kExitOk;
}

}  // namespace

Command queue_command() {
    return make_command(
        "queue",
        "inspect and manage the outbound queue",
        "usage: sovereign queue list [--data DIR]\n"
        "       sovereign queue show ID [--data DIR]\n"
        "       sovereign queue retry ID|--all [--data DIR]\n"
        "       sovereign queue hold|release ID [--data DIR]\n"
        "       sovereign queue delete ID [--data DIR]\n\n"
        "list: every queued message (id, size, arrival, sender, recipients pending).\n"
        "show: one message's envelope and each recipient's state and last reply.\n"
        "retry: try the pending recipients now instead of at their next scheduled time.\n"
        "hold: no delivery attempts until release. delete: drop the message without a DSN.\n"
        "The running server notices changes at its next look at the queue (a few seconds).\n",
        run_queue
    );
}

}  // namespace sov::cli
