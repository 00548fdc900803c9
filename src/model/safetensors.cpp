// safetensors reading and writing. Reading trusts nothing: the header length, the JSON, every
// dtype, shape and offset are checked against the buffer before a tensor view is handed out, with
// the same rules as the reference (Rust) implementation: tensors tile the data section exactly,
// with no gaps, overlaps or trailing bytes.
//
// Alignment: tensor data starts at 8 + header_len + begin. Writers (ours, HF's) pad the header to a
// multiple of 8, but nothing forces begin to be a multiple of the element size, so a view may be
// only 2-byte (BF16) or even 1-byte aligned. Views are returned as they are; callers that need
// natural alignment (weights.cpp) check and copy.
#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace llada {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we (a lying length field must
// not make us parse gigabytes).
constexpr uint64_t kMaxHeader = 100u << 20;

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

struct Parsed {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // 8 + header length
};

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative JSON integer (no floats, no negatives), for shapes and offsets.
bool as_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = uint64_t(v.get<int64_t>());
    return true;
  }
  return false;
}

Parsed parse_buffer(const uint8_t* data, size_t size, const std::string& name) {
  const char* f = name.c_str();
  LLADA_CHECK(size >= 8,
              "%s: not a safetensors file: %zu bytes, shorter than the 8-byte header length", f,
              size);
  const uint64_t hlen = read_le64(data);
  LLADA_CHECK(
      hlen <= size - 8,
      "%s: header length %llu runs past the end of the file (%zu bytes): truncated or corrupt", f,
      (unsigned long long)hlen, size);
  LLADA_CHECK(hlen <= kMaxHeader, "%s: header length %llu exceeds the 100 MB limit", f,
              (unsigned long long)hlen);
  LLADA_CHECK(hlen >= 2 && data[8] == '{',
              "%s: header does not start with '{' (header length %llu): not a safetensors file", f,
              (unsigned long long)hlen);
  const char* text = reinterpret_cast<const char*>(data + 8);

  // Duplicate tensor names would make nlohmann keep the last one silently: catch them while
  // parsing.
  std::set<std::string> seen;
  auto on_event = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1) {
      const std::string& key = parsed.get_ref<const std::string&>();
      LLADA_CHECK(seen.insert(key).second, "%s: tensor '%s' appears twice in the header", f,
                  key.c_str());
    }
    return true;
  };
  // Trailing spaces are the padding the format allows; the parser skips whitespace itself.
  json h = json::parse(text, text + hlen, on_event, /*allow_exceptions=*/false);
  LLADA_CHECK(!h.is_discarded(), "%s: header is not valid JSON (header length %llu)", f,
              (unsigned long long)hlen);
  LLADA_CHECK(h.is_object(), "%s: header is JSON but not an object", f);

  Parsed out;
  out.data_start = 8 + hlen;
  const uint64_t data_size = size - out.data_start;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      LLADA_CHECK(v.is_object(), "%s: '__metadata__' must be an object of strings", f);
      for (auto m = v.begin(); m != v.end(); ++m) {
        LLADA_CHECK(m.value().is_string(), "%s: '__metadata__' entry '%s' must be a string", f,
                    m.key().c_str());
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const char* t = key.c_str();
    LLADA_CHECK(!key.empty(), "%s: a tensor has an empty name", f);
    LLADA_CHECK(v.is_object(), "%s: tensor '%s': entry must be an object, found %s", f, t,
                v.type_name());
    for (auto k = v.begin(); k != v.end(); ++k)
      LLADA_CHECK(k.key() == "dtype" || k.key() == "shape" || k.key() == "data_offsets",
                  "%s: tensor '%s': unexpected field '%s'", f, t, k.key().c_str());
    Entry e;
    e.name = key;

    LLADA_CHECK(v.contains("dtype") && v["dtype"].is_string(),
                "%s: tensor '%s': missing or non-string 'dtype'", f, t);
    const std::string dt = v["dtype"].get<std::string>();
    LLADA_CHECK(
        dtype_from_name(dt, &e.dtype),
        "%s: tensor '%s': unknown or unsupported dtype '%s' (supported: F32, BF16, F16, I32, "
        "I64, U8, I8)",
        f, t, dt.c_str());

    LLADA_CHECK(v.contains("shape") && v["shape"].is_array(),
                "%s: tensor '%s': missing 'shape' array", f, t);
    const json& sh = v["shape"];
    LLADA_CHECK(sh.size() <= 8, "%s: tensor '%s': %zu dimensions (at most 8 supported)", f, t,
                sh.size());
    // numel * element size must fit: bound by the data section, checked with division.
    uint64_t nbytes = dtype_size(e.dtype);
    for (const json& d : sh) {
      uint64_t n = 0;
      LLADA_CHECK(as_u64(d, &n),
                  "%s: tensor '%s': shape %s has an entry that is not a non-negative "
                  "integer",
                  f, t, sh.dump().c_str());
      LLADA_CHECK(n <= uint64_t(INT64_MAX), "%s: tensor '%s': dimension %llu too large", f, t,
                  (unsigned long long)n);
      e.shape.push_back(int64_t(n));
      if (nbytes != 0 && n != 0 && nbytes > data_size / n)
        fail(strformat(
            "%s: tensor '%s': shape %s needs more bytes than the data section holds (%llu): "
            "truncated or corrupt",
            f, t, sh.dump().c_str(), (unsigned long long)data_size));
      nbytes *= n;
    }

    LLADA_CHECK(
        v.contains("data_offsets") && v["data_offsets"].is_array() && v["data_offsets"].size() == 2,
        "%s: tensor '%s': 'data_offsets' must be an array [begin, end]", f, t);
    const json& off = v["data_offsets"];
    LLADA_CHECK(as_u64(off[0], &e.begin) && as_u64(off[1], &e.end),
                "%s: tensor '%s': data_offsets %s must be non-negative integers", f, t,
                off.dump().c_str());
    LLADA_CHECK(e.begin <= e.end, "%s: tensor '%s': data_offsets %s end before they begin", f, t,
                off.dump().c_str());
    LLADA_CHECK(
        e.end <= data_size,
        "%s: tensor '%s': data_offsets %s run past the data section (%llu bytes): truncated "
        "or corrupt",
        f, t, off.dump().c_str(), (unsigned long long)data_size);
    LLADA_CHECK(e.end - e.begin == nbytes,
                "%s: tensor '%s': data_offsets %s hold %llu bytes but %s %s needs %llu", f, t,
                off.dump().c_str(), (unsigned long long)(e.end - e.begin), dt.c_str(),
                sh.dump().c_str(), (unsigned long long)nbytes);
    out.entries.push_back(std::move(e));
  }

  // The tensors must tile [0, data_size) exactly, as the reference implementation requires.
  std::vector<const Entry*> order;
  for (const Entry& e : out.entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : order) {
    if (e->begin < pos)
      fail(strformat("%s: tensor '%s' overlaps tensor '%s' (data_offsets [%llu, %llu])", f,
                     e->name.c_str(), prev->name.c_str(), (unsigned long long)e->begin,
                     (unsigned long long)e->end));
    if (e->begin > pos)
      fail(strformat("%s: tensor '%s' starts at %llu, leaving a gap after byte %llu", f,
                     e->name.c_str(), (unsigned long long)e->begin, (unsigned long long)pos));
    pos = e->end;
    prev = e;
  }
  LLADA_CHECK(pos == data_size,
              "%s: %llu bytes after the last tensor are not described by the header (data section "
              "%llu bytes, tensors end at %llu)",
              f, (unsigned long long)(data_size - pos), (unsigned long long)data_size,
              (unsigned long long)pos);
  return out;
}

bool is_float(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F16; }

}  // namespace

void SafetensorsFile::validate_buffer(const uint8_t* data, size_t size, const std::string& name) {
  parse_buffer(data, size, name);
}

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
  LLADA_ASSERT(file);
  Parsed p = parse_buffer(file->data(), file->size(), file->path());
  SafetensorsFile st;
  st.path = file->path();
  st.file = file;
  st.metadata = std::move(p.metadata);
  std::shared_ptr<void> keep = file;
  for (Entry& e : p.entries) {
    Tensor t;
    t.name = e.name;
    t.shape = std::move(e.shape);
    t.dtype = e.dtype;
    // A zero-byte tensor may sit at the very end of the data section: still a valid address.
    t.data = const_cast<uint8_t*>(file->data() + p.data_start + e.begin);
    t.keepalive = keep;
    st.tensors.emplace(e.name, std::move(t));
  }
  return st;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  LLADA_CHECK(file_exists(path), "%s: file not found", path.c_str());
  return parse(MappedFile::open(path));
}

void write_safetensors(const std::string& path, const std::vector<const Tensor*>& tensors,
                       DType dtype, const std::map<std::string, std::string>& metadata) {
  // Each tensor's stored dtype: `dtype` for float tensors, its own otherwise (ids stay ids).
  auto out_type = [&](const Tensor* t) {
    return is_float(t->dtype) && is_float(dtype) ? dtype : t->dtype;
  };
  // Tensors whose size is a multiple of 64 bytes first, each group by name: with the data starting
  // at a multiple of 64, each of those starts 64-byte aligned in the mapping, which the packed
  // kernels need to use stored panels in place (and any reader's vector loads like). The format has
  // no padding between tensors, so this order is the only way to align them.
  auto aligned_size = [&](const Tensor* t) { return uint64_t(t->numel()) * dtype_size(out_type(t)) % 64 == 0; };
  std::vector<const Tensor*> sorted(tensors);
  std::sort(sorted.begin(), sorted.end(), [&](const Tensor* a, const Tensor* b) {
    const bool aa = aligned_size(a), ab = aligned_size(b);
    return aa != ab ? aa : a->name < b->name;
  });

  json h = json::object();
  json meta = json::object();
  meta["format"] = "pt";  // transformers refuses files without it
  for (auto& [k, v] : metadata) meta[k] = v;
  h["__metadata__"] = meta;
  uint64_t off = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Tensor* t = sorted[i];
    LLADA_CHECK(!t->name.empty() && t->name != "__metadata__", "%s: invalid tensor name '%s'",
                path.c_str(), t->name.c_str());
    LLADA_CHECK(i == 0 || sorted[i - 1]->name != t->name, "%s: tensor '%s' given twice",
                path.c_str(), t->name.c_str());
    LLADA_CHECK(t->data || t->numel() == 0, "%s: tensor '%s' has no data", path.c_str(),
                t->name.c_str());
    const DType ot = out_type(t);
    const uint64_t n = uint64_t(t->numel()) * dtype_size(ot);
    h[t->name] = {{"dtype", dtype_name(ot)}, {"shape", t->shape}, {"data_offsets", {off, off + n}}};
    off += n;
  }
  std::string header = h.dump();
  header.append((64 - (8 + header.size()) % 64) % 64, ' ');  // data then starts 64-byte aligned

  write_file_atomic(path, [&](std::FILE* fp) {
    auto put = [&](const void* p, size_t n) {
      LLADA_CHECK(std::fwrite(p, 1, n, fp) == n, "%s: write failed (disk full?)", path.c_str());
    };
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
    put(len, 8);
    put(header.data(), header.size());
    // Convert in chunks through f32 so a 16 GB checkpoint never needs a second full copy.
    constexpr size_t kChunk = size_t(1) << 20;
    std::vector<float> f32;
    std::vector<uint8_t> buf;
    for (const Tensor* t : sorted) {
      const DType ot = out_type(t);
      const size_t n = size_t(t->numel());
      if (ot == t->dtype) {
        put(t->data, n * dtype_size(ot));
        continue;
      }
      f32.resize(std::min(n, kChunk));
      buf.resize(std::min(n, kChunk) * dtype_size(ot));
      const size_t in_sz = dtype_size(t->dtype);
      for (size_t i = 0; i < n; i += kChunk) {
        const size_t m = std::min(kChunk, n - i);
        convert_to_f32(f32.data(), static_cast<const uint8_t*>(t->data) + i * in_sz, t->dtype, m);
        convert_from_f32(buf.data(), ot, f32.data(), m);
        put(buf.data(), m * dtype_size(ot));
      }
    }
  });
}

}  // namespace llada
