// libFuzzer target for the tokenizer (build with clang -fsanitize=fuzzer,address; see docs/tokenizer.md):
// the encoder must never crash and must round-trip any bytes; tokenizer.json input must load or fail
// with llada::Error. The same checks run deterministically in ctest (tests/tokenizer/test_fuzz_driver.cpp).
#include "../tokenizer/fuzz_tokenizer_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llada::fuzz::fuzz_one(data, size);
  return 0;
}
