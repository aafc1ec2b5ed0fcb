// Store::read_scope(): several reads of one account on one read transaction (store.hpp).
#include <utility>

#include "store/detail/store_impl.hpp"
#include "store/store.hpp"

namespace sov::store {

using detail::ReadScopeState;
using detail::StoreOps;

ReadScope::ReadScope() noexcept = default;

ReadScope::ReadScope(std::unique_ptr<ReadScopeState> state) noexcept : state_(std::move(state)) {}

ReadScope::ReadScope(ReadScope&& other) noexcept = default;

ReadScope::~ReadScope() {
    if (!state_) {
        return;
    }
    detail::active_read_scope = state_->previous;
    if (state_->begun && StoreOps::run_cached(*state_->db, "COMMIT")) {
        StoreOps::return_reader(*state_->acc, std::move(state_->db));
    }
}

ReadScope Store::read_scope(std::string_view account) {
    auto state = std::make_unique<ReadScopeState>();
    state->impl = impl_.get();
    state->account = std::string(account);
    state->previous = detail::active_read_scope;
    detail::active_read_scope = state.get();
    return ReadScope(std::move(state));
}

Status StoreOps::begin_scope(ReadScopeState& scope) {
    if (scope.begun) {
        return {};
    }
    auto acc = scope.impl->account(scope.account, false, std::nullopt);
    if (!acc) {
        return acc.error();
    }
    auto db = take_reader(**acc);
    if (!db) {
        return db.error();
    }
    if (auto st = run_cached(**db, "BEGIN"); !st) {
        return st.error();
    }
    scope.acc = std::move(*acc);
    scope.db = std::move(*db);
    scope.begun = true;
    return {};
}

}  // namespace sov::store
