// `llada quantize`: a model directory with int8 weights (model/quantize.h) that every inference
// command loads (info, logits, generate, chat, eval, likelihood, serve, bench); training refuses it.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/sys.h"
#include "model/model.h"
#include "model/quantize.h"

namespace {

struct QuantizeFlags {
  std::string model, out, type = "int8", layout = "panels";
  bool force = false;
  int threads = 0;
};

llada::cli::Registration reg(
    "quantize", "write a model with int8 or 4-bit weights for faster, smaller inference (--model DIR --out DIR)",
    [](CLI::App& app) {
      auto f = std::make_shared<QuantizeFlags>();
      app.add_option("--model", f->model, "model directory with float weights")->required();
      app.add_option("--out", f->out, "directory for the quantized model")->required();
      app.add_option("--type", f->type,
                     "int8 (one scale per output channel) or q4 (4-bit, a bf16 scale per group of 32 inputs)");
      app.add_option("--layout", f->layout,
                     "panels (the kernels' layout: loads without repacking) or rows (row-major int8, "
                     "for other tools)");
      app.add_flag("--force", f->force, "replace a model already in --out");
      app.add_option("--threads", f->threads, "OpenMP threads (0: default)");
      return [f]() -> int {
        using namespace llada;
        namespace fs = std::filesystem;
        LLADA_CHECK(f->type == "int8" || f->type == "q4", "--type must be int8 or q4, got '%s'", f->type.c_str());
        LLADA_CHECK(f->layout == "panels" || (f->layout == "rows" && f->type == "int8"),
                    "--layout must be panels or rows (rows: int8 only), got '%s' for --type %s", f->layout.c_str(),
                    f->type.c_str());
        LLADA_CHECK(fs::weakly_canonical(f->model) != fs::weakly_canonical(f->out),
                    "--out %s is the --model directory: write the quantized model beside it", f->out.c_str());
        LLADA_CHECK(f->force || !fs::exists(fs::path(f->out) / "config.json"),
                    "--out %s already holds a model: pass --force to replace it", f->out.c_str());
        set_num_threads(f->threads);
        const double t0 = now_seconds();
        const Model m = Model::load(f->model);
        save_quantized(f->out, m, f->type, f->layout);
        // The tokenizer travels with the weights so the directory is a complete model.
        for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                 "generation_config.json"}) {
          const fs::path src = fs::path(f->model) / name;
          if (fs::exists(src)) write_file_atomic((fs::path(f->out) / name).string(), read_file(src.string()));
        }
        std::printf("quantized %s -> %s (%s) in %.1f s\n", f->model.c_str(), f->out.c_str(), f->type.c_str(),
                    now_seconds() - t0);
        return 0;
      };
    });

}  // namespace
