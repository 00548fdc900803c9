// Writing a tokenizer back out: the tokenizer.json it was loaded from (or built by the trainer) and its
// tokenizer_config.json, each written atomically.
#include "core/file_io.h"
#include "tokenizer/tokenizer_impl.h"

namespace llada {

std::string Tokenizer::to_json() const { return impl_->json.dump(2, ' ', false) + "\n"; }

std::string Tokenizer::config_to_json() const { return impl_->config.dump(2, ' ', false) + "\n"; }

void Tokenizer::save(const std::string& dir) const {
  make_dirs(dir);
  write_file_atomic(dir + "/tokenizer.json", to_json());
  write_file_atomic(dir + "/tokenizer_config.json", config_to_json());
}

}  // namespace llada
