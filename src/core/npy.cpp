#include "core/npy.h"

#include <cstring>

#include "core/error.h"
#include "core/file_io.h"

namespace llada {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::as_f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  if (descr == "<f4") {
    std::memcpy(out.data(), data.data(), out.size() * 4);
  } else if (descr == "<f8") {
    for (size_t i = 0; i < out.size(); ++i) {
      double d;
      std::memcpy(&d, data.data() + 8 * i, 8);
      out[i] = float(d);
    }
  } else {
    fail("npy: cannot read dtype " + descr + " as float32");
  }
  return out;
}

std::vector<int64_t> NpyArray::as_i64() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (descr == "<i8") {
      std::memcpy(&out[i], data.data() + 8 * i, 8);
    } else if (descr == "<i4") {
      int32_t v;
      std::memcpy(&v, data.data() + 4 * i, 4);
      out[i] = v;
    } else if (descr == "|u1" || descr == "|b1") {
      out[i] = data[i];
    } else {
      fail("npy: cannot read dtype " + descr + " as integers");
    }
  }
  return out;
}

static void write_npy(const std::string& path, const void* data, size_t elem, const char* descr,
                      const std::vector<int64_t>& shape) {
  std::string sh = "(";
  size_t n = 1;
  for (auto d : shape) {
    sh += std::to_string(d) + ",";
    n *= size_t(d);
  }
  if (shape.size() > 1) sh.pop_back();
  sh += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + sh + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  write_file_atomic(path, [&](std::FILE* f) {
    const char magic[] = "\x93NUMPY\x01\x00";
    std::fwrite(magic, 1, 8, f);
    uint16_t hl = uint16_t(header.size());
    std::fwrite(&hl, 2, 1, f);
    std::fwrite(header.data(), 1, header.size(), f);
    LLADA_CHECK(std::fwrite(data, elem, n, f) == n, "%s: short write", path.c_str());
  });
}

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy(path, data, 4, "<f4", shape);
}
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape) {
  write_npy(path, data, 4, "<i4", shape);
}

NpyArray read_npy(const std::string& path) {
  std::string s = read_file(path);
  LLADA_CHECK(s.size() >= 10 && std::memcmp(s.data(), "\x93NUMPY", 6) == 0, "%s: not a .npy file",
              path.c_str());
  int major = uint8_t(s[6]);
  size_t hl, off;
  if (major == 1) {
    hl = uint8_t(s[8]) | size_t(uint8_t(s[9])) << 8;
    off = 10;
  } else {
    LLADA_CHECK(s.size() >= 12, "%s: truncated header", path.c_str());
    hl = uint8_t(s[8]) | size_t(uint8_t(s[9])) << 8 | size_t(uint8_t(s[10])) << 16 |
         size_t(uint8_t(s[11])) << 24;
    off = 12;
  }
  LLADA_CHECK(off + hl <= s.size(), "%s: truncated header", path.c_str());
  std::string h = s.substr(off, hl);
  NpyArray a;
  auto field = [&](const char* key) {
    size_t p = h.find(key);
    LLADA_CHECK(p != std::string::npos, "%s: header lacks %s", path.c_str(), key);
    return p + std::strlen(key);
  };
  size_t p = field("'descr':");
  size_t q1 = h.find('\'', p), q2 = h.find('\'', q1 + 1);
  LLADA_CHECK(q1 != std::string::npos && q2 != std::string::npos, "%s: bad descr", path.c_str());
  a.descr = h.substr(q1 + 1, q2 - q1 - 1);
  p = field("'fortran_order':");
  LLADA_CHECK(h.compare(h.find_first_not_of(' ', p), 5, "False") == 0,
              "%s: fortran_order arrays are not supported", path.c_str());
  p = field("'shape':");
  size_t l = h.find('(', p), r = h.find(')', p);
  LLADA_CHECK(l != std::string::npos && r != std::string::npos, "%s: bad shape", path.c_str());
  std::string dims = h.substr(l + 1, r - l - 1);
  size_t i = 0;
  while (i < dims.size()) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    size_t j = i;
    while (j < dims.size() && dims[j] >= '0' && dims[j] <= '9') ++j;
    LLADA_CHECK(j > i, "%s: bad shape", path.c_str());
    a.shape.push_back(std::stoll(dims.substr(i, j - i)));
    i = j;
  }
  size_t elem = a.descr.size() >= 3 ? size_t(std::stoi(a.descr.substr(2))) : 0;
  LLADA_CHECK(elem > 0, "%s: bad descr %s", path.c_str(), a.descr.c_str());
  size_t bytes = size_t(a.numel()) * elem;
  LLADA_CHECK(off + hl + bytes <= s.size(), "%s: truncated data (%zu bytes expected)", path.c_str(),
              bytes);
  a.data.assign(s.begin() + long(off + hl), s.begin() + long(off + hl + bytes));
  return a;
}

}  // namespace llada
