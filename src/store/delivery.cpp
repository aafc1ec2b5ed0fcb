// The delivery entry points: deliver_async (queue and return), deliver (blocking) and append
// (IMAP APPEND / import); the work itself is in group_commit.cpp.
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

using detail::Job;
using detail::outcome;

namespace {

// IMAP APPEND and import: one recipient, the stored quota, no account created.
DeliveryRequest append_request(
    std::string_view account,
    std::string_view mailbox,
    std::uint32_t flags,
    std::vector<std::string> keywords,
    std::optional<core::WallTime> internal_date
) {
    DeliveryRequest req;
    req.create_missing_accounts = false;
    Recipient r;
    r.account = std::string(account);
    r.mailbox = std::string(mailbox);
    r.flags = flags;
    r.keywords = std::move(keywords);
    r.internal_date = internal_date;
    req.recipients.push_back(std::move(r));
    return req;
}

}  // namespace

void Store::deliver_async(
    Incoming message,
    DeliveryRequest request,
    std::function<void(std::vector<DeliveryOutcome>)> done
) {
    auto job = std::make_unique<Job>(
        Job{std::move(message), std::move(request), std::move(done), {}, {}, 0}
    );
    {
        std::lock_guard lock(impl_->queue_mu);
        impl_->sync_queue.push_back(std::move(job));
    }
    impl_->sync_cv.notify_one();
}

std::vector<DeliveryOutcome> Store::deliver(Incoming message, DeliveryRequest request) {
    std::promise<std::vector<DeliveryOutcome>> promise;
    auto future = promise.get_future();
    auto job = std::make_unique<Job>(
        Job{std::move(message),
            std::move(request),
            [&promise](auto outcomes) { promise.set_value(std::move(outcomes)); },
            {},
            {},
            0}
    );
    // The caller blocks anyway: sync here and save a thread hand-off.
    impl_->prepare(*job);
    impl_->enqueue_commit(std::move(job), false);
    return future.get();
}

DeliveryOutcome Store::append(
    Incoming message,
    std::string_view account,
    std::string_view mailbox,
    std::uint32_t flags,
    std::vector<std::string> keywords,
    std::optional<core::WallTime> internal_date
) {
    auto out = deliver(
        std::move(message),
        append_request(account, mailbox, flags, std::move(keywords), internal_date)
    );
    return out.empty() ? outcome(DeliveryStatus::TempFail, "no outcome") : std::move(out[0]);
}

std::vector<DeliveryOutcome> Store::append_all(
    std::string_view account, std::string_view mailbox, std::vector<AppendItem> items
) {
    if (items.empty()) {
        return {};
    }
    struct Waiting {
        std::mutex mu;
        std::vector<DeliveryOutcome> outcomes;
        std::size_t left = 0;
        std::promise<void> all;
    };
    auto waiting = std::make_shared<Waiting>();
    waiting->outcomes.resize(items.size());
    waiting->left = items.size();
    const std::uint64_t group = ++impl_->groups;
    std::vector<std::unique_ptr<Job>> jobs;
    jobs.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        AppendItem& item = items[i];
        DeliveryRequest req = append_request(
            account, mailbox, item.flags, std::move(item.keywords), item.internal_date
        );
        auto done = [waiting, i](std::vector<DeliveryOutcome> out) {
            std::lock_guard lock(waiting->mu);
            waiting->outcomes[i] =
                out.empty() ? outcome(DeliveryStatus::TempFail, "no outcome") : std::move(out[0]);
            if (--waiting->left == 0) {
                waiting->all.set_value();
            }
        };
        jobs.push_back(std::make_unique<Job>(
            Job{std::move(item.message), std::move(req), std::move(done), {}, {}, group}
        ));
    }
    // The caller blocks anyway, as in deliver(). The files are synced side by side, here and
    // on the sync threads: concurrent fdatasyncs share the file system's journal commits.
    std::vector<std::function<void()>> preparations;
    preparations.reserve(jobs.size());
    for (auto& job : jobs) {
        preparations.emplace_back([this, &job] { impl_->prepare(*job); });
    }
    impl_->run_parallel(preparations);
    auto all = waiting->all.get_future();
    impl_->enqueue_group(std::move(jobs));
    all.wait();
    std::lock_guard lock(waiting->mu);
    return std::move(waiting->outcomes);
}

}  // namespace sov::store
