#pragma once
// The validating resolver (ARCHITECTURE.md §6): libunbound, asynchronous, on the Asio runtime.
// Every answer says whether DNSSEC proved it (RFC 4033 §5: secure / insecure / bogus). Bogus
// answers never reach a caller as data: they come back as Errc::Bogus, and are logged with the
// validator's reason. NXDOMAIN and "no records of this type" are answers, not errors.
//
// libunbound runs its resolution in its own thread and reports through a pipe; the Resolver waits
// on that pipe with Asio and runs every libunbound call on one strand, so queries from any I/O
// thread are safe.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>

#include "core/config.hpp"
#include "core/result.hpp"
#include "dns/rdata.hpp"

struct ub_ctx;
struct ub_result;

namespace sov::dns {

enum class Security {
    Secure,    // validated from a trust anchor
    Insecure,  // provably unsigned (or outside every trust anchor)
    Bogus,     // validation failed; only ever seen in Diagnostics, never as usable data
};

std::string_view to_string(Security s) noexcept;

struct ResolverOptions {
    std::vector<std::string> forwarders;  // "IP" or "IP@port"; empty: full recursion
    std::filesystem::path root_trust_anchor;
    std::vector<std::filesystem::path> trust_anchors;
    std::vector<std::string> private_zones;  // RFC 6761 zones to resolve rather than refuse
    std::chrono::milliseconds timeout{10000};
    // Zone-file lines answered locally, as unbound's `local-data:` (tests without a DNS server).
    std::vector<std::string> local_data;
};

/// The [dns] section of the configuration as resolver options.
ResolverOptions resolver_options(const core::DnsSettings& settings);

/// One RRset (or its proven absence) for a name and type.
struct Answer {
    Security security = Security::Insecure;
    bool nxdomain = false;           // the name does not exist
    std::string canonical_name;      // after CNAMEs; the query name when there were none
    std::vector<std::string> rdata;  // wire-format RDATA of each record; empty: no data
    std::uint32_t ttl = 0;

    bool secure() const { return security == Security::Secure; }
};

/// Filled by query() whatever happens, for operators' tools (`sovereign dns lookup`).
struct Diagnostics {
    Security security = Security::Insecure;
    std::string why_bogus;
    int rcode = 0;
};

/// Typed answers: the parsed records of an Answer (records that fail to parse are dropped and
/// logged; RFC 7671 §5 treats malformed TLSA records as unusable).
template <class T>
struct Records {
    Security security = Security::Insecure;
    bool nxdomain = false;
    std::vector<T> records;
    std::uint32_t ttl = 0;

    bool secure() const { return security == Security::Secure; }
};

/// Destroy a Resolver only after its io_context has stopped running: queries in flight hold it.
class Resolver {
public:
    /// Configures libunbound: forwarders, trust anchors, DNSSEC hardening. Fails with
    /// Errc::Setup (and a log line saying which setting) when a file or forwarder is unusable.
    static Result<std::unique_ptr<Resolver>> create(
        boost::asio::any_io_executor executor, const ResolverOptions& options
    );

    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    /// One lookup, class IN. `name` is ASCII (IDNs as A-labels), with or without the final dot.
    boost::asio::awaitable<Result<Answer>> query(
        std::string name, RrType type, Diagnostics* diagnostics = nullptr
    );

    boost::asio::awaitable<Result<Records<MxRecord>>> mx(std::string name);
    boost::asio::awaitable<Result<Records<std::string>>> txt(std::string name);
    boost::asio::awaitable<Result<Records<TlsaRecord>>> tlsa(std::string name);
    boost::asio::awaitable<Result<Records<boost::asio::ip::address>>> a(std::string name);
    boost::asio::awaitable<Result<Records<boost::asio::ip::address>>> aaaa(std::string name);
    /// The PTR names of an address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa), in
    /// presentation form without the final dot.
    boost::asio::awaitable<Result<Records<std::string>>> ptr(boost::asio::ip::address address);

    struct Pending;

private:
    Resolver(boost::asio::any_io_executor executor, ub_ctx* ctx, int fd, ResolverOptions options);

    boost::asio::awaitable<Result<Answer>> run_query(
        std::string name, RrType type, Diagnostics* diagnostics
    );
    void keep_reading();
    static void on_result(void* data, int err, ub_result* result);
    void complete(Pending* pending, int err, ub_result* result);

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    ub_ctx* ctx_;
    boost::asio::posix::stream_descriptor pipe_;
    ResolverOptions options_;
    bool reading_ = false;
    std::unordered_map<Pending*, std::shared_ptr<Pending>> in_flight_;
};

/// True for a name we are willing to send: 1-253 characters of printable ASCII without spaces
/// or backslashes, labels of 1-63, an optional final dot.
bool valid_query_name(std::string_view name) noexcept;

/// The name a PTR lookup asks for: "4.3.2.1.in-addr.arpa" for 1.2.3.4, the 32 reversed nibbles
/// under "ip6.arpa" for IPv6 (IPv4-mapped IPv6 addresses are looked up as IPv4).
std::string reverse_name(const boost::asio::ip::address& address);

}  // namespace sov::dns
