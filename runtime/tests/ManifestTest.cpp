//===- ManifestTest.cpp - manifest validation -----------------------------===//

#include "d2lrt/Manifest.h"
#include "d2lrt/Error.h"

#include <gtest/gtest.h>

using namespace d2lrt;

namespace {

std::string wrap(const std::string &json) {
  return "// a model\n/* D2LC-MANIFEST-BEGIN\n" + json +
         "\nD2LC-MANIFEST-END */\n";
}

const char *kGood = R"({"format": "d2lc-manifest", "version": 1,
  "model": "m", "arch": "sm_80", "kernels": ["k0"],
  "tensors": [{"name": "w", "kind": "parameter", "dtype": "F32",
               "shape": [2], "init": "zeros"}],
  "constants": [],
  "entries": [{"name": "forward",
    "arguments": [{"name": "X", "kind": "input", "buffer": 0},
                  {"name": "w", "kind": "parameter", "buffer": 1}],
    "results": [{"name": "y", "kind": "output", "buffer": 2}],
    "buffers": [
      {"id": 0, "kind": "input", "dtype": "F32", "shape": [2], "bytes": 8, "first": -1, "last": 0},
      {"id": 1, "kind": "parameter", "dtype": "F32", "shape": [2], "bytes": 8, "first": -1, "last": 0, "tensor": "w"},
      {"id": 2, "kind": "output", "dtype": "F32", "shape": [2], "bytes": 8, "first": 0, "last": 1}],
    "launches": [{"kernel": 0, "grid": [1, 1, 1], "block": [32, 1, 1], "args": [0, 1, 2]}]}]})";

std::string errorOf(const std::string &source) {
  try {
    parseManifest(source, "m.cu");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(Manifest, ParsesAGoodOne) {
  Manifest m = parseManifest(wrap(kGood), "m.cu");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].launches[0].block[0], 32u);
  EXPECT_EQ(m.tensor("w")->init, "zeros");
}

TEST(Manifest, RejectsBadOnes) {
  EXPECT_NE(errorOf("int x;").find("no D2LC-MANIFEST-BEGIN"),
            std::string::npos);
  EXPECT_NE(errorOf(wrap("{not json")).find("not valid JSON"),
            std::string::npos);
  std::string newer = kGood;
  newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 7");
  EXPECT_NE(errorOf(wrap(newer)).find("version 7 is newer than this runtime"),
            std::string::npos);
  std::string badBuffer = kGood;
  badBuffer.replace(badBuffer.find("\"args\": [0, 1, 2]"), 17,
                    "\"args\": [0, 1, 9]");
  EXPECT_NE(errorOf(wrap(badBuffer)).find("refers to buffer 9"),
            std::string::npos);
  std::string badBytes = kGood;
  badBytes.replace(badBytes.find("\"bytes\": 8, \"first\": 0"), 10,
                   "\"bytes\": 9");
  EXPECT_NE(errorOf(wrap(badBytes)).find("has 9 bytes but its shape needs 8"),
            std::string::npos);
  std::string badTensor = kGood;
  badTensor.replace(badTensor.find("\"tensor\": \"w\""), 13,
                    "\"tensor\": \"v\"");
  EXPECT_NE(errorOf(wrap(badTensor)).find("unknown tensor 'v'"),
            std::string::npos);
}

} // namespace
