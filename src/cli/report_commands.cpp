#include "cli/report_commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "cli/open_services.hpp"
#include "smtp/wire/trace_headers.hpp"

namespace sov::cli {

namespace asio = boost::asio;

std::string report_day(std::int64_t day) {
    return smtp::wire::format_rfc5322_date(day, 0).substr(5, 11);
}

OrExit<std::unique_ptr<ReportRun>> ReportRun::open(const Command& command, const Args& args) {
    using Out = OrExit<std::unique_ptr<ReportRun>>;
    auto opened = load_config_and_directory(args);
    if (!opened) {
        return Out::exit_with(opened.exit_code());
    }
    std::unique_ptr<ReportRun> run(new ReportRun());
    run->config_ = std::move(opened->config);
    const auto& config = run->config_;
    auto domains = opened->directory->list_domains();
    run->mail_domain_ = domains && !domains->empty() ? domains->front().name : config.hostname;
    auto queue = smtp::queue::QueueStore::open(config.queue_dir());
    if (!queue) {
        return Out::exit_with(fail(command, config.queue_dir().string(), queue.error()));
    }
    run->queue_ = std::move(*queue);
    // Signed like the server signs its generated mail (RFC 9990 §3.5.2 wants report mail to
    // pass DMARC).
    run->keys_ = std::make_unique<roles::DkimKeys>(config.keys_dir() / "dkim");
    run->keys_->reload();
    run->signer_ = run->keys_->signer();
    auto resolver =
        dns::Resolver::create(run->io_.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        return Out::exit_with(fail(command, "resolver", resolver.error()));
    }
    run->resolver_ = std::move(*resolver);
    run->dns_ = std::make_unique<mailauth::ResolverDnsSource>(*run->resolver_);
    return run;
}

ReportRun::~ReportRun() {
    pool_.join();
}

roles::ReportEnqueue ReportRun::enqueue() {
    return [q = queue_.get(), signer = signer_, hostname = config_.hostname](
               std::string sender, std::vector<std::string> to, std::string message
           ) -> asio::awaitable<Result<std::string>> {
        const auto now = core::now();
        auto fixed =
            roles::add_missing_fields(std::move(message), hostname, core::unix_seconds(now));
        if (signer) {
            fixed.insert(0, signer(roles::author_domain(fixed), fixed));
        }
        std::vector<smtp::queue::NewRecipient> targets;
        for (auto& r : to) {
            smtp::queue::NewRecipient target;
            target.address = std::move(r);
            targets.push_back(std::move(target));
        }
        smtp::queue::MessageEnvelope envelope;
        envelope.sender = std::move(sender);
        co_return q->enqueue(envelope, targets, fixed, now);
    };
}

int ReportRun::run(asio::awaitable<roles::SendSummary> send, std::string_view skipped_word) {
    auto future = asio::co_spawn(io_, std::move(send), asio::use_future);
    io_.run();
    pool_.join();
    const auto summary = future.get();
    std::cout << fmt::format(
        "{} report(s), {} message(s) queued, {} destination(s) {}, {} deferred, {} failed\n",
        summary.reports,
        summary.messages,
        summary.skipped,
        skipped_word,
        summary.deferred,
        summary.failed
    );
    if (summary.messages > 0) {
        std::cout << "the running server delivers them at its next look at the queue\n";
    }
    return summary.failed == 0 ? kExitOk : kExitRuntime;
}

}  // namespace sov::cli
