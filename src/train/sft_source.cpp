// SFT samples for the trainer (the data layer's sft_data.h behind the DataSource interface).
#include "core/error.h"
#include "train/data_source.h"

namespace llada::train {

std::unique_ptr<DataSource> open_sft_source(const std::vector<std::string>& files, int64_t T, bool heldout,
                                            uint64_t seed) {
  fail("sft data: the SFT sample reader is not wired in yet");
}

}  // namespace llada::train
