// `llada logits`: the logits of one sequence as a float32 [T, V] NumPy file. The debugging and
// cross-checking entry point: the same ids through tests/reference/ref_cli.py give the reference.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/sys.h"
#include "model/model.h"

namespace {

struct LogitsArgs {
  std::string model, ids, mask, out;
  bool causal = false;
  int threads = 0;
};

int run_logits(const LogitsArgs& o) {
  using namespace llada;
  set_num_threads(o.threads);
  const std::vector<int32_t> ids = cli::parse_int_list(o.ids, "--ids");
  std::vector<uint8_t> mask;
  if (!o.mask.empty()) {
    const std::vector<int32_t> m = cli::parse_int_list(o.mask, "--attention-mask");
    LLADA_CHECK(m.size() == ids.size(), "--attention-mask: %zu values, but --ids has %zu", m.size(),
                ids.size());
    for (size_t i = 0; i < m.size(); ++i) {
      LLADA_CHECK(m[i] == 0 || m[i] == 1, "--attention-mask: value %d at position %zu (must be 0 or 1)",
                  m[i], i);
      mask.push_back(uint8_t(m[i]));
    }
  }
  Model m = Model::load(o.model);
  m.pack_for_inference();  // the same inference path as generate
  const int64_t V = m.cfg.embedding_size, T = int64_t(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    LLADA_CHECK(ids[i] >= 0 && ids[i] < V,
                "--ids: id %d at position %zu is outside the vocabulary of %s (0..%lld)", ids[i], i,
                o.model.c_str(), (long long)V - 1);

  ForwardArgs a;
  a.B = 1;
  a.T = T;
  a.ids = ids.data();
  a.key_mask = mask.empty() ? nullptr : mask.data();
  a.causal = o.causal || m.cfg.causal;  // an AR-baseline model is causal without the flag
  Workspace ws;
  const float* logits = model_forward(m, a, ws);
  write_npy_f32(o.out, logits, {T, V});
  std::fprintf(stderr, "wrote %s: float32 [%lld, %lld]%s\n", o.out.c_str(), (long long)T,
               (long long)V, a.causal ? " (causal)" : "");
  return 0;
}

llada::cli::Registration reg(
    "logits", "Write the logits of one sequence as a float32 [T, V] .npy file", [](CLI::App& app) {
      auto o = std::make_shared<LogitsArgs>();
      app.add_option("--model", o->model, "model directory")->required();
      app.add_option("--ids", o->ids, "comma-separated token ids, e.g. 1,2,3")->required();
      app.add_option("--attention-mask", o->mask,
                     "comma-separated 0/1 per id (0 = padding key, never attended to)");
      app.add_flag("--causal", o->causal, "causal attention (autoregressive baseline)");
      app.add_option("--out", o->out, "output .npy file")->required();
      app.add_option("--threads", o->threads, "OpenMP threads (default: all)");
      return [o]() -> int { return run_logits(*o); };
    });

}  // namespace
