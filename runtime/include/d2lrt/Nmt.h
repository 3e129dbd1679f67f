//===- Nmt.h - English-French pairs for the book's translation models -----===//
//
// The data side of d2lc-train's seq2seq task: the book's preprocessing and
// Vocab (9.5), its BLEU (9.7), and sentence pairs read from the French
// message catalogues of LibreOffice (GNU gettext .mo files, Debian's
// libreoffice-l10n-fr) — short English interface texts and their French.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_NMT_H
#define D2LRT_NMT_H

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace d2lrt {

/// Reads a GNU gettext .mo file (either byte order): every (msgid, msgstr)
/// in the file's order, plural entries skipped. Returns "" or a message
/// naming the file and the problem.
std::string readMo(const std::string &path,
                   std::vector<std::pair<std::string, std::string>> &entries);

/// The book's preprocess_nmt: U+202F and U+00A0 become spaces, letters
/// become lower case (ASCII, Latin-1, Œ and Ÿ in UTF-8), and a space goes
/// before each of , . ! ? that does not follow one.
std::string preprocessNmt(const std::string &text);

/// text.split(' ') (empty tokens kept, as Python's split(' ')).
std::vector<std::string> splitSpaces(const std::string &text);

using Tokens = std::vector<std::string>;

/// English-French pairs from the .mo files of `dir` (by file name, then in
/// file order): context and the accelerator marks ~ and _ removed; kept when
/// the English is ASCII letters, spaces and , . ' ! ? - (starting with a
/// letter), the French has no digits, markup or format characters
/// (%$<>{}\/|[]()=&#*"@:; tab newline) and no character past U+00FF but Œ,
/// œ, Ÿ, U+2019 and U+202F, and both sides, preprocessed and split, have 1
/// to maxTokens non-empty tokens; the first of equal English texts wins.
std::string loadMoPairs(const std::string &dir, int64_t maxTokens,
                        std::vector<std::pair<Tokens, Tokens>> &pairs);

/// The book's Vocab(tokens, min_freq, reserved_tokens): <unk> is 0, then
/// the reserved tokens, then the tokens seen at least minFreq times by
/// decreasing count (ties: first seen first), at most maxSize in all.
struct Vocab {
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int64_t> index;
  int64_t operator[](const std::string &token) const {
    auto it = index.find(token);
    return it == index.end() ? 0 : it->second;
  }
};
Vocab buildVocab(const std::vector<Tokens> &lines, int64_t minFreq,
                 const std::vector<std::string> &reserved, int64_t maxSize);

/// The book's bleu(pred_seq, label_seq, k) on token lists; 0 where the
/// prediction is shorter than an n-gram (the book divides by zero there).
double bleu(const Tokens &pred, const Tokens &label, int k);

} // namespace d2lrt

#endif // D2LRT_NMT_H
