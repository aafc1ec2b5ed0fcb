#pragma once
// Validation of a DMARC aggregate report against the RFC 9990 Appendix A schema
// (tests/conformance/reports/rfc9990.xsd), with libxml2. For tests that link libxml2 (mailauth
// and everything above it).
#include <fstream>
#include <iterator>
#include <string>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

namespace sov::test {

/// libxml2's messages for `xml` against the schema; empty when the document is valid.
inline std::string rfc9990_schema_errors(const std::string& xml) {
    static std::string errors;  // the error callback has no user pointer we control cheaply
    errors.clear();
    std::ifstream in(std::string(SOV_CONFORMANCE_DIR) + "/reports/rfc9990.xsd", std::ios::binary);
    const std::string xsd{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    xmlSchemaParserCtxtPtr pctx =
        xmlSchemaNewMemParserCtxt(xsd.data(), static_cast<int>(xsd.size()));
    xmlSchemaPtr schema = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    if (schema == nullptr) {
        return "schema did not parse";
    }
    xmlSchemaValidCtxtPtr vctx = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(
        vctx,
        [](void*, xmlErrorPtr error) {
            if (error != nullptr && error->message != nullptr) {
                errors += error->message;
            }
        },
        nullptr
    );
    xmlDocPtr doc =
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET);
    const int rc = doc == nullptr ? -1 : xmlSchemaValidateDoc(vctx, doc);
    if (doc != nullptr) {
        xmlFreeDoc(doc);
    }
    xmlSchemaFreeValidCtxt(vctx);
    xmlSchemaFree(schema);
    if (rc != 0 && errors.empty()) {
        errors = "invalid (rc " + std::to_string(rc) + ")";
    }
    return errors;
}

}  // namespace sov::test
