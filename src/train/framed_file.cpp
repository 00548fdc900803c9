#include "train/framed_file.h"

#include <cstdio>

#include "core/error.h"
#include "core/file_io.h"
#include "train/shards.h"

namespace llada::train::frame {

void write(const std::string& path, const Format& f, uint8_t* h, uint32_t dtype_bytes,
           const std::vector<uint8_t>& body) {
  std::memcpy(h, f.magic, 8);
  put<uint32_t>(h, kOffVersion, f.version);
  put<uint32_t>(h, kOffDtype, dtype_bytes);
  put<uint64_t>(h, kOffBodySum, checksum64(body.data(), body.size()));
  put<uint64_t>(h, kOffHeaderSum, checksum64(h, kOffHeaderSum));
  write_file_atomic(path, [&](std::FILE* out) {
    LLADA_CHECK(std::fwrite(h, 1, kHeaderBytes, out) == kHeaderBytes &&
                    std::fwrite(body.data(), 1, body.size(), out) == body.size(),
                "%s: write failed", path.c_str());
  });
}

uint32_t check_header(const uint8_t* d, size_t size, const Format& f, const char* p) {
  LLADA_CHECK(size >= kHeaderBytes, "%s: %s truncated: %zu bytes, the header alone is %zu", p, f.kind, size,
              kHeaderBytes);
  LLADA_CHECK(std::memcmp(d, f.magic, 8) == 0, "%s: not %s (bad magic; expected %.8s)", p, f.a_kind, f.magic);
  const uint32_t version = get<uint32_t>(d, kOffVersion);
  LLADA_CHECK(version == f.version, "%s: %s version %u, this build reads version %u", p, f.kind, version,
              f.version);
  LLADA_CHECK(get<uint64_t>(d, kOffHeaderSum) == checksum64(d, kOffHeaderSum),
              "%s: %s header is corrupted (header checksum mismatch)", p, f.kind);
  return get<uint32_t>(d, kOffDtype);
}

void check_body(const uint8_t* d, size_t size, const Format& f, const char* p) {
  LLADA_CHECK(get<uint64_t>(d, kOffBodySum) == checksum64(d + kHeaderBytes, size - kHeaderBytes),
              "%s: %s is corrupted (checksum mismatch)", p, f.kind);
}

}  // namespace llada::train::frame
