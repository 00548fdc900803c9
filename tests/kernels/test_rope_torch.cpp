// rope_tables against PyTorch's float32 recipe (the model reference computes
// inv_freq = 1/(theta**(arange(0,hd,2).float()/hd)) and angle = pos.float()[:,None]*inv_freq in
// float32, then cos/sin in float32). Our angles are bit-identical; torch's float sin/cos is not
// correctly rounded, so we allow 1 ulp. Skips when python3-torch is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/ops.h"

namespace llada::kernels {
namespace {

int ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return (a == b) ? 0 : 1 << 30;
  return std::abs(ia - ib);
}

TEST(RopeTorch, TablesWithinOneUlpOfTorch) {
  // One python start (importing torch is the slow part) writes every case into one file.
  const std::string out = "/tmp/llada_rope_torch_" + std::to_string(getpid()) + ".bin";
  const struct {
    int64_t T, hd;
    double theta;
  } cases[] = {{4096, 128, 500000.0}, {2048, 64, 10000.0}};
  std::string args;
  for (const auto& c : cases)
    args += " " + std::to_string(c.T) + "," + std::to_string(c.hd) + "," + std::to_string(c.theta);
  const std::string script =
      "import sys, torch\n"
      "parts = []\n"
      "for spec in sys.argv[2:]:\n"
      "    T, hd, theta = spec.split(\",\")\n"
      "    T, hd, theta = int(T), int(hd), float(theta)\n"
      "    inv = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))\n"
      "    ang = torch.arange(T).float()[:, None] * inv[None, :]\n"
      "    parts += [ang.cos().flatten(), ang.sin().flatten()]\n"
      "torch.cat(parts).numpy().tofile(sys.argv[1])\n";
  const std::string cmd =
      std::string(LLADA_PYTHON) + " -c '" + script + "' " + out + args + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    // torch is a test dependency (scripts/install_deps.sh installs python3-torch): its absence is
    // a broken set-up, not a reason to skip the independent check.
    const std::string probe = std::string(LLADA_PYTHON) + " -c 'import torch' 2>/dev/null";
    if (std::system(probe.c_str()) != 0)
      FAIL() << LLADA_PYTHON << " cannot import torch: install python3-torch (scripts/install_deps.sh)";
    FAIL() << "the torch script failed: " << cmd;
  }
  std::ifstream f(out, std::ios::binary);
  for (const auto& c : cases) {
    const size_t n = size_t(c.T * c.hd / 2);
    std::vector<float> ref(2 * n);
    f.read(reinterpret_cast<char*>(ref.data()), std::streamsize(ref.size() * 4));
    ASSERT_TRUE(f.good()) << "short read from " << out;
    std::vector<float> cs(n), sn(n);
    rope_tables(cs.data(), sn.data(), c.T, c.hd, c.theta);
    int worst = 0;
    for (size_t i = 0; i < n; ++i) {
      worst = std::max(worst, ulp_distance(cs[i], ref[i]));
      worst = std::max(worst, ulp_distance(sn[i], ref[n + i]));
      ASSERT_LE(std::fabs(cs[i] - ref[i]), 1.2e-7) << "cos index " << i << " hd " << c.hd;
      ASSERT_LE(std::fabs(sn[i] - ref[n + i]), 1.2e-7) << "sin index " << i << " hd " << c.hd;
    }
    EXPECT_LE(worst, 1) << "hd " << c.hd;
  }
  std::remove(out.c_str());
}

}  // namespace
}  // namespace llada::kernels
