// safetensors reader/writer: round trips with dtype conversion, and every kind of bad file the
// reader must refuse with an error naming the file and the tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"
#include "model/safetensors.h"

namespace llada {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("st_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// A file with the given header text (length field computed) and `data_bytes` zero bytes of data.
std::string make_file(const std::string& name, const std::string& header, size_t data_bytes) {
  std::string b(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) b[i] = char(n >> (8 * i));
  b += header;
  b.append(data_bytes, '\0');
  std::string path = temp_path(name);
  write_raw(path, b);
  return path;
}

// Expects open(path) to throw an llada::Error whose message contains every needle.
void expect_open_error(const std::string& path, std::initializer_list<std::string> needles) {
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const std::string& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << msg << "\n  lacks: " << n;
  }
}

Tensor iota(const std::string& name, std::vector<int64_t> shape, float scale = 0.37f) {
  Tensor t = Tensor::zeros(name, std::move(shape), DType::F32);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = float(i) * scale - 3.0f;
  return t;
}

TEST(Safetensors, RoundTripF32KeepsValuesOrderAndMetadata) {
  Tensor b = iota("b.weight", {3, 5}), a = iota("a.weight", {7}, -1.5f);
  Tensor ids = Tensor::zeros("ids", {4}, DType::I32);
  for (int i = 0; i < 4; ++i) static_cast<int32_t*>(ids.data)[i] = 100 + i;
  std::string path = temp_path("rt_f32.safetensors");
  write_safetensors(path, {&b, &a, &ids}, DType::F32, {{"note", "hello"}});

  SafetensorsFile st = SafetensorsFile::open(path);
  ASSERT_EQ(st.tensors.size(), 3u);
  EXPECT_EQ(st.metadata.at("format"), "pt");
  EXPECT_EQ(st.metadata.at("note"), "hello");
  const Tensor& rb = st.tensors.at("b.weight");
  EXPECT_EQ(rb.dtype, DType::F32);
  EXPECT_EQ(rb.shape, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(std::memcmp(rb.data, b.data, b.nbytes()), 0);
  EXPECT_EQ(std::memcmp(st.tensors.at("a.weight").data, a.data, a.nbytes()), 0);
  EXPECT_EQ(st.tensors.at("ids").dtype, DType::I32);  // non-float tensors keep their dtype
  EXPECT_EQ(static_cast<int32_t*>(st.tensors.at("ids").data)[3], 103);
  // Sorted by name: a.weight comes first in the data section; header padded to 8 bytes.
  EXPECT_LT(st.tensors.at("a.weight").data, st.tensors.at("b.weight").data);
  uint64_t hlen = 0;
  std::memcpy(&hlen, st.file->data(), 8);
  EXPECT_EQ(hlen % 8, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(st.tensors.at("a.weight").data) % 8, 0u);
}

TEST(Safetensors, ConvertsF32ToBF16AndF16) {
  Tensor a = iota("x", {2, 9}, 0.1234567f);
  for (DType d : {DType::BF16, DType::F16}) {
    std::string path = temp_path(std::string("conv_") + dtype_name(d) + ".safetensors");
    write_safetensors(path, {&a}, d);
    SafetensorsFile st = SafetensorsFile::open(path);
    const Tensor& r = st.tensors.at("x");
    ASSERT_EQ(r.dtype, d);
    ASSERT_EQ(r.nbytes(), size_t(18 * 2));
    std::vector<float> back(18);
    convert_to_f32(back.data(), r.data, d, 18);
    for (int i = 0; i < 18; ++i) {
      float want = d == DType::BF16 ? bf16_to_f32(f32_to_bf16(a.f32()[i]))
                                    : f16_to_f32(f32_to_f16(a.f32()[i]));
      EXPECT_EQ(back[i], want) << i;
    }
    // And back up to f32 from the 16-bit file.
    std::string path2 = temp_path(std::string("conv2_") + dtype_name(d) + ".safetensors");
    write_safetensors(path2, {&r}, DType::F32);
    SafetensorsFile st2 = SafetensorsFile::open(path2);
    EXPECT_EQ(std::memcmp(st2.tensors.at("x").data, back.data(), 18 * 4), 0);
  }
}

TEST(Safetensors, EmptyFileOfTensorsAndZeroSizedTensor) {
  Tensor z = Tensor::zeros("z", {0, 4});
  Tensor a = iota("a", {2});
  std::string path = temp_path("zero.safetensors");
  write_safetensors(path, {&z, &a}, DType::F32);
  SafetensorsFile st = SafetensorsFile::open(path);
  EXPECT_EQ(st.tensors.at("z").numel(), 0);
  EXPECT_EQ(st.tensors.at("a").f32()[1], a.f32()[1]);
  std::string path2 = temp_path("none.safetensors");
  write_safetensors(path2, {}, DType::F32);
  EXPECT_TRUE(SafetensorsFile::open(path2).tensors.empty());
}

TEST(Safetensors, WriterRejectsDuplicateNames) {
  Tensor a = iota("same", {2}), b = iota("same", {3});
  EXPECT_THROW(write_safetensors(temp_path("dup_w.safetensors"), {&a, &b}, DType::F32), Error);
}

TEST(SafetensorsBad, MissingFile) {
  expect_open_error(temp_path("does_not_exist.safetensors"),
                    {"does_not_exist.safetensors", "not found"});
}

TEST(SafetensorsBad, TooShort) {
  std::string p = temp_path("short.safetensors");
  write_raw(p, "abc");
  expect_open_error(p, {"short.safetensors", "3 bytes"});
  write_raw(p, "");
  expect_open_error(p, {"short.safetensors"});
}

TEST(SafetensorsBad, HeaderLengthPastEnd) {
  std::string p = temp_path("hlen.safetensors");
  std::string b(8, '\0');
  b[0] = char(200);
  b += "{}";
  write_raw(p, b);
  expect_open_error(p, {"hlen.safetensors", "header length 200", "past the end"});
  // A length near 2^64 must not wrap around.
  std::string c(8, '\xff');
  c += "{}";
  write_raw(p, c);
  expect_open_error(p, {"hlen.safetensors", "past the end"});
}

TEST(SafetensorsBad, MalformedJsonAndNotAnObject) {
  expect_open_error(make_file("badjson.safetensors", "{\"a\": {\"dtype\": ", 0),
                    {"badjson.safetensors", "not valid JSON"});
  expect_open_error(make_file("array.safetensors", "[1, 2]", 0),
                    {"array.safetensors", "start with '{'"});
  expect_open_error(make_file("garbage.safetensors", "\x01\x02garbage", 0),
                    {"garbage.safetensors"});
  expect_open_error(make_file("entry.safetensors", "{\"w\": 5}", 0),
                    {"entry.safetensors", "'w'", "object"});
}

TEST(SafetensorsBad, UnknownDtype) {
  expect_open_error(
      make_file("dtype.safetensors",
                R"({"layer.w":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,4]}})", 4),
      {"dtype.safetensors", "layer.w", "Q4_K"});
  expect_open_error(
      make_file("nodtype.safetensors", R"({"layer.w":{"shape":[2],"data_offsets":[0,4]}})", 4),
      {"nodtype.safetensors", "layer.w", "dtype"});
}

TEST(SafetensorsBad, BadShapes) {
  expect_open_error(make_file("neg.safetensors",
                              R"({"t1":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                    {"neg.safetensors", "t1", "non-negative"});
  expect_open_error(make_file("flt.safetensors",
                              R"({"t1":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8),
                    {"flt.safetensors", "t1"});
  // numel * 4 overflows 64 bits: must be reported, never wrapped into a small number.
  expect_open_error(
      make_file("ovf.safetensors",
                R"({"t1":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}})",
                0),
      {"ovf.safetensors", "t1"});
}

TEST(SafetensorsBad, HeaderLiesAboutSizesOrOffsets) {
  // Size mismatch: shape needs 8 bytes, offsets give 12.
  expect_open_error(make_file("size.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", 12),
                    {"size.safetensors", "w.a", "needs 8"});
  // End beyond the data section (a truncated file).
  expect_open_error(make_file("past.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
                    {"past.safetensors", "w.a", "truncated"});
  // begin > end.
  expect_open_error(make_file("rev.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8),
                    {"rev.safetensors", "w.a"});
  // Overlap.
  expect_open_error(make_file("overlap.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("w.b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              12),
                    {"overlap.safetensors", "overlaps", "w.a", "w.b"});
  // A gap, and bytes after the last tensor.
  expect_open_error(make_file("gap.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                    {"gap.safetensors", "w.a", "gap"});
  expect_open_error(make_file("tail.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8),
                    {"tail.safetensors", "4 bytes after the last tensor"});
  // Missing or malformed offsets.
  expect_open_error(
      make_file("off.safetensors", R"({"w.a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
      {"off.safetensors", "w.a", "data_offsets"});
}

TEST(SafetensorsBad, DuplicateTensorNames) {
  expect_open_error(make_file("dup.safetensors",
                              R"({"w.a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("w.a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              8),
                    {"dup.safetensors", "w.a", "twice"});
}

TEST(SafetensorsBad, TruncatedRealFile) {
  Tensor a = iota("blocks.0.q", {16, 16});
  std::string p = temp_path("trunc.safetensors");
  write_safetensors(p, {&a}, DType::F32);
  std::string bytes = read_file(p);
  write_raw(p, bytes.substr(0, bytes.size() - 100));
  expect_open_error(p, {"trunc.safetensors", "blocks.0.q"});
  // Cut inside the header too.
  write_raw(p, bytes.substr(0, 20));
  expect_open_error(p, {"trunc.safetensors", "header length"});
}

TEST(SafetensorsBad, MetadataMustBeStrings) {
  expect_open_error(make_file("meta.safetensors", R"({"__metadata__":{"format":1}})", 0),
                    {"meta.safetensors", "__metadata__", "format"});
}

TEST(SafetensorsBad, ValidateBufferNamesTheBuffer) {
  const uint8_t junk[4] = {1, 2, 3, 4};
  try {
    SafetensorsFile::validate_buffer(junk, 4, "mybuffer");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mybuffer"), std::string::npos);
  }
}

}  // namespace
}  // namespace llada
