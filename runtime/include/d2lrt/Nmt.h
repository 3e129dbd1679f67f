//===- Nmt.h - English-French pairs for the book's translation models -----===//
//
// The data side of d2lc-train's seq2seq task: the book's preprocessing and
// Vocab (9.5), its BLEU (9.7), and sentence pairs read from the French
// message catalogues of LibreOffice (GNU gettext .mo files, Debian's
// libreoffice-l10n-fr) — short English interface texts and their French —
// or from the English and French HTML of Debian's debian-handbook, the
// same book in both languages, paragraph for paragraph.
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

/// The paragraphs of an HTML page: the text of every <div class="para">
/// element (the paragraphs of Publican's DocBook HTML, which debian-handbook
/// is; its <p> elements are titles and the page banner), in order. Tags are
/// removed, but a <div> or </div> inside the paragraph and a <br> are a
/// space; comments and <!...> <?...?> declarations are skipped; the entities
/// &amp; &lt; &gt; &quot; &apos; &nbsp; and &#NNN; &#xHH; become their
/// characters in UTF-8 (U+FFFD for 0, surrogates and past U+10FFFF; other
/// named ones stay as written); runs of space, tab, CR, LF and FF become one
/// space, and the text is trimmed of them (U+00A0 is not whitespace).
std::vector<std::string> htmlParagraphs(const std::string &html);

/// A paragraph's sentences: it is split after each '.', '?' or '!' that is
/// followed by one space and an upper-case letter (A-Z, U+00C0-U+00DE but
/// U+00D7, Œ, Ÿ); the space is dropped. "vs. the" and "e.g. foo" do not
/// split; "3.5 GB" neither.
std::vector<std::string> splitSentences(const std::string &paragraph);

/// What loadHandbookPairs read and left out.
struct HandbookStats {
  int64_t files = 0;        // chapter files in both en-US/ and fr-FR/
  int64_t skippedFiles = 0; // of those, with unequal paragraph counts
  int64_t paragraphs = 0;   // paragraph pairs of the files used
  int64_t aligned = 0;      // of those, with as many sentences on each side
  int64_t untranslated = 0; // sentence pairs left out: the same text twice
  int64_t emptyTokens = 0;  // sentence pairs left out: an empty token
};

/// English-French sentence pairs of debian-handbook's HTML: `dir` holds
/// en-US/ and fr-FR/ (scripts/setup.sh copies the package's html/en-US and
/// html/fr-FR *.html there). For every *.html file in both (by file name)
/// whose htmlParagraphs counts are equal, the paragraphs are paired in order;
/// a paragraph pair whose splitSentences counts are equal gives its sentence
/// pairs in order, but for those whose English and French are the same text
/// (untranslated) and those with an empty token after preprocessNmt and
/// splitSpaces (as loadMoPairs). No length limit: d2lc-train truncates
/// to the model's steps as the book's truncate_pad. Returns "" or a message
/// naming the path.
std::string loadHandbookPairs(const std::string &dir,
                              std::vector<std::pair<Tokens, Tokens>> &pairs,
                              HandbookStats *stats = nullptr);

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
