#include "train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace llada::train {

namespace fs = std::filesystem;

namespace {
bool is_checkpoint_name(const std::string& n) { return n.rfind("step-", 0) == 0; }
}  // namespace

RunDirectory::RunDirectory(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  created_ = !fs::exists(dir, ec);
  fs::create_directories(dir, ec);
  LLADA_CHECK(!ec && fs::is_directory(dir), "--out %s: cannot create the run directory (%s)", dir.c_str(),
              ec ? ec.message().c_str() : "not a directory");
  const std::string lock = (fs::path(dir) / ".lock").string();
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  LLADA_CHECK(fd_ >= 0, "%s: cannot open the run lock (%s)", lock.c_str(), std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    fail(strformat("--out %s: another llada train (pid %s) is running in this directory; wait for it or "
                   "choose another --out",
                   dir.c_str(), n > 0 ? std::string(buf, size_t(n)).c_str() : "unknown"));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

RunDirectory::~RunDirectory() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
  std::error_code ec;
  if (!created_) return;
  // Left with nothing but the lock: the run failed before writing anything.
  bool only_lock = true;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.path().filename() != ".lock") only_lock = false;
  if (!ec && only_lock) fs::remove_all(dir_, ec);
}

bool RunDirectory::holds_run() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string n = e.path().filename().string();
    if (n == "metrics.jsonl" || n == "latest" || n == "final" || (is_checkpoint_name(n) && n.find(".tmp.") == std::string::npos))
      return true;
  }
  return false;
}

void RunDirectory::clear_run() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string n = e.path().filename().string();
    if (n == "metrics.jsonl" || n == "latest" || n == "final" || n == "config.json" || is_checkpoint_name(n))
      fs::remove_all(e.path(), ec);
  }
}

int RunDirectory::remove_partial_checkpoints() const {
  std::error_code ec;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string n = e.path().filename().string();
    if (is_checkpoint_name(n) && n.find(".tmp.") != std::string::npos) {
      fs::remove_all(e.path(), ec);
      ++removed;
    }
  }
  return removed;
}

}  // namespace llada::train
