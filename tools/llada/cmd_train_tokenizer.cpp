// llada train-tokenizer: learn a byte-level BPE (or a char-level vocabulary) from text files and write
// tokenizer.json + tokenizer_config.json with the special tokens a diffusion model needs.
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "core/sys.h"
#include "tokenizer/tokenizer.h"

static llada::cli::Registration reg(
    "train-tokenizer", "Train a byte-level BPE or char-level tokenizer on text files", [](CLI::App& app) {
      auto opt = std::make_shared<llada::TrainOptions>();
      auto out = std::make_shared<std::string>();
      auto files = std::make_shared<std::vector<std::string>>();
      auto char_level = std::make_shared<bool>(false);
      app.add_option("--vocab-size", opt->vocab_size, "total vocabulary size, special tokens included")
          ->required();
      app.add_flag("--char-level", *char_level, "one token per character (+ byte fallback) instead of BPE");
      app.add_option("--min-frequency", opt->min_frequency,
                     "BPE: stop when the best pair is rarer; char level: drop rarer characters")
          ->capture_default_str();
      app.add_option("--out", *out, "output directory")->required();
      app.add_option("files", *files, "training text files")->required();
      return [=]() -> int {
        double t0 = llada::now_seconds();
        llada::Tokenizer tok =
            *char_level ? llada::train_char_level(*files, *opt) : llada::train_bpe(*files, *opt);
        tok.save(*out);
        llada::SpecialIds sp = tok.special();
        std::fprintf(stderr,
                     "wrote %s/tokenizer.json: %lld tokens (%s) in %.1f s; mask %d, bos %d, eos %d, eot %d\n",
                     out->c_str(), (long long)tok.vocab_size(), *char_level ? "char level" : "byte-level BPE",
                     llada::now_seconds() - t0, sp.mask, sp.bos, sp.eos, sp.eot);
        return 0;
      };
    });
