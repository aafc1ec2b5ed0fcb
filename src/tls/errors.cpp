#include "tls/errors.hpp"

#include <string>

namespace sov::tls {
namespace {

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "sov.tls"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok:
                return "ok";
            case Errc::NoRecord:
                return "no policy record published";
            case Errc::MultipleRecords:
                return "more than one policy record published";
            case Errc::Syntax:
                return "syntax error";
            case Errc::BadVersion:
                return "missing or unsupported version";
            case Errc::MissingField:
                return "required field missing";
            case Errc::BadMode:
                return "invalid MTA-STS mode";
            case Errc::BadMaxAge:
                return "invalid MTA-STS max_age";
            case Errc::BadMx:
                return "invalid MTA-STS mx pattern";
            case Errc::BadUri:
                return "invalid TLS-RPT report URI";
            case Errc::NoSupportedUri:
                return "no TLS-RPT report URI with a supported scheme";
            case Errc::TooLarge:
                return "input too large";
            case Errc::BadJson:
                return "malformed JSON";
            case Errc::BadReport:
                return "JSON does not match the TLS-RPT report schema";
            case Errc::BadGzip:
                return "corrupt gzip data";
            case Errc::OutputTooLarge:
                return "decompressed data exceeds the limit";
            case Errc::Invalid:
                return "invalid argument";
            case Errc::FetchFailed:
                return "MTA-STS policy fetch failed";
            case Errc::FetchTimeout:
                return "MTA-STS policy fetch timed out";
            case Errc::CertificateInvalid:
                return "certificate not valid for the host (PKIX)";
            case Errc::BadStatus:
                return "HTTP status other than 200";
            case Errc::BadContentType:
                return "media type is not text/plain";
            case Errc::CacheFailed:
                return "MTA-STS policy cache unavailable";
        }
        return "unknown tls error";
    }
};

}  // namespace

const std::error_category& tls_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace sov::tls
