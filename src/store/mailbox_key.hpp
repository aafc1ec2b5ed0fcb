#pragma once
// How a Store call names a mailbox: by name, looked up at each call, or by identity, which is
// what an IMAP session holds for its selected mailbox (RFC 9051 §6.3.1). An identity is the
// mailbox row's id together with its UIDVALIDITY. It follows the mailbox through a rename by
// another session. After a delete it matches nothing, even a new mailbox that took the name or
// the reused row id: its UIDVALIDITY is higher (one counter per account). A lookup by name
// would hand such a session another mailbox's messages under the UIDs it already knows.
#include <cstdint>
#include <string>
#include <string_view>

namespace sov::store {

class MailboxKey {
public:
    // Implicit, so that every call naming a mailbox stays as it is. The key views the name: it
    // is a parameter, not for keeping.
    MailboxKey(std::string_view name) : name_(name) {}
    MailboxKey(const std::string& name) : name_(name) {}
    MailboxKey(const char* name) : name_(name) {}

    /// The mailbox with row `id`, as long as its UIDVALIDITY is `uid_validity`.
    static MailboxKey identity(std::int64_t id, std::uint32_t uid_validity) {
        MailboxKey key{std::string_view{}};
        key.id_ = id;
        key.uid_validity_ = uid_validity;
        return key;
    }

    [[nodiscard]] bool by_identity() const { return id_ != 0; }
    /// Empty for an identity.
    [[nodiscard]] std::string_view name() const { return name_; }
    [[nodiscard]] std::int64_t id() const { return id_; }
    [[nodiscard]] std::uint32_t uid_validity() const { return uid_validity_; }

private:
    std::string_view name_;
    std::int64_t id_ = 0;
    std::uint32_t uid_validity_ = 0;
};

}  // namespace sov::store
