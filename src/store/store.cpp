// Store's lifetime: open() creates the data directories and starts the workers, the destructor
// drains them; and the counters behind stats().
#include "store/store.hpp"

#include <memory>
#include <utility>

#include "store/detail/fs.hpp"
#include "store/detail/store_impl.hpp"

namespace sov::store {

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
    impl_->shutdown();
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
    if (options.data_dir.empty()) {
        return Errc::Invalid;
    }
    auto impl = std::make_unique<Impl>(std::move(options));
    impl->mail_dir = impl->opt.data_dir / "mail";
    impl->spool_dir = impl->opt.data_dir / "tmp";
    bool created = false;
    if (auto st = detail::make_dir(impl->opt.data_dir, created); !st) {
        return st.error();
    }
    bool created_any = false;
    for (const auto& d : {impl->mail_dir, impl->spool_dir}) {
        if (auto st = detail::make_dir(d, created); !st) {
            return st.error();
        }
        created_any = created_any || created;
    }
    if (created_any) {
        if (auto st = detail::sync_dir(impl->opt.data_dir); !st) {
            return st.error();
        }
    }
    impl->start();
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Stats Store::stats() const {
    return Stats{
        impl_->n_batches.load(),
        impl_->n_deliveries.load(),
        impl_->n_file_syncs.load(),
        impl_->n_dir_syncs.load(),
        impl_->n_commits.load(),
    };
}

}  // namespace sov::store
