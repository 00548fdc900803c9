// The frame shared by the binary data files (.tok token shards, .sft sample files): a 64-byte
// header (8-byte magic, u32 version at 8, u32 token width at 12, the format's own fields in
// 16..47, the body's checksum at 48, the header's own at 56), then the body. One writer and one
// set of checks, so the two formats fail the same way on a truncated, foreign or corrupted file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace llada::train::frame {

constexpr size_t kHeaderBytes = 64;
constexpr size_t kOffVersion = 8, kOffDtype = 12, kOffBodySum = 48, kOffHeaderSum = 56;

struct Format {
  const char* magic;  // 8 bytes, not NUL-terminated
  uint32_t version;
  const char* kind;    // "token shard": starts the messages
  const char* a_kind;  // "a token shard": "not a token shard (bad magic ...)"
};

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }
template <typename T>
void put(uint8_t* h, size_t off, T v) {
  std::memcpy(h + off, &v, sizeof(T));
}
template <typename T>
T get(const uint8_t* h, size_t off) {
  T v;
  std::memcpy(&v, h + off, sizeof(T));
  return v;
}

// Fills the magic, version, token width and both checksums of `header` (whose own fields the
// caller has set) and writes header and body atomically.
void write(const std::string& path, const Format& f, uint8_t* header, uint32_t dtype_bytes,
           const std::vector<uint8_t>& body);
// Checks the size, magic, version and header checksum of a mapped file; returns the token width.
uint32_t check_header(const uint8_t* d, size_t size, const Format& f, const char* path);
// Checks the body against its checksum (a full read).
void check_body(const uint8_t* d, size_t size, const Format& f, const char* path);

}  // namespace llada::train::frame
