// File access that never trusts the disk: read-only memory maps that know their size, whole-file
// reads with errors that name the path, and atomic writes (temporary file in the same directory,
// fsync, rename) so a crash never leaves a half-written checkpoint behind.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace llada {

class MappedFile {
 public:
  // Throws llada::Error naming `path` if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

std::string read_file(const std::string& path);
// The first `n` bytes (fewer when the file is shorter).
std::string read_file_prefix(const std::string& path, size_t n);
bool file_exists(const std::string& path);
void make_dirs(const std::string& path);

// Calls write(fd-backed FILE*) into `path + ".tmp.<pid>"`, then fsyncs and renames over `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write);
void write_file_atomic(const std::string& path, std::string_view contents);

}  // namespace llada
