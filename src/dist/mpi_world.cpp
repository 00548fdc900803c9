#include "dist/mpi_world.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "core/sys.h"

namespace llada::dist {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(strformat("MPI %s failed: %.*s", what, len, msg));
}

}  // namespace

std::unique_ptr<MpiWorld> MpiWorld::from_launcher() {
  if (!launched_by_mpi()) return nullptr;
  return std::unique_ptr<MpiWorld>(new MpiWorld());
}

MpiWorld::MpiWorld() {
  int provided = 0;
  // Only the main thread calls MPI (OpenMP threads never do).
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // A failed call returns here and becomes a llada::Error naming it; the command then aborts the
  // job (abort()) so that no rank waits for a partner that is gone.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
        "MPI_Comm_split_type");
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

MpiWorld::~MpiWorld() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiWorld::abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

void MpiWorld::sum(float* data, size_t n, double* scalar) {
  // The barrier separates waiting for the slowest rank from the exchange itself.
  const double tw = now_seconds();
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  const double t0 = now_seconds();
  seconds_waiting_ += t0 - tw;
  const bool power_of_two = (size_ & (size_ - 1)) == 0;
  if (power_of_two) {
    scratch_.resize(std::min(n, kBucketFloats));
    for (int level = 1; level < size_; level <<= 1) {
      const int partner = rank_ ^ level;
      for (size_t lo = 0; lo < n; lo += kBucketFloats) {
        const int m = int(std::min(kBucketFloats, n - lo));
        check(MPI_Sendrecv(data + lo, m, MPI_FLOAT, partner, level, scratch_.data(), m, MPI_FLOAT, partner, level,
                           MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "MPI_Sendrecv (gradient sum)");
        float* d = data + lo;
        const float* s = scratch_.data();
#pragma omp parallel for schedule(static) if (m > 65536)
        for (int i = 0; i < m; ++i) d[i] += s[i];
      }
      double other = 0;
      check(MPI_Sendrecv(scalar, 1, MPI_DOUBLE, partner, level, &other, 1, MPI_DOUBLE, partner, level, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE),
            "MPI_Sendrecv (loss sum)");
      *scalar += other;
    }
  } else {
    for (size_t lo = 0; lo < n; lo += kBucketFloats) {
      const int m = int(std::min(kBucketFloats, n - lo));
      check(MPI_Allreduce(MPI_IN_PLACE, data + lo, m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce (gradients)");
    }
    check(MPI_Allreduce(MPI_IN_PLACE, scalar, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce (loss)");
  }
  seconds_in_sum_ += now_seconds() - t0;
}

bool MpiWorld::any(bool flag) {
  int v = flag ? 1 : 0;
  check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "MPI_Allreduce (stop request)");
  return v != 0;
}

}  // namespace llada::dist
