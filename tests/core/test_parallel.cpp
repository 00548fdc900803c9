// ParallelErrors: an exception thrown by one iteration of an OpenMP loop reaches the caller after
// the region (uncaught inside the region it would terminate the process).
#include <gtest/gtest.h>

#include <atomic>

#include "core/error.h"
#include "core/parallel.h"

namespace llada {
namespace {

TEST(ParallelErrors, TheFirstErrorOfARegionIsRethrownAfterIt) {
  ParallelErrors errors;
  std::atomic<int> ran{0};
#pragma omp parallel for schedule(static) num_threads(2)
  for (int i = 0; i < 64; ++i) {
    errors.run([&] {
      ++ran;
      if (i == 37) fail("iteration 37 failed");
    });
  }
  EXPECT_EQ(ran.load(), 64);  // the other iterations still ran
  try {
    errors.rethrow();
    FAIL() << "expected the iteration's error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "iteration 37 failed");
  }
  ParallelErrors none;
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 8; ++i) none.run([] {});
  EXPECT_NO_THROW(none.rethrow());
}

}  // namespace
}  // namespace llada
