// A libFuzzer stand-in for compilers without -fsanitize=fuzzer (GCC): replays files and corpus
// directories through LLVMFuzzerTestOneInput, then runs random (coverage-blind) mutations of them.
// It accepts the libFuzzer flags it implements: -runs=N -seed=S -max_total_time=SEC -max_len=N.
// On a crash (sanitizer report or escaping exception) the input is saved as ./crash-<run>.
#include <sanitizer/common_interface_defs.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> g_current;  // the input being run, saved if it crashes
uint64_t g_run = 0;

void save_current() {
  std::string name = "crash-" + std::to_string(g_run);
  if (std::FILE* f = std::fopen(name.c_str(), "wb")) {
    std::fwrite(g_current.data(), 1, g_current.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "standalone_driver: input saved as %s (%zu bytes)\n", name.c_str(),
                 g_current.size());
  }
}

void run_one(const std::vector<uint8_t>& in) {
  g_current = in;
  // An exact-size heap copy, so ASan sees any read past the end.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[in.size() ? in.size() : 1]);
  if (!in.empty()) std::memcpy(buf.get(), in.data(), in.size());
  LLVMFuzzerTestOneInput(buf.get(), in.size());
  ++g_run;
}

// clang-format off
const char* kDict[] = {"{", "}", "[", "]", ",", ":", "\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"",
                       "\"F32\"", "\"BF16\"", "\"F16\"", "\"I64\"", "\"U8\"", "\"__metadata__\"", "-1",
                       "0", "18446744073709551615", "9223372036854775807", "4294967296", "1e3", "null",
                       "true", "\"\\u0000\"", "[0,0]"};
// clang-format on

void mutate(std::vector<uint8_t>& v, std::mt19937_64& rng, size_t max_len) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  const int n_mut = 1 + int(rng() % 4);
  for (int m = 0; m < n_mut; ++m) {
    switch (rng() % 9) {
      case 0:  // flip a bit
        if (!v.empty()) v[pick(v.size())] ^= uint8_t(1u << (rng() % 8));
        break;
      case 1:  // random byte
        if (!v.empty()) v[pick(v.size())] = uint8_t(rng());
        break;
      case 2:  // insert bytes
        v.insert(v.begin() + long(pick(v.size() + 1)), 1 + pick(8), uint8_t(rng()));
        break;
      case 3: {  // delete a range
        if (v.empty()) break;
        size_t a = pick(v.size()), n = 1 + pick(std::min<size_t>(16, v.size() - a));
        v.erase(v.begin() + long(a), v.begin() + long(a + n));
        break;
      }
      case 4:  // truncate
        v.resize(pick(v.size() + 1));
        break;
      case 5: {  // rewrite the length prefix: near the truth or anything
        if (v.size() < 8) break;
        uint64_t h = 0;
        std::memcpy(&h, v.data(), 8);
        h = (rng() % 2) ? h + int64_t(rng() % 17) - 8 : rng();
        std::memcpy(v.data(), &h, 8);
        break;
      }
      case 6: {  // change a number in the header
        std::vector<size_t> digits;
        for (size_t i = 8; i < v.size() && i < 4096; ++i)
          if (v[i] >= '0' && v[i] <= '9') digits.push_back(i);
        if (digits.empty()) break;
        size_t at = digits[pick(digits.size())];
        std::string num = std::to_string(rng() % 3 == 0 ? rng() : rng() % 64);
        v[at] = uint8_t(num[0]);
        v.insert(v.begin() + long(at) + 1, num.begin() + 1, num.end());
        break;
      }
      case 7: {  // insert a dictionary token
        const char* t = kDict[pick(std::size(kDict))];
        v.insert(v.begin() + long(pick(v.size() + 1)), t, t + std::strlen(t));
        break;
      }
      case 8: {  // duplicate a range
        if (v.empty()) break;
        size_t a = pick(v.size()), n = 1 + pick(std::min<size_t>(64, v.size() - a));
        std::vector<uint8_t> part(v.begin() + long(a), v.begin() + long(a + n));
        v.insert(v.begin() + long(pick(v.size() + 1)), part.begin(), part.end());
        break;
      }
    }
  }
  if (v.size() > max_len) v.resize(max_len);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 100000, seed = 1;
  double max_time = 0;
  size_t max_len = 8192;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&](const char* flag) { return a.substr(std::strlen(flag)); };
    if (a.rfind("-runs=", 0) == 0)
      runs = std::stoull(num("-runs="));
    else if (a.rfind("-seed=", 0) == 0)
      seed = std::stoull(num("-seed="));
    else if (a.rfind("-max_total_time=", 0) == 0)
      max_time = std::stod(num("-max_total_time="));
    else if (a.rfind("-max_len=", 0) == 0)
      max_len = std::stoull(num("-max_len="));
    else if (a.rfind("-", 0) == 0)
      std::fprintf(stderr, "standalone_driver: ignoring flag %s\n", a.c_str());
    else {
      std::vector<std::filesystem::path> files;
      if (std::filesystem::is_directory(a)) {
        for (auto& e : std::filesystem::directory_iterator(a))
          if (e.is_regular_file()) files.push_back(e.path());
      } else {
        files.push_back(a);
      }
      for (auto& p : files) {
        std::ifstream f(p, std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      }
    }
  }
  __sanitizer_set_death_callback(save_current);
  std::set_terminate([] {
    std::fprintf(stderr, "standalone_driver: uncaught exception\n");
    save_current();
    std::abort();
  });

  for (auto& c : corpus) run_one(c);
  std::fprintf(stderr, "standalone_driver: replayed %zu corpus inputs\n", corpus.size());
  if (corpus.empty()) corpus.push_back({});
  std::mt19937_64 rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0;
  for (; done < runs; ++done) {
    if (max_time > 0 && (done & 1023) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > max_time)
      break;
    std::vector<uint8_t> v = corpus[size_t(rng() % corpus.size())];
    mutate(v, rng, max_len);
    run_one(v);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "standalone_driver: %llu mutated inputs in %.1f s (seed %llu), no crash\n",
               (unsigned long long)done, secs, (unsigned long long)seed);
  return 0;
}
