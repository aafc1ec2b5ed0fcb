// Directory::may_send_as: which MAIL FROM addresses an authenticated account may use.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "accounts/directory.hpp"
#include "accounts/errors.hpp"
#include "support/temp_dir.hpp"

namespace sov::accounts {
namespace {

using P = SenderPolicy;

class SenderPolicyTest : public ::testing::Test {
protected:
    void SetUp() override { open({}); }

    void open(std::optional<bool> subaddressing) {
        dir.reset();
        Directory::Options options;
        options.password = PasswordParams::minimum_for_test();
        if (subaddressing) {
            options.subaddressing = *subaddressing;
        }
        auto opened = Directory::open(tmp.path() / "accounts.db", options);
        ASSERT_TRUE(opened) << opened.error().message();
        dir = std::move(*opened);
    }

    void populate() {
        ASSERT_TRUE(dir->add_domain("example.com"));
        ASSERT_TRUE(dir->add_domain("Bücher.example"));
        ASSERT_TRUE(dir->add_domain("other.example"));
        ASSERT_TRUE(dir->add_domain_alias("example.net", "example.com"));
        ASSERT_TRUE(dir->add_domain_alias("bücher-alias.example", "bücher.example"));
        for (const char* user :
             {"anna@example.com",
              "bob@example.com",
              "carl@xn--bcher-kva.example",
              "dora@other.example"}) {
            ASSERT_TRUE(dir->add_user(user, "pw")) << user;
        }
    }

    // Own policy, asserting that the lookup itself succeeded.
    bool own(std::string_view account, std::string_view from) {
        return check(account, from, P::Own);
    }
    bool check(std::string_view account, std::string_view from, SenderPolicy policy) {
        auto r = dir->may_send_as(account, from, policy);
        EXPECT_TRUE(r) << from << ": " << r.error().message();
        return r && *r;
    }

    test::TempDir tmp;
    std::unique_ptr<Directory> dir;
};

TEST_F(SenderPolicyTest, OwnAddressInAnySpelling) {
    populate();
    EXPECT_TRUE(own("anna@example.com", "anna@example.com"));
    EXPECT_TRUE(own("anna@example.com", "<anna@example.com>"));
    EXPECT_TRUE(own("anna@example.com", "Anna@EXAMPLE.COM"));
    EXPECT_TRUE(own("anna@example.com", "\"anna\"@example.com"));
    EXPECT_TRUE(own("anna@example.com", "anna@example.com."));
    // The account may be given in any spelling find_user accepts.
    EXPECT_TRUE(own("ANNA@example.net", "anna@example.com"));
    EXPECT_FALSE(own("anna@example.com", "bob@example.com"));
    EXPECT_FALSE(own("anna@example.com", "annabel@example.com"));
    EXPECT_FALSE(own("anna@example.com", "anna@other.example"));
    EXPECT_FALSE(own("anna@example.com", "anna@elsewhere.example"));
}

TEST_F(SenderPolicyTest, IdnDomainULabelsALabelsAndCase) {
    populate();
    // Stored as A-labels; From may use U-labels, A-labels, any case.
    EXPECT_TRUE(own("carl@xn--bcher-kva.example", "carl@bücher.example"));
    EXPECT_TRUE(own("carl@xn--bcher-kva.example", "carl@BÜCHER.example"));
    EXPECT_TRUE(own("carl@xn--bcher-kva.example", "Carl@XN--BCHER-KVA.EXAMPLE"));
    EXPECT_TRUE(own("carl@bücher.example", "carl@xn--bcher-kva.example"));
    // A domain alias of the IDN domain, itself an IDN.
    EXPECT_TRUE(own("carl@xn--bcher-kva.example", "carl@Bücher-Alias.example"));
    EXPECT_FALSE(own("carl@xn--bcher-kva.example", "carl@bucher.example"));
    EXPECT_TRUE(check("carl@xn--bcher-kva.example", "someone@BÜCHER-alias.example", P::Domain));
    EXPECT_FALSE(check("carl@xn--bcher-kva.example", "someone@example.com", P::Domain));
}

TEST_F(SenderPolicyTest, SubaddressOnlyWhenEnabled) {
    populate();
    EXPECT_TRUE(own("anna@example.com", "anna+lists@example.com"));
    EXPECT_TRUE(own("anna@example.com", "ANNA+Lists@example.net"));
    EXPECT_FALSE(own("bob@example.com", "anna+lists@example.com"));
    EXPECT_FALSE(own("anna@example.com", "+lists@example.com"));
    open(false);
    EXPECT_FALSE(own("anna@example.com", "anna+lists@example.com"));
    EXPECT_TRUE(own("anna@example.com", "anna@example.com"));
}

TEST_F(SenderPolicyTest, DomainAliasOfOwnAddress) {
    populate();
    EXPECT_TRUE(own("anna@example.com", "anna@example.net"));
    EXPECT_TRUE(own("anna@example.com", "anna@EXAMPLE.NET"));
    EXPECT_FALSE(own("anna@example.com", "bob@example.net"));
}

TEST_F(SenderPolicyTest, AliasesWhoseDestinationsIncludeTheAccount) {
    populate();
    ASSERT_TRUE(dir->add_alias("team@example.com", {"anna@example.com", "bob@example.com"}));
    ASSERT_TRUE(dir->add_alias("sales@example.com", {"team@example.com"}));  // nested
    ASSERT_TRUE(dir->add_alias("info@example.com", {"bob@example.com", "x@elsewhere.example"}));
    ASSERT_TRUE(dir->add_alias("via-alias@example.com", {"anna@example.net"}));  // domain alias
    ASSERT_TRUE(dir->add_alias("forward@example.com", {"anna@elsewhere.example"}));
    EXPECT_TRUE(own("anna@example.com", "team@example.com"));
    EXPECT_TRUE(own("bob@example.com", "TEAM@example.net"));
    EXPECT_TRUE(own("anna@example.com", "sales@example.com"));
    EXPECT_TRUE(own("anna@example.com", "team+x@example.com"));
    EXPECT_TRUE(own("anna@example.com", "via-alias@example.com"));
    EXPECT_FALSE(own("anna@example.com", "info@example.com"));
    EXPECT_TRUE(own("bob@example.com", "info@example.com"));
    EXPECT_FALSE(own("anna@example.com", "forward@example.com"));
    EXPECT_FALSE(own("dora@other.example", "team@example.com"));
}

TEST_F(SenderPolicyTest, AnAliasNamedLikeTheUserDoesNotTakeTheAddressAway) {
    populate();
    ASSERT_TRUE(dir->add_alias("anna@example.com", {"bob@example.com"}));
    EXPECT_TRUE(own("anna@example.com", "anna@example.com"));
    EXPECT_TRUE(own("bob@example.com", "anna@example.com"));  // bob receives anna's mail
    EXPECT_TRUE(own("anna@example.com", "anna+x@example.com"));
    EXPECT_TRUE(own("bob@example.com", "anna+x@example.com"));
}

TEST_F(SenderPolicyTest, CatchAllCoversOnlyAddressesNobodyElseHas) {
    populate();
    ASSERT_TRUE(dir->add_alias("@example.com", {"anna@example.com"}));
    ASSERT_TRUE(dir->add_alias("list@example.com", {"bob@example.com"}));
    EXPECT_TRUE(own("anna@example.com", "anything@example.com"));
    EXPECT_TRUE(own("anna@example.com", "Whatever.Else@example.net"));
    EXPECT_TRUE(own("anna@example.com", "\"two words\"@example.com"));
    EXPECT_FALSE(own("anna@example.com", "bob@example.com"));
    EXPECT_FALSE(own("anna@example.com", "list@example.com"));
    EXPECT_FALSE(own("anna@example.com", "anything@other.example"));
    EXPECT_FALSE(own("bob@example.com", "anything@example.com"));
}

TEST_F(SenderPolicyTest, DomainPolicy) {
    populate();
    EXPECT_TRUE(check("anna@example.com", "anyone@example.com", P::Domain));
    EXPECT_TRUE(check("anna@example.com", "bob@EXAMPLE.com", P::Domain));
    EXPECT_TRUE(check("anna@example.com", "noreply@example.net", P::Domain));
    EXPECT_TRUE(check("anna@example.net", "noreply@example.com", P::Domain));
    EXPECT_FALSE(check("anna@example.com", "dora@other.example", P::Domain));
    EXPECT_FALSE(check("anna@example.com", "x@elsewhere.example", P::Domain));
    EXPECT_FALSE(check("anna@example.com", "bad local@example.com", P::Domain));
    EXPECT_FALSE(check("nobody@example.com", "anyone@example.com", P::Domain));
}

TEST_F(SenderPolicyTest, AnyPolicyAndNullReversePath) {
    populate();
    EXPECT_TRUE(check("anna@example.com", "president@elsewhere.example", P::Any));
    EXPECT_TRUE(check("anna@example.com", "dora@other.example", P::Any));
    for (const auto policy : {P::Own, P::Domain, P::Any}) {
        EXPECT_TRUE(check("anna@example.com", "<>", policy));
        EXPECT_TRUE(check("anna@example.com", "", policy));
    }
}

TEST_F(SenderPolicyTest, UnknownAccountsAndInvalidAddressesAreRefused) {
    populate();
    EXPECT_FALSE(own("nobody@example.com", "nobody@example.com"));
    EXPECT_FALSE(own("anna@example.com", "anna"));
    EXPECT_FALSE(own("anna@example.com", "@example.com"));
    EXPECT_FALSE(own("anna@example.com", "anna@"));
    EXPECT_FALSE(own("anna@example.com", "anna@bad_domain.example"));
    EXPECT_FALSE(own("anna@example.com", "<anna@example.com"));
    EXPECT_FALSE(own("anna@example.com", "anna@[192.0.2.1]"));
    EXPECT_FALSE(own("not an address", "anna@example.com"));
}

TEST_F(SenderPolicyTest, AliasLoopIsAnErrorToDefer) {
    populate();
    ASSERT_TRUE(dir->add_alias("loop1@example.com", {"loop2@example.com"}));
    ASSERT_TRUE(dir->add_alias("loop2@example.com", {"loop1@example.com"}));
    auto r = dir->may_send_as("anna@example.com", "loop1@example.com", P::Own);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::AliasLoop);
    // The own address does not go through the resolution.
    EXPECT_TRUE(own("anna@example.com", "anna@example.com"));
}

}  // namespace
}  // namespace sov::accounts
