#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/arena.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/npy.h"
#include "core/rng.h"

using namespace llada;
namespace fs = std::filesystem;

static std::string temp_dir() {
  auto d = fs::temp_directory_path() / ("llada_core_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}

TEST(Rng, SeedReproducesAndStreamsDiffer) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    (void)c;
  }
  EXPECT_NE(Rng(1).next_u64(), Rng(2).next_u64());
  Rng s(7);
  auto st = s.state();
  double u1 = s.uniform();
  s.set_state(st);
  EXPECT_EQ(s.uniform(), u1);
}

TEST(Rng, UniformAndBelowAreUnbiased) {
  Rng r(123);
  const int n = 200000, k = 7;
  int counts[k] = {};
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    double u = r.uniform_open();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    counts[r.below(k)]++;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  double chi2 = 0, e = double(n) / k;
  for (int c : counts) chi2 += (c - e) * (c - e) / e;
  EXPECT_LT(chi2, 22.5);  // chi-square, 6 d.o.f., p = 0.001
}

TEST(Arena, CarvesAlignedAndFailsLoudlyWhenExhausted) {
  Arena a;
  a.reserve(1000);
  float* p = a.alloc<float>(3);
  float* q = a.alloc<float>(5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 64, 0u);
  EXPECT_THROW(a.alloc<float>(1000), Error);
  a.reset();
  EXPECT_EQ(a.used(), 0u);
}

TEST(Npy, RoundTripAndErrors) {
  std::string d = temp_dir();
  float data[6] = {1, 2, 3, 4, 5, 6.5f};
  write_npy_f32(d + "/a.npy", data, {2, 3});
  NpyArray a = read_npy(d + "/a.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.as_f32()[5], 6.5f);
  int32_t ids[3] = {7, -1, 9};
  write_npy_i32(d + "/b.npy", ids, {3});
  EXPECT_EQ(read_npy(d + "/b.npy").as_i64()[1], -1);
  write_file_atomic(d + "/bad.npy", std::string("not numpy"));
  try {
    read_npy(d + "/bad.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.npy"), std::string::npos);
  }
  EXPECT_THROW(read_npy(d + "/missing.npy"), Error);
  fs::remove_all(d);
}

TEST(FileIo, AtomicWriteLeavesNoTemporary) {
  std::string d = temp_dir();
  write_file_atomic(d + "/x.txt", std::string("hello"));
  EXPECT_EQ(read_file(d + "/x.txt"), "hello");
  int files = 0;
  for (auto& e : fs::directory_iterator(d)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  // A writer that throws leaves the old contents and no temporary behind.
  EXPECT_THROW(write_file_atomic(d + "/x.txt", [](std::FILE*) { fail("boom"); }), Error);
  EXPECT_EQ(read_file(d + "/x.txt"), "hello");
  files = 0;
  for (auto& e : fs::directory_iterator(d)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  auto mf = MappedFile::open(d + "/x.txt");
  EXPECT_EQ(mf->size(), 5u);
  EXPECT_THROW(MappedFile::open(d + "/nope"), Error);
  fs::remove_all(d);
}
