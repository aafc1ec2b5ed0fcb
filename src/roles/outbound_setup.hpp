#pragma once
// Wires the outbound path of the mailbox role: the validating resolver, the client TLS context
// (PKIX trust for MTA-STS), the MTA-STS policy cache, the queue on disk, its runner and the
// submission side (roles/outbound.hpp). Declared after the io_context in serve() and destroyed
// once it has stopped (the resolver and the runner's timer belong to it).
#include <filesystem>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "core/result.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dkim_sign.hpp"
#include "roles/local_delivery.hpp"
#include "roles/outbound.hpp"
#include "smtp/queue/queue_store.hpp"
#include "smtp/queue/runner.hpp"
#include "tls/mta_sts_cache.hpp"
#include "tls/mta_sts_resolver.hpp"

namespace sov::roles {

/// The DKIM keys the submission path signs with: loaded at start and again on SIGHUP (after
/// `sovereign dkim keygen|rotate`), swapped atomically under running sessions.
class DkimKeys {
public:
    explicit DkimKeys(std::filesystem::path dkim_dir) : dir_(std::move(dkim_dir)) {}
    /// (Re)loads the keyring; on failure the previous one stays in use.
    void reload();
    /// A MessageSigner over the current keyring; a signing failure leaves the message unsigned.
    MessageSigner signer();
    /// An ArcSealer over the current keyring: forwarded mail is sealed with the alias domain's
    /// DKIM key (RFC 8617 §4.1: the same key records serve both).
    ArcSealer arc_sealer();

private:
    std::filesystem::path dir_;
    std::mutex mutex_;
    std::shared_ptr<const mailauth::Keyring> keyring_;
};

/// The ArcSealer's work over one keyring: the ARC set for `domain` (RFC 8617 §5.1), nullopt when
/// the keyring holds no key for it.
Result<std::optional<std::string>> arc_seal_for(
    const mailauth::Keyring& keyring,
    std::string_view domain,
    std::string_view message,
    std::string_view aar,
    mailauth::ArcCv chain
);

struct OutboundPath {
    std::unique_ptr<dns::Resolver> resolver;
    std::unique_ptr<tls::PolicyCache> sts_cache;
    std::unique_ptr<tls::StsResolver> sts;
    std::unique_ptr<smtp::queue::QueueStore> queue;
    std::unique_ptr<smtp::queue::Runner> runner;
    std::unique_ptr<Outbound> outbound;
};

/// Builds the outbound path and starts the runner; `local` gets the outbound hook. Errors are
/// logged; the caller decides whether to run without outbound delivery.
Result<std::unique_ptr<OutboundPath>> start_outbound(
    const core::Config& config,
    boost::asio::io_context& ioc,
    boost::asio::thread_pool& pool,
    LocalDelivery& local,
    MessageSigner signer,
    ArcSealer sealer = {}
);

smtp::queue::RunnerSettings runner_settings(const core::Config& config);

}  // namespace sov::roles
