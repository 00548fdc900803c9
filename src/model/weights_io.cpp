// Model directory I/O: config.json + model.safetensors (or shards + index), loaded against the
// layout the config implies and written back atomically in the Hugging Face layout.
//
// Memory: by default a matrix whose file dtype is its in-memory dtype (BF16 or F32) is NOT copied:
// the Tensor points into the read-only mapping and keeps it alive. Such tensors must not be written
// (the pages are PROT_READ). With force_f32 or convert (the training paths) every tensor is copied
// into owned, writable, 64-byte-aligned memory. Norms are always copied to F32.
#include "model/weights_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/file_io.h"
#include "model/quantize.h"
#include "model/safetensors.h"
#include "kernels/packed_matmul.h"
#include "model/weights.h"

namespace llada {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const char* kSingle = "model.safetensors";
const char* kIndex = "model.safetensors.index.json";

std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

bool is_float(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F16; }

// Copy (with conversion) src's elements into a fresh owned tensor of dtype `to`, in parallel
// chunks.
Tensor convert_copy(const Tensor& src, DType to) {
  Tensor t = Tensor::zeros(src.name, src.shape, to);
  const size_t n = size_t(src.numel());
  const auto* in = static_cast<const uint8_t*>(src.data);
  auto* out = static_cast<uint8_t*>(t.data);
  const size_t isz = dtype_size(src.dtype), osz = dtype_size(to);
  constexpr size_t kChunk = size_t(1) << 14;
  const int64_t nchunks = int64_t((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (nchunks > 1)
  for (int64_t c = 0; c < nchunks; ++c) {
    const size_t lo = size_t(c) * kChunk, m = std::min(kChunk, n - lo);
    if (src.dtype == to) {
      std::memcpy(out + lo * osz, in + lo * isz, m * osz);  // also realigns unaligned views
    } else if (to == DType::F32) {
      convert_to_f32(reinterpret_cast<float*>(out) + lo, in + lo * isz, src.dtype, m);
    } else {
      float buf[kChunk];
      convert_to_f32(buf, in + lo * isz, src.dtype, m);
      convert_from_f32(out + lo * osz, to, buf, m);
    }
  }
  return t;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  Tensor t;
  t.shape = shape;
  return t.shape_str();
}

std::string list_names(const std::vector<std::string>& names, size_t max_shown = 5) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > max_shown) s += strformat(" and %zu more", names.size() - max_shown);
  return s;
}

}  // namespace

WeightFiles find_weight_files(const std::string& dir) {
  LLADA_CHECK(fs::is_directory(dir), "%s: model directory not found", dir.c_str());
  WeightFiles wf;
  const std::string single = join(dir, kSingle), index = join(dir, kIndex);
  if (file_exists(single)) {
    wf.files.push_back(single);
    return wf;
  }
  LLADA_CHECK(file_exists(index), "%s: no %s and no %s in the model directory", dir.c_str(),
              kSingle, kIndex);
  wf.index = index;
  json j = json::parse(read_file(index), nullptr, /*allow_exceptions=*/false);
  LLADA_CHECK(!j.is_discarded(), "%s: malformed JSON", index.c_str());
  LLADA_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
              "%s: field 'weight_map' (an object of tensor name -> file) is missing",
              index.c_str());
  std::set<std::string> shards;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    LLADA_CHECK(it.value().is_string(), "%s: weight_map entry '%s' must be a file name string",
                index.c_str(), it.key().c_str());
    const std::string file = it.value().get<std::string>();
    // A shard must be a plain file name inside the model directory: no paths, no "..".
    LLADA_CHECK(!file.empty() && file.find('/') == std::string::npos && file != "." && file != "..",
                "%s: weight_map entry '%s' names file '%s', which is not a plain file name in the "
                "model directory",
                index.c_str(), it.key().c_str(), file.c_str());
    wf.weight_map[it.key()] = file;
    shards.insert(file);
  }
  LLADA_CHECK(!shards.empty(), "%s: field 'weight_map' is empty", index.c_str());
  for (const std::string& s : shards) wf.files.push_back(join(dir, s));
  return wf;
}

namespace {

// A per-row tensor beside an int8 matrix (its scales or column sums): present, of the dtype and
// shape [rows]; marked used.
const Tensor& row_tensor(const std::string& name, DType dtype, const char* what, const Tensor& matrix,
                         int64_t rows, const char* path,
                         const std::map<std::string, std::pair<Tensor, std::string>>& found,
                         std::set<std::string>* used) {
  auto it = found.find(name);
  LLADA_CHECK(it != found.end(), "%s: tensor '%s' (the int8 %s of '%s', %s [%lld]) is missing", path, name.c_str(),
              what, matrix.name.c_str(), dtype_name(dtype), (long long)rows);
  const Tensor& t = it->second.first;
  LLADA_CHECK(t.dtype == dtype && t.shape == std::vector<int64_t>{rows},
              "%s: tensor '%s' is %s %s, expected %s [%lld] (one per row of '%s')", it->second.second.c_str(),
              name.c_str(), dtype_name(t.dtype), t.shape_str().c_str(), dtype_name(dtype), (long long)rows,
              matrix.name.c_str());
  used->insert(name);
  return t;
}

// A 4-bit matrix (model/quantize.h; stored in the kernels' layout only): the tensor, of logical
// shape `shape` and dtype Q4, is a view of the panels keyed by their address; its packed twin (the
// panels and scales used in place) goes to `prepacked` when given.
Tensor q4_tensor(const Tensor& src, const std::vector<int64_t>& shape, const char* path,
                 const std::map<std::string, std::pair<Tensor, std::string>>& found, std::set<std::string>* used,
                 kernels::PackedSet* prepacked) {
  const int64_t rows = shape[0], cols = shape[1];
  const std::vector<int64_t> want = kernels::PackedMatrix::q4_panel_shape(rows, cols);
  LLADA_CHECK(src.dtype == DType::U8 && src.shape == want,
              "%s: tensor '%s' is %s %s, expected U8 %s: the 4-bit panels (quantization_config.weight_dtype "
              "'q4') of a %s matrix", path, src.name.c_str(), dtype_name(src.dtype), src.shape_str().c_str(),
              shape_string(want).c_str(), shape_string(shape).c_str());
  const std::string sname = scale_name(src.name);
  const std::vector<int64_t> want_s = kernels::PackedMatrix::q4_scale_shape(rows, cols);
  auto it = found.find(sname);
  LLADA_CHECK(it != found.end(), "%s: tensor '%s' (the q4 scales of '%s', BF16 %s) is missing", path,
              sname.c_str(), src.name.c_str(), shape_string(want_s).c_str());
  const Tensor& sc = it->second.first;
  LLADA_CHECK(sc.dtype == DType::BF16 && sc.shape == want_s, "%s: tensor '%s' is %s %s, expected BF16 %s",
              it->second.second.c_str(), sname.c_str(), dtype_name(sc.dtype), sc.shape_str().c_str(),
              shape_string(want_s).c_str());
  used->insert(sname);
  // Every scale finite and non-negative (a sign bit or an all-ones exponent is a corrupt file).
  // (A branch-free count first, which vectorises: LLaDA-8B has 250 M scales.)
  const auto* s16 = static_cast<const uint8_t*>(sc.data);
  auto bad = [&](int64_t i) {
    uint16_t v;
    std::memcpy(&v, s16 + 2 * i, 2);
    return (v & 0x8000) != 0 || (v & 0x7f80) == 0x7f80;
  };
  const int64_t n = sc.numel();
  int64_t n_bad = 0;
  for (int64_t i = 0; i < n; ++i) n_bad += bad(i);
  for (int64_t i = 0; n_bad > 0 && i < n; ++i) {
    uint16_t v;
    std::memcpy(&v, s16 + 2 * i, 2);
    LLADA_CHECK(!bad(i), "%s: tensor '%s' element %lld: scale %g is not a finite non-negative number",
                it->second.second.c_str(), sname.c_str(), (long long)i, double(bf16_to_f32(v)));
  }
  Tensor q = src;
  q.shape = shape;
  q.dtype = DType::Q4;
  if (prepacked) {
    // The panels and the scales may lie in two shards: the packed matrix keeps both mappings.
    auto owner = std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(src.keepalive,
                                                                                            sc.keepalive);
    prepacked->add(q.data, kernels::PackedMatrix::wrap_q4_panels(static_cast<const uint8_t*>(src.data),
                                                                 static_cast<const bf16_t*>(sc.data), rows, cols,
                                                                 owner));
  }
  return q;
}

// An int8 matrix of a quantized model (model/quantize.h) with the logical shape `shape`. Layout
// "rows": the matrix stays a view of the mapping, its scales are copied into row_scales. Layout
// "panels": the tensor (a view of the panels, keyed by their address) gets its packed twin in
// `prepacked` when given (the panels used in place), so loading does not repack.
Tensor quantized_tensor(const Tensor& src, const std::vector<int64_t>& shape, const std::string& scheme,
                        const std::string& layout, const char* path, const std::map<std::string, std::pair<Tensor, std::string>>& found,
                        std::set<std::string>* used, kernels::PackedSet* prepacked) {
  const int64_t rows = shape[0], cols = shape[1];
  if (scheme == "q4") return q4_tensor(src, shape, path, found, used, prepacked);
  LLADA_CHECK(src.dtype == DType::I8,
              "%s: tensor '%s' has dtype %s, but config.json's quantization_config says int8 (I8)", path,
              src.name.c_str(), dtype_name(src.dtype));
  if (layout == "panels") {
    const std::vector<int64_t> want = kernels::PackedMatrix::int8_panel_shape(rows, cols);
    LLADA_CHECK(src.shape == want,
                "%s: tensor '%s' has shape %s, expected %s: the int8 panels (quantization_config.layout "
                "'panels') of a %s matrix", path, src.name.c_str(), src.shape_str().c_str(),
                shape_string(want).c_str(), shape_string(shape).c_str());
  } else {
    LLADA_CHECK(src.shape == shape, "%s: tensor '%s' has shape %s, expected %s from config.json", path,
                src.name.c_str(), src.shape_str().c_str(), shape_string(shape).c_str());
  }
  const Tensor& sc = row_tensor(scale_name(src.name), DType::F32, "scales", src, rows, path, found, used);
  auto scales = std::make_shared<Tensor>(convert_copy(sc, DType::F32));
  for (int64_t r = 0; r < scales->numel(); ++r)
    LLADA_CHECK(std::isfinite(scales->f32()[r]) && scales->f32()[r] >= 0,
                "%s: tensor '%s' row %lld: scale %g is not a finite non-negative number",
                found.at(sc.name).second.c_str(), sc.name.c_str(), (long long)r, double(scales->f32()[r]));
  Tensor q = src;
  q.shape = shape;
  if (layout == "panels") {
    const Tensor& cs = row_tensor(colsum_name(src.name), DType::I32, "column sums", src, rows, path, found, used);
    if (prepacked) {
      const Tensor sums = convert_copy(cs, DType::I32);  // realigned: safetensors promises no alignment
      prepacked->add(q.data, kernels::PackedMatrix::wrap_int8_panels(
                                 static_cast<const int8_t*>(src.data), static_cast<const int32_t*>(sums.data),
                                 scales->f32(), rows, cols, src.keepalive));
    }
    return q;
  }
  q.row_scales = std::move(scales);
  return q;
}

}  // namespace

void load_model_dir(const std::string& dir, ModelConfig* cfg_out, Weights* w_out,
                    const LoadOptions& opt, kernels::PackedSet* prepacked) {
  LLADA_CHECK(fs::is_directory(dir), "%s: model directory not found", dir.c_str());
  ModelConfig cfg = ModelConfig::load(join(dir, "config.json"));
  WeightFiles wf = find_weight_files(dir);
  LLADA_CHECK(!opt.convert || opt.convert_to == DType::F32 || opt.convert_to == DType::BF16,
              "load options: convert_to must be F32 or BF16, not %s", dtype_name(opt.convert_to));
  const bool copy_all = opt.force_f32 || opt.convert;
  LLADA_CHECK(cfg.quantization.empty() || !copy_all,
              "%s: the model holds %s weights (quantization_config in config.json), which serve inference "
              "only: training and conversion need the float model it was quantized from",
              dir.c_str(), cfg.quantization.c_str());

  // Every tensor of every file, with the file it came from (for error messages).
  std::map<std::string, std::pair<Tensor, std::string>> found;
  for (const std::string& path : wf.files) {
    SafetensorsFile st = SafetensorsFile::open(path);
    const std::string fname = fs::path(path).filename().string();
    for (auto& [name, t] : st.tensors) {
      if (!wf.index.empty()) {
        auto it = wf.weight_map.find(name);
        LLADA_CHECK(it != wf.weight_map.end(), "%s: tensor '%s' is not listed in %s", path.c_str(),
                    name.c_str(), wf.index.c_str());
        LLADA_CHECK(it->second == fname, "%s: tensor '%s' is here, but %s says it is in %s",
                    path.c_str(), name.c_str(), wf.index.c_str(), it->second.c_str());
      }
      auto [pos, fresh] = found.emplace(name, std::make_pair(t, path));
      LLADA_CHECK(fresh, "%s: tensor '%s' also appears in %s", path.c_str(), name.c_str(),
                  pos->second.second.c_str());
    }
  }
  for (auto& [name, file] : wf.weight_map)
    LLADA_CHECK(found.count(name), "%s: tensor '%s' is listed in the index but missing from %s",
                wf.index.c_str(), name.c_str(), join(dir, file).c_str());

  std::vector<Tensor> loaded;
  std::set<std::string> used;
  const std::string where = wf.index.empty() ? wf.files[0] : wf.index;
  for (const WeightInfo& spec : weight_layout(cfg)) {
    auto it = found.find(spec.name);
    const std::string want = shape_string(spec.shape);
    LLADA_CHECK(it != found.end(),
                "%s: tensor '%s' is missing (expected shape %s for config "
                "d_model=%lld n_layers=%lld%s)",
                where.c_str(), spec.name.c_str(), want.c_str(), (long long)cfg.d_model,
                (long long)cfg.n_layers, cfg.weight_tying ? ", tied head" : ", untied head");
    const Tensor& src = it->second.first;
    const char* path = it->second.second.c_str();
    used.insert(spec.name);
    if (!cfg.quantization.empty() && is_quantized_role(spec)) {
      loaded.push_back(
          quantized_tensor(src, spec.shape, cfg.quantization, cfg.quant_layout, path, found, &used, prepacked));
      continue;
    }
    LLADA_CHECK(is_float(src.dtype), "%s: tensor '%s' has dtype %s, expected F32, BF16 or F16%s", path,
                spec.name.c_str(), dtype_name(src.dtype),
                src.dtype == DType::I8 ? " (int8 weights need \"quantization_config\" in config.json: write them "
                                         "with `llada quantize`)" : "");
    LLADA_CHECK(src.shape == spec.shape,
                "%s: tensor '%s' has shape %s, expected %s from config.json", path,
                spec.name.c_str(), src.shape_str().c_str(), want.c_str());

    DType to;
    if (spec.is_norm())
      to = DType::F32;
    else if (opt.convert)
      to = opt.convert_to;
    else if (opt.force_f32 || src.dtype == DType::F16)
      to = DType::F32;
    else
      to = src.dtype;
    // Zero copy only when nobody will write (see the file comment) and the view is naturally
    // aligned: safetensors guarantees nothing beyond byte alignment, and typed loads of a
    // misaligned pointer are undefined behaviour even where the CPU tolerates them. (BF16 views
    // need only 2-byte alignment, which every HF writer gives; our kernels use unaligned loads.)
    const bool aligned = reinterpret_cast<uintptr_t>(src.data) % dtype_size(src.dtype) == 0;
    if (!spec.is_norm() && !copy_all && to == src.dtype && aligned)
      loaded.push_back(src);
    else
      loaded.push_back(convert_copy(src, to));
  }
  if (used.size() != found.size()) {
    std::vector<std::string> extra;
    for (auto& [name, v] : found)
      if (!used.count(name)) extra.push_back(name + " (in " + v.second + ")");
    fail(strformat("%s: %zu unexpected tensor(s) for this config.json%s: %s", dir.c_str(),
                   extra.size(),
                   cfg.weight_tying ? " (weight_tying is true: no separate head)" : "",
                   list_names(extra).c_str()));
  }
  *w_out = weights_from_list(cfg, std::move(loaded));
  *cfg_out = cfg;
}

void save_model_dir(const std::string& dir, const ModelConfig& cfg, const Weights& w, DType dtype,
                    size_t max_shard_bytes) {
  LLADA_CHECK(is_float(dtype), "save_model_dir: dtype must be F32, BF16 or F16, not %s",
              dtype_name(dtype));
  cfg.validate(join(dir, "config.json"));
  LLADA_CHECK(w.layers.size() == size_t(cfg.n_layers),
              "%s: weights have %zu layers, config has %lld", dir.c_str(), w.layers.size(),
              (long long)cfg.n_layers);
  // Check the weights match the config before anything is written.
  std::vector<const Tensor*> tensors;
  w.for_each([&](const Tensor& t) { tensors.push_back(&t); });
  const std::vector<WeightInfo> layout = weight_layout(cfg);
  LLADA_CHECK(layout.size() == tensors.size(),
              "%s: weights have %zu tensors, config implies %zu (weight_tying=%s)", dir.c_str(),
              tensors.size(), layout.size(), cfg.weight_tying ? "true" : "false");
  for (size_t i = 0; i < layout.size(); ++i) {
    const Tensor& t = *tensors[i];
    LLADA_CHECK(t.name == layout[i].name && t.shape == layout[i].shape,
                "%s: weight %zu is '%s' %s, expected '%s' %s from the config", dir.c_str(), i,
                t.name.c_str(), t.shape_str().c_str(), layout[i].name.c_str(),
                shape_string(layout[i].shape).c_str());
    LLADA_CHECK(!t.empty() || t.numel() == 0, "%s: weight '%s' has no data", dir.c_str(),
                t.name.c_str());
  }

  make_dirs(dir);
  write_file_atomic(join(dir, "config.json"), cfg.to_json().dump(2) + "\n");
  write_weight_files(dir, tensors, dtype, max_shard_bytes);
}

void write_weight_files(const std::string& dir, const std::vector<const Tensor*>& tensors, DType dtype,
                        size_t max_shard_bytes) {
  // Each tensor's stored dtype, as write_safetensors decides it.
  auto stored_bytes = [&](const Tensor* t) {
    return size_t(t->numel()) * dtype_size(is_float(t->dtype) && is_float(dtype) ? dtype : t->dtype);
  };
  // Greedy shards in canonical order; a tensor larger than the limit gets a shard of its own.
  std::vector<std::vector<const Tensor*>> shards(1);
  size_t bytes = 0, total = 0;
  for (const Tensor* t : tensors) {
    const size_t n = stored_bytes(t);
    if (!shards.back().empty() && bytes + n > max_shard_bytes) {
      shards.emplace_back();
      bytes = 0;
    }
    shards.back().push_back(t);
    bytes += n;
    total += n;
  }

  const std::string single = join(dir, kSingle), index = join(dir, kIndex);
  // Files of an earlier save that would shadow or confuse this one (load prefers
  // model.safetensors).
  std::vector<std::string> stale;
  if (file_exists(index)) {
    try {
      for (const std::string& f : find_weight_files(dir).files)
        if (fs::path(f).filename().string().starts_with("model-")) stale.push_back(f);
    } catch (const Error&) {
      // an unreadable old index: it is replaced below anyway
    }
  }

  if (shards.size() == 1) {
    write_safetensors(single, shards[0], dtype);
    std::error_code ec;
    fs::remove(index, ec);
    for (const std::string& f : stale) fs::remove(f, ec);
    return;
  }
  json wm = json::object();
  std::set<std::string> written;
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string name = strformat("model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    write_safetensors(join(dir, name), shards[s], dtype);
    written.insert(join(dir, name));
    for (const Tensor* t : shards[s]) wm[t->name] = name;
  }
  json j = {{"metadata", {{"total_size", total}}}, {"weight_map", wm}};
  write_file_atomic(index, j.dump(2) + "\n");
  std::error_code ec;
  fs::remove(single, ec);
  for (const std::string& f : stale)
    if (!written.count(f)) fs::remove(f, ec);
}

}  // namespace llada
