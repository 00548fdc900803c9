#include "core/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace llada {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LLADA_CHECK(fd >= 0, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(strformat("%s: not a regular file", path.c_str()));
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = size_t(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail(strformat("%s: mmap failed: %s", path.c_str(), std::strerror(e)));
    }
    f->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  LLADA_CHECK(f, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  bool err = std::ferror(f);
  std::fclose(f);
  LLADA_CHECK(!err, "%s: read error", path.c_str());
  return s;
}

std::string read_file_prefix(const std::string& path, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  LLADA_CHECK(f, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
  std::string s(n, '\0');
  const size_t got = std::fread(s.data(), 1, n, f);
  const bool err = std::ferror(f);
  std::fclose(f);
  LLADA_CHECK(!err, "%s: read error", path.c_str());
  s.resize(got);
  return s;
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  LLADA_CHECK(!ec, "%s: cannot create directory: %s", path.c_str(), ec.message().c_str());
}

void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  LLADA_CHECK(f, "%s: cannot create: %s", tmp.c_str(), std::strerror(errno));
  try {
    write(f);
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0 && !std::ferror(f);
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail(strformat("%s: write failed: %s", path.c_str(), std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    fail(strformat("%s: rename failed: %s", path.c_str(), std::strerror(e)));
  }
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  write_file_atomic(path, [&](std::FILE* f) {
    LLADA_CHECK(std::fwrite(contents.data(), 1, contents.size(), f) == contents.size(),
                "%s: short write", path.c_str());
  });
}

}  // namespace llada
