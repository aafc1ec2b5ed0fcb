#include "roles/store_setup.hpp"

#include "mime/serialize.hpp"
#include "mime/structure.hpp"
#include "mime/text.hpp"

namespace sov::roles {

store::StoreOptions make_store_options(const core::Config& config) {
    store::StoreOptions options;
    options.data_dir = config.data_dir;
    options.structure_of = [](std::string_view bytes) {
        return mime::serialize(mime::parse_message(bytes));
    };
    options.text_of = [](std::string_view bytes) {
        auto text = mime::folded_searchable_text(bytes);
        return store::IndexedText{.headers = std::move(text.headers), .body = std::move(text.body)};
    };
    return options;
}

}  // namespace sov::roles
