// Left-to-right decoding of a causal model (the AR baseline's shape: the shipped model's config with
// "causal": true, random weights): 128 new tokens over the KV cache against recomputing the whole
// prefix at every step (GenerateOptions::ar_recompute), in one run; tokens/s in the counters.
// Run: OMP_NUM_THREADS=2 build/<dir>/bench/bench_ar_decode [model-config.json]
// (default: models/llada-poetry/config.json beside the source tree)
#include <benchmark/benchmark.h>

#include <algorithm>

#include <string>

#include "model/config.h"
#include "model/model.h"
#include "model/weights.h"
#include "sample/ar_generate.h"

using namespace llada;
using namespace llada::sample;

namespace {

std::string g_config = std::string(LLADA_BENCH_SOURCE_DIR) + "/models/llada-poetry/config.json";

const Model& causal_model() {
  static Model m = [] {
    Model x;
    x.cfg = ModelConfig::load(g_config);
    x.cfg.causal = true;
    // The shipped model's shape with room for a 32-token prompt and 128 new tokens (its own
    // max_sequence_length is 128; the weights are random, so the limit is only a length).
    x.cfg.max_sequence_length = std::max<int64_t>(x.cfg.max_sequence_length, 256);
    x.w = Weights::allocate(x.cfg, DType::F32);
    init_weights(x.w, x.cfg, 7, 0.02f);
    x.pack_for_inference();
    return x;
  }();
  return m;
}

void BM_ArDecode(benchmark::State& st) {
  const Model& m = causal_model();
  SpecialIds sp;
  sp.mask = int32_t(m.cfg.mask_token_id);
  sp.eos = int32_t(m.cfg.eos_token_id);
  sp.eot = -1;
  sp.pad = 0;
  sp.vocab = m.cfg.vocab_size;
  sp.max_len = m.cfg.max_sequence_length;
  GenerateOptions o;
  o.gen_length = st.range(0);
  o.logits_eos_inf = true;  // never stop early: every run decodes all gen_length tokens
  o.ar_recompute = st.range(1) != 0;
  const int64_t B = st.range(2);
  std::vector<std::vector<int32_t>> prompts(size_t(B), std::vector<int32_t>(32));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < 32; ++t) prompts[size_t(b)][size_t(t)] = int32_t(100 + 7 * t + b);
  int64_t tokens = 0;
  for (auto _ : st) {
    const GenerateResult r = generate_autoregressive(m, prompts, sp, o);
    tokens += B * o.gen_length;
    benchmark::DoNotOptimize(r.tokens.data());
  }
  st.counters["tok/s"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  st.SetLabel(o.ar_recompute ? "recompute" : "kv-cache");
}

}  // namespace

// Args: new tokens, recompute (0/1), batch.
BENCHMARK(BM_ArDecode)->Args({128, 0, 1})->Args({128, 1, 1})->Args({128, 0, 8})->Args({128, 1, 8})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc > 1) g_config = argv[1];
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
