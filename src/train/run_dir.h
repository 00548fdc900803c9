// The rules of a run directory (`llada train --out DIR`):
//   - one process at a time: an exclusive lock on DIR/.lock, held for the run's lifetime (a second
//     trainer into the same directory is an error naming the holder's pid);
//   - an earlier run is never silently replaced: a directory holding one (metrics, checkpoints,
//     final/) needs --resume (continue it) or --force (remove it first);
//   - half-written checkpoints of killed runs (step-N.tmp.PID) are removed on start and resume;
//   - a directory this run created and left empty (the run failed before writing anything) is
//     removed again.
#pragma once
#include <string>

namespace llada::train {

class RunDirectory {
 public:
  // Creates DIR if needed and locks it. Throws naming DIR when another process holds the lock.
  explicit RunDirectory(const std::string& dir);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // Whether DIR holds an earlier run's files.
  bool holds_run() const;
  // --force: removes the earlier run's files (metrics, checkpoints, final/, config.json, latest).
  void clear_run() const;
  // Removes step-*.tmp.* folders left by killed runs; returns how many.
  int remove_partial_checkpoints() const;

 private:
  std::string dir_;
  int fd_ = -1;
  bool created_ = false;
};

}  // namespace llada::train
