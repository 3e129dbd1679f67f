//===- NmtTest.cpp - the book's NMT preprocessing, Vocab, BLEU; .mo, HTML
//--===//

#include "d2lrt/Nmt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
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

TEST(Nmt, HtmlParagraphs) {
  // Only <div class="para"> elements; inline tags vanish, a nested <div>
  // and <br> are a space; entities decoded; whitespace collapsed, trimmed.
  std::string html =
      "<?xml version=\"1.0\"?><!DOCTYPE html><html><body>"
      "<p class=\"title\">Not a paragraph</p>"
      "<div class=\"section\"><div class=\"para\">\n\t\tThe <span "
      "class=\"emphasis\"><em>APT</em></span> tool &amp; "
      "dpkg:\n\t\t&lt;file&gt;<!-- a <div> in a comment -->.\n\t</div>"
      "<div class='para' id=\"x\">A<div xmlns=\"\" class=\"url\">\xE2\x86\x92 "
      "<a href=\"https://a.b/\">https://a.b/</a></div>B<br/>C</div>"
      "<div class=\"para\">&#233;t&#xE9;&nbsp;? &#x1F600; &#0; &copy; "
      "&quot;&apos; a &lt b 1 < 2</div>"
      "<div class=\"paragraph\">no</div><div class=\"para\"/>"
      "<DIV CLASS=\"para\">Upper-case tags</DIV></div></body></html>";
  std::vector<std::string> p = htmlParagraphs(html);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0], "The APT tool & dpkg: <file>.");
  EXPECT_EQ(p[1], "A \xE2\x86\x92 https://a.b/ B C");
  // é, é, U+00A0, U+1F600, U+FFFD; &copy; (not decoded) and &lt without
  // its ';' stay as written, and so does a '<' that starts no tag.
  EXPECT_EQ(p[2], "\xC3\xA9t\xC3\xA9\xC2\xA0? \xF0\x9F\x98\x80 \xEF\xBF\xBD "
                  "&copy; \"' a &lt b 1 < 2");
  EXPECT_EQ(p[3], "");
  EXPECT_EQ(p[4], "Upper-case tags");
}

TEST(Nmt, SplitSentences) {
  // After . ? ! followed by one space and an upper-case letter (A-Z, À-Þ
  // but ×, Œ, Ÿ); the space is dropped.
  EXPECT_EQ(splitSentences("Go. Now! Why? Because."),
            (std::vector<std::string>{"Go.", "Now!", "Why?", "Because."}));
  EXPECT_EQ(splitSentences("md0 vs. the others, e.g. foo.Bar 3.5 GB"),
            (std::vector<std::string>{"md0 vs. the others, e.g. foo.Bar 3.5 "
                                      "GB"}));
  // French: a no-break space before ? stays with its sentence; É starts
  // one, × does not.
  EXPECT_EQ(splitSentences("Pourquoi\xC2\xA0? \xC3\x89videmment. "
                           "\xC3\x97 2. \xC5\x92uvre."),
            (std::vector<std::string>{"Pourquoi\xC2\xA0?",
                                      "\xC3\x89videmment. \xC3\x97 2.",
                                      "\xC5\x92uvre."}));
  EXPECT_EQ(splitSentences("Two  spaces.  No"),
            (std::vector<std::string>{"Two  spaces.  No"}));
  EXPECT_EQ(splitSentences(""), (std::vector<std::string>{""}));
}

TEST(Nmt, HandbookPairs) {
  std::string dir =
      ::testing::TempDir() + "nmt-handbook-" + std::to_string(::getpid());
  std::vector<std::pair<Tokens, Tokens>> pairs;
  HandbookStats st;
  EXPECT_NE(loadHandbookPairs(dir, pairs).find(dir + "/en-US: cannot open"),
            std::string::npos);
  ::mkdir(dir.c_str(), 0755);
  ::mkdir((dir + "/en-US").c_str(), 0755);
  ::mkdir((dir + "/fr-FR").c_str(), 0755);
  EXPECT_NE(loadHandbookPairs(dir, pairs).find("no .html file in both"),
            std::string::npos);
  auto write = [&](const std::string &path, const std::string &paras) {
    std::ofstream(dir + "/" + path)
        << "<html><body>" << paras << "</body></html>";
  };
  auto para = [](const std::string &t) {
    return "<div class=\"para\">" + t + "</div>";
  };
  // a.html: three paragraphs each side. The first splits into two
  // sentences on both sides; the second into 2 and 1 (left out); the third
  // is untranslated in its first sentence.
  write("en-US/a.html", para("Hello, world. Good night!") + para("One. Two.") +
                            para("Run apt. See you."));
  write("fr-FR/a.html", para("Bonjour, le monde. Bonne nuit\xC2\xA0!") +
                            para("Un, deux.") +
                            para("Run apt. \xC3\x80 bient\xC3\xB4t."));
  // b.html: unequal paragraph counts: left out. c.html: English only.
  write("en-US/b.html", para("Alone."));
  write("fr-FR/b.html", para("Seul.") + para("Encore."));
  write("en-US/c.html", para("Only English."));
  ASSERT_EQ(loadHandbookPairs(dir, pairs, &st), "");
  EXPECT_EQ(st.files, 2);
  EXPECT_EQ(st.skippedFiles, 1);
  EXPECT_EQ(st.paragraphs, 3);
  EXPECT_EQ(st.aligned, 2);
  EXPECT_EQ(st.untranslated, 1);
  EXPECT_EQ(st.emptyTokens, 0);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].first, (Tokens{"hello", ",", "world", "."}));
  EXPECT_EQ(pairs[0].second, (Tokens{"bonjour", ",", "le", "monde", "."}));
  EXPECT_EQ(pairs[1].first, (Tokens{"good", "night", "!"}));
  EXPECT_EQ(pairs[1].second, (Tokens{"bonne", "nuit", "!"}));
  EXPECT_EQ(pairs[2].first, (Tokens{"see", "you", "."}));
  EXPECT_EQ(pairs[2].second, (Tokens{"\xC3\xA0", "bient\xC3\xB4t", "."}));
  // Only files with unequal counts: an error naming the directory.
  std::remove((dir + "/en-US/a.html").c_str());
  std::remove((dir + "/fr-FR/a.html").c_str());
  EXPECT_NE(loadHandbookPairs(dir, pairs).find(dir + ": no chapter file"),
            std::string::npos);
  for (const char *f : {"en-US/b.html", "fr-FR/b.html", "en-US/c.html"})
    std::remove((dir + "/" + f).c_str());
  for (const char *d : {"/en-US", "/fr-FR", ""})
    ::rmdir((dir + d).c_str());
}

} // namespace
