//===- NmtTest.cpp - the book's NMT preprocessing, Vocab, BLEU; .mo files -===//

#include "d2lrt/Nmt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace d2lrt;

namespace {

TEST(Nmt, PreprocessAsTheBook) {
  // preprocess_nmt: NBSPs to spaces, lower case, a space before , . ! ?
  // unless one is there.
  EXPECT_EQ(preprocessNmt("Go.\xE2\x80\xAFNow!"), "go . now !");
  EXPECT_EQ(preprocessNmt("\xC3\x89l\xC3\xA8ve, \xC3\xA0 l'\xC3\xA9"
                          "cole\xC2\xA0?"),
            "\xC3\xA9l\xC3\xA8ve , \xC3\xA0 l'\xC3\xA9"
            "cole ?");
  EXPECT_EQ(preprocessNmt("a ,b"), "a ,b");
  EXPECT_EQ(preprocessNmt("\xC5\x92uvre"), "\xC5\x93uvre"); // Œ -> œ
  EXPECT_EQ(splitSpaces("a  b"), (Tokens{"a", "", "b"}));
}

TEST(Nmt, VocabAsTheBook) {
  // Vocab(min_freq=2, reserved): <unk>, reserved, then by count (b 3, a 2;
  // c once is left out), capped.
  Vocab v = buildVocab({{"b", "a", "b"}, {"c", "a", "b"}}, 2, {"<pad>"}, 10);
  EXPECT_EQ(v.tokens, (std::vector<std::string>{"<unk>", "<pad>", "b", "a"}));
  EXPECT_EQ(v["c"], 0);
  EXPECT_EQ(v["a"], 3);
  Vocab capped = buildVocab({{"b", "a", "b"}, {"a", "b"}}, 1, {"<pad>"}, 3);
  EXPECT_EQ(capped.tokens, (std::vector<std::string>{"<unk>", "<pad>", "b"}));
  // Equal counts keep the order of first appearance.
  Vocab ties = buildVocab({{"y", "x", "x", "y"}}, 1, {}, 10);
  EXPECT_EQ(ties.tokens, (std::vector<std::string>{"<unk>", "y", "x"}));
}

TEST(Nmt, BleuAsTheBook) {
  // Hand-derived from the book's bleu: brevity exp(min(0, 1 - len_label /
  // len_pred)) times Π_n p_n^(1/2^n), p_n the clipped n-gram precision.
  EXPECT_DOUBLE_EQ(bleu({"a", "b", "c", "d"}, {"a", "b", "c"}, 2),
                   std::sqrt(0.75) * std::pow(2.0 / 3.0, 0.25));
  EXPECT_DOUBLE_EQ(bleu({"a"}, {"a", "b"}, 1), std::exp(-1.0));
  EXPECT_DOUBLE_EQ(bleu({"a", "a", "a"}, {"a"}, 1), std::sqrt(1.0 / 3.0));
  EXPECT_DOUBLE_EQ(bleu({"va", "!"}, {"va", "!"}, 2), 1.0);
  EXPECT_EQ(bleu({"a"}, {"a", "b"}, 2), 0.0); // no bigram: 0
}

/// A little-endian .mo file with the given (msgid, msgstr) strings.
std::string writeMo(const std::vector<std::pair<std::string, std::string>> &s) {
  std::string path =
      ::testing::TempDir() + "nmt-test-" + std::to_string(::getpid()) + ".mo";
  uint32_t n = uint32_t(s.size()), orig = 28, trans = 28 + 8 * n,
           strings = 28 + 16 * n;
  std::string head, tables, data;
  auto u32 = [](std::string &out, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out += char((v >> (8 * i)) & 0xFF);
  };
  for (uint32_t v : {0x950412deu, 0u, n, orig, trans, 0u, 0u})
    u32(head, v);
  std::string origTable, transTable;
  for (int pass = 0; pass < 2; ++pass)
    for (const auto &[id, str] : s) {
      const std::string &t = pass == 0 ? id : str;
      u32(pass == 0 ? origTable : transTable, uint32_t(t.size()));
      u32(pass == 0 ? origTable : transTable, strings + uint32_t(data.size()));
      data += t;
      data += '\0';
    }
  std::ofstream(path, std::ios::binary)
      << head << origTable << transTable << data;
  return path;
}

TEST(Nmt, ReadsMoFiles) {
  std::string path = writeMo({{"ctx\x04Open", "Ouvrir"},
                              {std::string("file\0files", 10), "fichier"},
                              {"Close", "Fermer"}});
  std::vector<std::pair<std::string, std::string>> e;
  ASSERT_EQ(readMo(path, e), "");
  ASSERT_EQ(e.size(), 2u); // the plural entry is skipped
  EXPECT_EQ(e[0].first, "ctx\x04Open");
  EXPECT_EQ(e[0].second, "Ouvrir");
  EXPECT_EQ(e[1].second, "Fermer");
  std::ofstream(path, std::ios::binary) << "not a catalogue at all";
  EXPECT_NE(readMo(path, e).find("wrong magic number"), std::string::npos);
  std::remove(path.c_str());
}

} // namespace
