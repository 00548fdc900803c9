#include "train/data_source.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "train/shards.h"

namespace llada::train {

namespace fs = std::filesystem;
using nlohmann::json;

void DataSource::next_tokens(int64_t, int64_t, int32_t*) {
  fail("this data source holds SFT samples, not token shards (objective sft needs sft data)");
}
void DataSource::next_sft(int64_t, SftSample*) {
  fail("this data source holds token shards, not SFT samples (the sft objective needs `llada prepare` SFT output)");
}

std::vector<std::string> expand_data_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    LLADA_CHECK(fs::exists(p), "data: %s does not exist", p.c_str());
    if (fs::is_directory(p)) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file() && (e.path().extension() == ".tok" || e.path().extension() == ".bin"))
          files.push_back(e.path().string());
      LLADA_CHECK(!files.empty(), "data: directory %s holds no .tok or .bin shard files", p.c_str());
      std::sort(files.begin(), files.end());
      out.insert(out.end(), files.begin(), files.end());
    } else {
      out.push_back(p);
    }
  }
  return out;
}

namespace {

struct DataFingerprint {
  std::string path;
  uint64_t bytes = 0;
  uint64_t checksum = 0;
};

std::vector<DataFingerprint> fingerprint_files(const std::vector<std::string>& files) {
  std::vector<DataFingerprint> out;
  for (const std::string& f : files) {
    DataFingerprint d;
    d.path = f;
    std::error_code ec;
    d.bytes = fs::file_size(f, ec);
    LLADA_CHECK(!ec, "data: %s: cannot read its size (%s)", f.c_str(), ec.message().c_str());
    const std::string head = read_file_prefix(f, 64);
    d.checksum = checksum64(reinterpret_cast<const uint8_t*>(head.data()), head.size(), d.bytes);
    out.push_back(d);
  }
  return out;
}

json fingerprints_json(const std::vector<DataFingerprint>& f) {
  json a = json::array();
  for (const auto& d : f) a.push_back({{"path", d.path}, {"bytes", d.bytes}, {"checksum", strformat("%016llx", (unsigned long long)d.checksum)}});
  return a;
}

}  // namespace

json check_disjoint_data(const std::vector<std::string>& train_paths,
                         const std::vector<std::string>& heldout_paths) {
  for (const std::string& p : train_paths) {
    if (!fs::is_directory(p)) continue;
    for (const char* name : {"heldout.tok", "heldout.sft"})
      LLADA_CHECK(!fs::exists(fs::path(p) / name),
                  "data.train: directory %s holds %s, the held-out split `llada prepare --heldout-fraction` "
                  "wrote: training on it would leak the held-out set into training; list the training "
                  "file(s) (e.g. %s) instead of the directory",
                  p.c_str(), name, (fs::path(p) / (std::string(name) == "heldout.tok" ? "train.tok" : "train.sft")).string().c_str());
  }
  const auto train = fingerprint_files(expand_data_paths(train_paths));
  const auto held = heldout_paths.empty() ? std::vector<DataFingerprint>{}
                                          : fingerprint_files(expand_data_paths(heldout_paths));
  for (const auto& t : train)
    for (const auto& h : held) {
      std::error_code ec;
      LLADA_CHECK(!fs::equivalent(t.path, h.path, ec),
                  "data: %s is both training and held-out data", t.path.c_str());
      LLADA_CHECK(!(t.bytes == h.bytes && t.checksum == h.checksum),
                  "data: training file %s and held-out file %s hold the same data", t.path.c_str(),
                  h.path.c_str());
    }
  return {{"train", fingerprints_json(train)}, {"heldout", fingerprints_json(held)}};
}

namespace {

class ShardSource : public DataSource {
 public:
  ShardSource(const std::vector<std::string>& files, int64_t L, WindowMode mode, uint64_t seed) {
    for (const auto& f : files) shards_.push_back(TokenShard::open(f, /*verify=*/true));
    reader_ = std::make_unique<WindowReader>(shards_, L, mode, seed);
  }
  void next_tokens(int64_t B, int64_t L, int32_t* out) override {
    LLADA_ASSERT(L == reader_->seq_len());
    reader_->next_batch(B, out);
  }
  json state() const override { return json::parse(reader_->state().to_json()); }
  void set_state(const json& s) override { reader_->set_state(WindowState::from_json(s.dump())); }
  void check_vocab(int64_t vocab_size) const override {
    for (const auto& s : shards_)
      LLADA_CHECK(s->vocab_size() <= vocab_size,
                  "%s: token shard vocabulary (%lld) is larger than the model's vocab_size (%lld): "
                  "prepared with a different tokenizer?",
                  s->path().c_str(), (long long)s->vocab_size(), (long long)vocab_size);
  }

 private:
  std::vector<std::shared_ptr<TokenShard>> shards_;
  std::unique_ptr<WindowReader> reader_;
};

}  // namespace

std::unique_ptr<DataSource> open_sft_source(const std::vector<std::string>& files, int64_t T, bool heldout,
                                            uint64_t seed);

std::unique_ptr<DataSource> open_data_source(const TrainConfig& cfg, const std::vector<std::string>& paths,
                                             bool heldout, uint64_t seed) {
  const auto files = expand_data_paths(paths);
  if (cfg.objective == Objective::Sft) return open_sft_source(files, cfg.seq_len, heldout, seed);
  const WindowMode mode = heldout ? WindowMode::Sequential : window_mode_from_name(cfg.window);
  return std::make_unique<ShardSource>(files, cfg.seq_len, mode, seed);
}

std::unique_ptr<DataSource> open_sft_mix_source(const TrainConfig& cfg, uint64_t seed) {
  const auto files = expand_data_paths(cfg.sft_mix_data);
  LLADA_CHECK(files.size() == 1, "sft_mix.train: one SFT sample file (llada prepare --sft), got %zu paths",
              files.size());
  return open_sft_source(files, cfg.seq_len, /*heldout=*/false, seed);
}

}  // namespace llada::train
