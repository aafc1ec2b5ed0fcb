# Every dependency is a Debian 12 package (tools/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(fmt REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(IDN2 REQUIRED IMPORTED_TARGET libidn2)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(UNBOUND REQUIRED IMPORTED_TARGET libunbound)
# DMARC aggregate reports (RFC 9990) are XML: read with libxml2 (no network, no entities).
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
if(SOV_TESTS)
    find_package(GTest REQUIRED)
    # The SPF and ARC conformance suites are YAML; only the tests read them.
    pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
endif()
