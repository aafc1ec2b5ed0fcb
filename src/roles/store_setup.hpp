#pragma once
// How the store analyses messages at delivery: the MIME structure cached for IMAP and the
// decoded text for the full-text index. Shared by `serve` and the CLI (import).
#include "core/config.hpp"
#include "store/store.hpp"

namespace sov::roles {

store::StoreOptions make_store_options(const core::Config& config);

}  // namespace sov::roles
