//===- FormatsTest.cpp - safetensors, IDX, Philox and initialisers --------===//

#include "d2lrt/Idx.h"
#include "d2lrt/Init.h"
#include "d2lrt/Philox.h"
#include "d2lrt/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

using namespace d2lrt;

namespace {

// Known-answer vectors of Philox4x32-10 from Random123 (kat_vectors).
TEST(Philox, KnownAnswers) {
  Philox4x32 a = philox4x32(0, 0, 0, 0, 0, 0);
  EXPECT_EQ(a.v[0], 0x6627e8d5u);
  EXPECT_EQ(a.v[1], 0xe169c58du);
  EXPECT_EQ(a.v[2], 0xbc57ac4cu);
  EXPECT_EQ(a.v[3], 0x9b00dbd8u);
  const uint32_t m = 0xffffffffu;
  Philox4x32 b = philox4x32(m, m, m, m, m, m);
  EXPECT_EQ(b.v[0], 0x408f276du);
  EXPECT_EQ(b.v[1], 0x41c83b0eu);
  EXPECT_EQ(b.v[2], 0xa20bc7c6u);
  EXPECT_EQ(b.v[3], 0x6d5451fdu);
  Philox4x32 c = philox4x32(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u,
                            0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(c.v[0], 0xd16cfe09u);
  EXPECT_EQ(c.v[1], 0x94fdccebu);
  EXPECT_EQ(c.v[2], 0x5001e420u);
  EXPECT_EQ(c.v[3], 0x24126ea1u);
}

TEST(Philox, DropoutUniformInUnitInterval) {
  for (uint64_t i = 0; i < 10000; ++i) {
    double u = dropoutUniform(42, i, 3);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + name + std::to_string(::getpid());
}

TEST(Safetensors, RoundTrip) {
  TensorFile f;
  HostTensor a = HostTensor::zeros(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i)
    a.data<float>()[i] = float(i) * 0.5f;
  HostTensor b = HostTensor::zeros(DType::I64, {4});
  b.data<int64_t>()[3] = -7;
  HostTensor s = HostTensor::zeros(DType::F64, {});
  s.data<double>()[0] = 3.25;
  f.set("z.weight", a);
  f.set("a.labels", b);
  f.set("scalar", s);
  f.metadata["format"] = "pt";
  std::string path = tempPath("roundtrip.safetensors");
  ASSERT_EQ(writeSafetensors(path, f), "");
  TensorFile g;
  ASSERT_EQ(readSafetensors(path, g), "");
  ASSERT_EQ(g.tensors.size(), 3u);
  // The order of the file is kept (not sorted by name).
  EXPECT_EQ(g.tensors[0].first, "z.weight");
  EXPECT_EQ(g.tensors[1].first, "a.labels");
  EXPECT_EQ(g.find("z.weight")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(g.find("z.weight")->data<float>()[5], 2.5f);
  EXPECT_EQ(g.find("a.labels")->data<int64_t>()[3], -7);
  EXPECT_TRUE(g.find("scalar")->shape.empty());
  EXPECT_EQ(g.find("scalar")->data<double>()[0], 3.25);
  EXPECT_EQ(g.metadata["format"], "pt");
  std::remove(path.c_str());
}

TEST(Safetensors, RejectsBadFiles) {
  TensorFile f;
  std::vector<uint8_t> tooShort{1, 2, 3};
  EXPECT_NE(parseSafetensors(tooShort, "x", f).find("fewer than the 8-byte"),
            std::string::npos);
  std::string hdr = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::vector<uint8_t> image(8);
  image[0] = uint8_t(hdr.size());
  image.insert(image.end(), hdr.begin(), hdr.end());
  image.resize(image.size() + 4); // half the data
  EXPECT_NE(parseSafetensors(image, "x", f).find("truncated"),
            std::string::npos);
  image.resize(image.size() + 4);
  EXPECT_EQ(parseSafetensors(image, "x", f), "");
  image.push_back(0); // a trailing byte
  EXPECT_NE(parseSafetensors(image, "x", f).find("trailing"),
            std::string::npos);
}

TEST(Safetensors, WriteIsAtomic) {
  // A failed write leaves an existing file untouched.
  std::string path = tempPath("atomic.safetensors");
  TensorFile f;
  f.set("a", HostTensor::zeros(DType::F32, {3}));
  ASSERT_EQ(writeSafetensors(path, f), "");
  TensorFile bad;
  HostTensor broken = HostTensor::zeros(DType::F32, {3});
  broken.bytes.resize(5);
  bad.set("a", broken);
  EXPECT_NE(writeSafetensors(path, bad), "");
  TensorFile g;
  ASSERT_EQ(readSafetensors(path, g), "");
  EXPECT_EQ(g.find("a")->numel(), 3);
  std::remove(path.c_str());
}

/// Writes an IDX file of bytes: magic 0x000008NN, big-endian sizes, data.
void writeIdx(const std::string &path, const std::vector<int64_t> &dims,
              const std::vector<uint8_t> &data) {
  std::ofstream f(path, std::ios::binary);
  f.put(0).put(0).put(8).put(char(dims.size()));
  for (int64_t d : dims)
    f.put(char(d >> 24)).put(char(d >> 16)).put(char(d >> 8)).put(char(d));
  f.write(reinterpret_cast<const char *>(data.data()), data.size());
}

TEST(Idx, ReadsPlainFilesAndFashionMnistLayout) {
  // Gunzipped files (what a machine without zlib reads) in the layout of
  // Debian's package: train-images-idx3-ubyte, train-labels-idx1-ubyte.
  std::string dir = tempPath("idx-dir");
  ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()), 0);
  std::vector<uint8_t> pixels(2 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = uint8_t(i * 7);
  writeIdx(dir + "/train-images-idx3-ubyte", {2, 28, 28}, pixels);
  writeIdx(dir + "/train-labels-idx1-ubyte", {2}, {3, 9});
  IdxArray images, labels;
  ASSERT_EQ(loadFashionMnist(dir, true, images, labels), "");
  EXPECT_EQ(images.dims, (std::vector<int64_t>{2, 28, 28}));
  EXPECT_EQ(images.data, pixels);
  EXPECT_EQ(labels.data, (std::vector<uint8_t>{3, 9}));
  // A bad label names the plain file it came from.
  writeIdx(dir + "/train-labels-idx1-ubyte", {2}, {3, 10});
  std::string e = loadFashionMnist(dir, true, images, labels);
  EXPECT_NE(e.find("train-labels-idx1-ubyte: label 10 at 1"), std::string::npos)
      << e;
  // Trailing bytes and truncation are errors.
  writeIdx(dir + "/t", {3}, {1, 2, 3, 4});
  EXPECT_NE(readIdx(dir + "/t", images).find("trailing bytes"),
            std::string::npos);
  writeIdx(dir + "/t", {5}, {1, 2});
  EXPECT_NE(readIdx(dir + "/t", images).find("truncated"), std::string::npos);
  EXPECT_EQ(std::system(("rm -rf " + dir).c_str()), 0);
}

TEST(Init, Parse) {
  InitSpec s;
  std::string err;
  ASSERT_TRUE(parseInitSpec("normal(0.01)", s, err));
  EXPECT_EQ(s.kind, InitSpec::Normal);
  EXPECT_DOUBLE_EQ(s.b, 0.01);
  ASSERT_TRUE(parseInitSpec("uniform(-1, 2.5)", s, err));
  EXPECT_DOUBLE_EQ(s.a, -1);
  EXPECT_DOUBLE_EQ(s.b, 2.5);
  EXPECT_FALSE(parseInitSpec("uniform(2, 1)", s, err));
  EXPECT_FALSE(parseInitSpec("normal(", s, err));
  EXPECT_FALSE(parseInitSpec("kaiming", s, err));
  EXPECT_NE(err.find("unknown initialiser 'kaiming'"), std::string::npos);
  EXPECT_FALSE(parseInitSpec("zeros(1)", s, err));
}

TEST(Init, BilinearIsTheBooksKernel) {
  // bilinear_kernel(1, 1, 4) of the book: the outer product of
  // [0.25, 0.75, 0.75, 0.25] with itself.
  InitSpec s;
  std::string err;
  ASSERT_TRUE(parseInitSpec("bilinear", s, err));
  std::vector<float> w(16);
  fillInit(s, {1, 1, 4, 4}, 0, "w", w.data());
  const float f[4] = {0.25f, 0.75f, 0.75f, 0.25f};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_FLOAT_EQ(w[i * 4 + j], f[i] * f[j]);
}

} // namespace
