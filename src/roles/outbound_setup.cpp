#include "roles/outbound_setup.hpp"

#include "core/log.hpp"
#include "mailauth/arc_seal.hpp"
#include "tls/client_context.hpp"

namespace sov::roles {

void DkimKeys::reload() {
    auto loaded = mailauth::Keyring::load(dir_);
    if (!loaded) {
        log::error(
            "dkim.load_failed", {{"path", dir_.string()}, {"error", loaded.error().message()}}
        );
        return;
    }
    auto keyring = std::make_shared<const mailauth::Keyring>(std::move(*loaded));
    log::info("dkim.loaded", {{"domains", keyring->domains().size()}});
    std::lock_guard lock(mutex_);
    keyring_ = std::move(keyring);
}

MessageSigner DkimKeys::signer() {
    return [this](std::string_view domain, std::string_view message) -> std::string {
        std::shared_ptr<const mailauth::Keyring> keyring;
        {
            std::lock_guard lock(mutex_);
            keyring = keyring_;
        }
        if (!keyring || domain.empty()) {
            return {};
        }
        auto signature = keyring->sign(domain, message);
        if (!signature) {
            // Unsigned mail still goes out; receivers judge it by SPF/DMARC alone.
            log::warn(
                "dkim.sign_failed",
                {{"domain", std::string(domain)}, {"error", signature.error().message()}}
            );
            return {};
        }
        return std::move(*signature);
    };
}

Result<std::optional<std::string>> arc_seal_for(
    const mailauth::Keyring& keyring,
    std::string_view domain,
    std::string_view message,
    std::string_view aar,
    mailauth::ArcCv chain
) {
    const auto* signer = keyring.find(domain);
    const auto* key = signer != nullptr ? mailauth::arc_signing_key(*signer) : nullptr;
    if (key == nullptr) {
        return std::optional<std::string>{};
    }
    const mailauth::ArcSealRequest request{
        .domain = signer->domain(),
        .key = *key,
        .authentication_results = std::string(aar),
        .chain = chain,
    };
    auto set = mailauth::arc_seal(message, request);
    if (!set) {
        return set.error();
    }
    return std::optional<std::string>{std::move(*set)};
}

ArcSealer DkimKeys::arc_sealer() {
    return [this](
               std::string_view domain,
               std::string_view message,
               std::string_view aar,
               mailauth::ArcCv chain
           ) -> Result<std::optional<std::string>> {
        std::shared_ptr<const mailauth::Keyring> keyring;
        {
            std::lock_guard lock(mutex_);
            keyring = keyring_;
        }
        if (!keyring) {
            return std::optional<std::string>{};
        }
        return arc_seal_for(*keyring, domain, message, aar, chain);
    };
}

smtp::queue::RunnerSettings runner_settings(const core::Config& config) {
    smtp::queue::RunnerSettings settings;
    settings.hostname = config.hostname;
    settings.retry.first = config.queue.retry_first;
    settings.retry.max = config.queue.retry_max;
    settings.retry.max_age = config.queue.max_age;
    settings.retry.delay_warning = config.queue.delay_warning;
    settings.max_connections = config.queue.max_connections;
    settings.max_per_domain = config.queue.max_per_domain;
    settings.port = config.queue.remote_port;
    settings.smarthost.host = config.queue.smarthost.host;
    settings.smarthost.port = config.queue.smarthost.port;
    settings.smarthost.implicit_tls = config.queue.smarthost.tls == core::TlsMode::Implicit;
    settings.smarthost.username = config.queue.smarthost.username;
    settings.smarthost.password_file = config.queue.smarthost.password_file;
    return settings;
}

Result<std::unique_ptr<OutboundPath>> start_outbound(
    const core::Config& config,
    boost::asio::io_context& ioc,
    boost::asio::thread_pool& pool,
    LocalDelivery& local,
    MessageSigner signer,
    ArcSealer sealer
) {
    auto path = std::make_unique<OutboundPath>();
    auto resolver = dns::Resolver::create(ioc.get_executor(), dns::resolver_options(config.dns));
    if (!resolver) {
        log::error("outbound.resolver_failed", {{"error", resolver.error().message()}});
        return resolver.error();
    }
    path->resolver = std::move(*resolver);
    std::string error;
    auto context = tls::make_client_context(config.tls.trusted_cas, error);
    if (!context) {
        log::error("outbound.tls_failed", {{"error", error}});
        return context.error();
    }
    if (auto cache = tls::PolicyCache::open(tls::PolicyCache::path_in(config.data_dir))) {
        path->sts_cache = std::move(*cache);
    } else {
        // Delivery still applies MTA-STS, fetching the policy each time.
        log::warn("outbound.sts_cache_unavailable", {{"error", cache.error().message()}});
    }
    path->sts = std::make_unique<tls::StsResolver>(
        *path->resolver, *context, path->sts_cache.get(), tls::StsOptions{}
    );
    auto queue = smtp::queue::QueueStore::open(config.queue_dir());
    if (!queue) {
        log::error(
            "queue.open_failed",
            {{"path", config.queue_dir().string()}, {"error", queue.error().message()}}
        );
        return queue.error();
    }
    path->queue = std::move(*queue);
    path->runner = std::make_unique<smtp::queue::Runner>(
        ioc.get_executor(),
        pool.get_executor(),
        *path->queue,
        *path->resolver,
        *context,
        path->sts.get(),
        &local,
        runner_settings(config)
    );
    path->outbound = std::make_unique<Outbound>(
        *path->queue, *path->runner, pool, config.hostname, std::move(signer)
    );
    path->outbound->set_arc_sealer(std::move(sealer));
    local.set_outbound(path->outbound.get());
    path->runner->start();
    return path;
}

}  // namespace sov::roles
