#include "dns/resolver.hpp"

#include <unbound.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/log.hpp"
#include "dns/errors.hpp"

namespace sov::dns {

namespace asio = boost::asio;

/// One query in flight. Owned by Resolver::in_flight_ until libunbound answers or it times out;
/// libunbound's callback argument is the raw pointer (the map keeps it alive).
struct Resolver::Pending {
    explicit Pending(Resolver* r, const asio::strand<asio::any_io_executor>& strand)
        : owner(r), wake(strand) {}

    Resolver* owner;
    asio::steady_timer wake;  // cancelled when the answer arrives
    int async_id = 0;
    bool done = false;
    Result<Answer> result{make_error_code(Errc::ServFail)};
    std::string name;
    RrType type = RrType::A;
    Diagnostics* diagnostics = nullptr;
};

namespace {

constexpr int kClassIn = 1;
constexpr int kRcodeNoError = 0;
constexpr int kRcodeNxDomain = 3;

std::string_view rcode_name(int rcode) {
    switch (rcode) {
        case 0:
            return "NOERROR";
        case 1:
            return "FORMERR";
        case 2:
            return "SERVFAIL";
        case 3:
            return "NXDOMAIN";
        case 4:
            return "NOTIMP";
        case 5:
            return "REFUSED";
        default:
            return "other";
    }
}

struct UbContextDeleter {
    void operator()(ub_ctx* ctx) const { ub_ctx_delete(ctx); }
};

bool set_option(ub_ctx* ctx, const char* option, const std::string& value) {
    const int rc = ub_ctx_set_option(ctx, option, value.c_str());
    if (rc != 0) {
        log::error(
            "dns.setup_failed", {{"option", option}, {"value", value}, {"error", ub_strerror(rc)}}
        );
        return false;
    }
    return true;
}

bool add_anchor_file(ub_ctx* ctx, const std::filesystem::path& file) {
    // libunbound reads the file only at the first query; check now so a typo fails at start-up.
    if (::access(file.c_str(), R_OK) != 0) {
        log::error(
            "dns.setup_failed", {{"trust_anchor", file.string()}, {"error", "not readable"}}
        );
        return false;
    }
    const int rc = ub_ctx_add_ta_file(ctx, file.c_str());
    if (rc != 0) {
        log::error(
            "dns.setup_failed", {{"trust_anchor", file.string()}, {"error", ub_strerror(rc)}}
        );
        return false;
    }
    return true;
}

template <class T, class Parse>
Result<Records<T>> typed(Result<Answer> answer, std::string_view what, Parse parse) {
    if (!answer) {
        return answer.error();
    }
    Records<T> out;
    out.security = answer->security;
    out.nxdomain = answer->nxdomain;
    out.ttl = answer->ttl;
    for (const auto& rdata : answer->rdata) {
        if (auto record = parse(rdata)) {
            out.records.push_back(std::move(*record));
        } else {
            log::warn("dns.malformed_record", {{"name", answer->canonical_name}, {"type", what}});
        }
    }
    return out;
}

}  // namespace

std::string_view to_string(Security s) noexcept {
    switch (s) {
        case Security::Secure:
            return "secure";
        case Security::Insecure:
            return "insecure";
        case Security::Bogus:
            return "bogus";
    }
    return "?";
}

ResolverOptions resolver_options(const core::DnsSettings& settings) {
    ResolverOptions o;
    o.forwarders = settings.forwarders;
    o.root_trust_anchor = settings.root_trust_anchor;
    o.trust_anchors = settings.trust_anchors;
    o.private_zones = settings.private_zones;
    o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(settings.timeout);
    return o;
}

bool valid_query_name(std::string_view name) noexcept {
    if (name.ends_with('.')) {
        name.remove_suffix(1);
    }
    if (name.empty() || name.size() > 253) {
        return false;
    }
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '\\' || ++label > 63) {
            return false;
        }
    }
    return label > 0;
}

Result<std::unique_ptr<Resolver>> Resolver::create(
    asio::any_io_executor executor, const ResolverOptions& options
) {
    std::unique_ptr<ub_ctx, UbContextDeleter> ctx(ub_ctx_create());
    if (!ctx) {
        log::error("dns.setup_failed", {{"error", "ub_ctx_create failed"}});
        return make_error_code(Errc::Setup);
    }
    bool ok = true;
    // Resolution runs in libunbound's own thread; results come back through ub_fd().
    ok = ok && ub_ctx_async(ctx.get(), 1) == 0;
    ok = ok && set_option(ctx.get(), "verbosity:", "0");
    ok = ok && set_option(ctx.get(), "use-syslog:", "no");
    // Answers whose DNSSEC records were stripped on the way are bogus, not insecure.
    ok = ok && set_option(ctx.get(), "harden-dnssec-stripped:", "yes");
    for (const auto& forwarder : options.forwarders) {
        const int rc = ub_ctx_set_fwd(ctx.get(), forwarder.c_str());
        if (rc != 0) {
            log::error("dns.setup_failed", {{"forwarder", forwarder}, {"error", ub_strerror(rc)}});
            ok = false;
        }
    }
    if (!options.forwarders.empty()) {
        // A forwarder on loopback (a local unbound, a test server) is a deliberate choice.
        ok = ok && set_option(ctx.get(), "do-not-query-localhost:", "no");
    }
    if (!options.root_trust_anchor.empty()) {
        ok = ok && add_anchor_file(ctx.get(), options.root_trust_anchor);
    }
    for (const auto& anchor : options.trust_anchors) {
        ok = ok && add_anchor_file(ctx.get(), anchor);
    }
    for (const auto& zone : options.private_zones) {
        // unbound answers RFC 6761 names (e.g. "test.") itself; "transparent" lets queries for
        // them through to the forwarders.
        ok = ok && set_option(ctx.get(), "local-zone:", fmt::format("{}. transparent", zone));
    }
    for (const auto& line : options.local_data) {
        ok = ok && set_option(ctx.get(), "local-data:", line);
    }
    if (!ok) {
        return make_error_code(Errc::Setup);
    }
    const int fd = ub_fd(ctx.get());
    if (fd < 0) {
        log::error("dns.setup_failed", {{"error", "ub_fd failed"}});
        return make_error_code(Errc::Setup);
    }
    // The stream_descriptor must not close libunbound's pipe: it gets its own duplicate.
    const int own_fd = ::dup(fd);
    if (own_fd < 0) {
        return make_error_code(Errc::Setup);
    }
    return std::unique_ptr<Resolver>(
        new Resolver(std::move(executor), ctx.release(), own_fd, options)
    );
}

Resolver::Resolver(asio::any_io_executor executor, ub_ctx* ctx, int fd, ResolverOptions options)
    : strand_(asio::make_strand(executor)),
      ctx_(ctx),
      pipe_(strand_, fd),
      options_(std::move(options)) {}

Resolver::~Resolver() {
    boost::system::error_code ignored;
    pipe_.close(ignored);
    in_flight_.clear();
    ub_ctx_delete(ctx_);
}

asio::awaitable<Result<Answer>> Resolver::query(
    std::string name, RrType type, Diagnostics* diagnostics
) {
    if (!valid_query_name(name)) {
        co_return make_error_code(Errc::BadName);
    }
    // Every libunbound call happens on the strand (ub_ctx is shared by all I/O threads).
    co_return co_await asio::co_spawn(
        strand_, run_query(std::move(name), type, diagnostics), asio::use_awaitable
    );
}

asio::awaitable<Result<Answer>> Resolver::run_query(
    std::string name, RrType type, Diagnostics* diagnostics
) {
    auto pending = std::make_shared<Pending>(this, strand_);
    pending->name = std::move(name);
    pending->type = type;
    pending->diagnostics = diagnostics;
    const int rc = ub_resolve_async(
        ctx_,
        pending->name.c_str(),
        static_cast<int>(type),
        kClassIn,
        pending.get(),
        &Resolver::on_result,
        &pending->async_id
    );
    if (rc != 0) {
        log::error(
            "dns.query_failed",
            {{"name", pending->name}, {"type", to_string(type)}, {"error", ub_strerror(rc)}}
        );
        co_return make_error_code(Errc::ServFail);
    }
    in_flight_.emplace(pending.get(), pending);
    keep_reading();
    pending->wake.expires_after(options_.timeout);
    co_await pending->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!pending->done) {
        ub_cancel(ctx_, pending->async_id);
        in_flight_.erase(pending.get());
        if (in_flight_.empty()) {
            pipe_.cancel();  // an idle wait would keep a finishing io_context running
        }
        log::warn(
            "dns.timeout",
            {{"name", pending->name},
             {"type", to_string(type)},
             {"after_ms", static_cast<std::int64_t>(options_.timeout.count())}}
        );
        co_return make_error_code(Errc::Timeout);
    }
    co_return std::move(pending->result);
}

// One wait on libunbound's pipe at a time, while any query is in flight.
void Resolver::keep_reading() {
    if (reading_ || in_flight_.empty()) {
        return;
    }
    reading_ = true;
    pipe_.async_wait(
        asio::posix::descriptor_base::wait_read,
        asio::bind_executor(
            strand_,
            [this](boost::system::error_code ec) {
                reading_ = false;
                if (!pipe_.is_open()) {
                    return;  // the Resolver is going away
                }
                if (!ec) {
                    ub_process(ctx_);  // runs on_result for every answer that is ready
                }
                keep_reading();  // also after a cancel, if a query arrived meanwhile
            }
        )
    );
}

void Resolver::on_result(void* data, int err, ub_result* result) {
    auto* pending = static_cast<Pending*>(data);
    pending->owner->complete(pending, err, result);
}

void Resolver::complete(Pending* pending, int err, ub_result* result) {
    const auto it = in_flight_.find(pending);
    if (it == in_flight_.end()) {
        ub_resolve_free(result);  // timed out a moment ago
        return;
    }
    const std::shared_ptr<Pending> keep = std::move(it->second);
    in_flight_.erase(it);
    pending->done = true;
    pending->wake.cancel();
    const auto type_name = to_string(pending->type);
    if (err != 0 || result == nullptr) {
        log::warn(
            "dns.query_failed",
            {{"name", pending->name}, {"type", type_name}, {"error", ub_strerror(err)}}
        );
        pending->result = make_error_code(Errc::ServFail);
        ub_resolve_free(result);
        return;
    }
    Diagnostics diag;
    diag.rcode = result->rcode;
    diag.security = result->secure != 0  ? Security::Secure
                    : result->bogus != 0 ? Security::Bogus
                                         : Security::Insecure;
    if (result->why_bogus != nullptr) {
        diag.why_bogus = result->why_bogus;
    }
    if (diag.security == Security::Bogus) {
        // RFC 4035 §5.5: bogus data is not passed on.
        log::warn(
            "dns.bogus", {{"name", pending->name}, {"type", type_name}, {"why", diag.why_bogus}}
        );
        pending->result = make_error_code(Errc::Bogus);
    } else if (result->rcode != kRcodeNoError && result->rcode != kRcodeNxDomain) {
        log::warn(
            "dns.query_failed",
            {{"name", pending->name}, {"type", type_name}, {"rcode", rcode_name(result->rcode)}}
        );
        pending->result = make_error_code(Errc::ServFail);
    } else {
        Answer answer;
        answer.security = diag.security;
        answer.nxdomain = result->nxdomain != 0;
        answer.canonical_name = result->canonname != nullptr ? result->canonname : pending->name;
        if (answer.canonical_name.size() > 1 && answer.canonical_name.ends_with('.')) {
            answer.canonical_name.pop_back();
        }
        answer.ttl = result->ttl > 0 ? static_cast<std::uint32_t>(result->ttl) : 0;
        if (result->havedata != 0) {
            for (int i = 0; result->data[i] != nullptr; ++i) {
                answer.rdata.emplace_back(
                    result->data[i], static_cast<std::size_t>(result->len[i])
                );
            }
        }
        pending->result = std::move(answer);
    }
    if (pending->diagnostics != nullptr) {
        *pending->diagnostics = std::move(diag);
    }
    ub_resolve_free(result);
}

asio::awaitable<Result<Records<MxRecord>>> Resolver::mx(std::string name) {
    auto answer = co_await query(std::move(name), RrType::MX);
    co_return typed<MxRecord>(std::move(answer), "MX", [](const std::string& r) {
        return parse_mx(r);
    });
}

asio::awaitable<Result<Records<std::string>>> Resolver::txt(std::string name) {
    auto answer = co_await query(std::move(name), RrType::TXT);
    co_return typed<std::string>(std::move(answer), "TXT", [](const std::string& r) {
        return parse_txt(r);
    });
}

asio::awaitable<Result<Records<std::string>>> Resolver::ptr(asio::ip::address address) {
    auto answer = co_await query(reverse_name(address), RrType::PTR);
    co_return typed<std::string>(std::move(answer), "PTR", [](const std::string& r) {
        return parse_name_rdata(r);
    });
}

asio::awaitable<Result<Records<TlsaRecord>>> Resolver::tlsa(std::string name) {
    auto answer = co_await query(std::move(name), RrType::TLSA);
    co_return typed<TlsaRecord>(std::move(answer), "TLSA", [](const std::string& r) {
        return parse_tlsa(r);
    });
}

asio::awaitable<Result<Records<asio::ip::address>>> Resolver::a(std::string name) {
    auto answer = co_await query(std::move(name), RrType::A);
    co_return typed<asio::ip::address>(
        std::move(answer),
        "A",
        [](const std::string& r) -> Result<asio::ip::address> {
            auto v4 = parse_a(r);
            if (!v4) {
                return v4.error();
            }
            return asio::ip::address(*v4);
        }
    );
}

asio::awaitable<Result<Records<asio::ip::address>>> Resolver::aaaa(std::string name) {
    auto answer = co_await query(std::move(name), RrType::AAAA);
    co_return typed<asio::ip::address>(
        std::move(answer),
        "AAAA",
        [](const std::string& r) -> Result<asio::ip::address> {
            auto v6 = parse_aaaa(r);
            if (!v6) {
                return v6.error();
            }
            return asio::ip::address(*v6);
        }
    );
}

std::string reverse_name(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return reverse_name(asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()));
    }
    std::string out;
    if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
            out += fmt::format("{}.", *it);
        }
        return out + "in-addr.arpa";
    }
    static constexpr char kHex[] = "0123456789abcdef";
    const auto bytes = address.to_v6().to_bytes();
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
        out += kHex[*it & 0x0f];
        out += '.';
        out += kHex[*it >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

}  // namespace sov::dns
