// SFT samples for the trainer: the data layer's sample file and loader (sft_data.h) behind the
// DataSource interface.
#include "core/error.h"
#include "train/data_source.h"
#include "train/sft_data.h"

namespace llada::train {

namespace {

class SftSource : public DataSource {
 public:
  SftSource(const std::string& file, int64_t T, bool heldout, uint64_t seed)
      : data_(SftDataset::open(file, /*verify=*/true)), loader_(data_, seed, /*shuffle=*/!heldout) {
    LLADA_CHECK(data_->size() > 0, "%s: holds no SFT samples", file.c_str());
    LLADA_CHECK(data_->max_length() <= T,
                "%s: the longest SFT sample has %lld tokens but seq_len is %lld (raise seq_len or "
                "prepare shorter samples)",
                file.c_str(), (long long)data_->max_length(), (long long)T);
  }
  void next_sft(int64_t B, SftSample* out) override {
    const auto& batch = loader_.next_batch(B);
    LLADA_ASSERT(int64_t(batch.size()) == B);
    for (int64_t i = 0; i < B; ++i) out[i] = batch[size_t(i)];
  }
  int64_t last_batch_max() const override { return loader_.batch_max_length(); }
  nlohmann::json state() const override { return nlohmann::json::parse(loader_.state().to_json()); }
  void set_state(const nlohmann::json& s) override { loader_.set_state(SftLoaderState::from_json(s.dump())); }
  void check_vocab(int64_t vocab_size) const override {
    LLADA_CHECK(data_->vocab_size() <= vocab_size,
                "%s: SFT vocabulary (%lld) is larger than the model's vocab_size (%lld): prepared with a "
                "different tokenizer?",
                data_->path().c_str(), (long long)data_->vocab_size(), (long long)vocab_size);
  }

 private:
  std::shared_ptr<SftDataset> data_;
  SftLoader loader_;
};

}  // namespace

std::unique_ptr<DataSource> open_sft_source(const std::vector<std::string>& files, int64_t T, bool heldout,
                                            uint64_t seed) {
  LLADA_CHECK(files.size() == 1, "data: the sft objective reads one SFT sample file, got %zu paths",
              files.size());
  return std::make_unique<SftSource>(files[0], T, heldout, seed);
}

}  // namespace llada::train
