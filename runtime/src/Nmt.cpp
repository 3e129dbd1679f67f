//===- Nmt.cpp - English-French pairs for the book's translation models ---===//

#include "d2lrt/Nmt.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <unordered_set>

namespace d2lrt {

std::string readMo(const std::string &path,
                   std::vector<std::pair<std::string, std::string>> &entries) {
  entries.clear();
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return path + ": cannot open";
  std::string data((std::istreambuf_iterator<char>(f)),
                   std::istreambuf_iterator<char>());
  auto fail = [&](const std::string &m) {
    return path + ": not a GNU gettext .mo file: " + m;
  };
  if (data.size() < 20)
    return fail("shorter than its header");
  auto u32 = [&](size_t at, bool swap) -> uint32_t {
    const auto *p = reinterpret_cast<const unsigned char *>(data.data() + at);
    return swap ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 |
                   uint32_t(p[2]) << 8 | uint32_t(p[3]))
                : (uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 |
                   uint32_t(p[1]) << 8 | uint32_t(p[0]));
  };
  bool swap;
  if (u32(0, false) == 0x950412deu)
    swap = false;
  else if (u32(0, true) == 0x950412deu)
    swap = true;
  else
    return fail("wrong magic number");
  uint64_t n = u32(8, swap), orig = u32(12, swap), trans = u32(16, swap);
  if (orig + n * 8 > data.size() || trans + n * 8 > data.size())
    return fail("its string tables run past the end");
  auto string = [&](uint64_t table, uint64_t i, std::string &s) {
    uint64_t len = u32(size_t(table + i * 8), swap),
             off = u32(size_t(table + i * 8 + 4), swap);
    if (off + len > data.size())
      return false;
    s.assign(data, size_t(off), size_t(len));
    return true;
  };
  for (uint64_t i = 0; i < n; ++i) {
    std::string id, str;
    if (!string(orig, i, id) || !string(trans, i, str))
      return fail("string " + std::to_string(i) + " runs past the end");
    if (id.find('\0') != std::string::npos) // plural forms
      continue;
    entries.emplace_back(std::move(id), std::move(str));
  }
  return "";
}

namespace {
/// Decodes one UTF-8 code point at s[i] (advancing i); invalid bytes are
/// returned as themselves.
uint32_t decode(const std::string &s, size_t &i) {
  uint32_t c = uint8_t(s[i]);
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  if (extra == 0 || i + size_t(extra) >= s.size()) {
    ++i;
    return c;
  }
  c &= 0x3Fu >> extra;
  for (int k = 1; k <= extra; ++k)
    c = (c << 6) | (uint32_t(uint8_t(s[i + size_t(k)])) & 0x3F);
  i += size_t(extra) + 1;
  return c;
}

void encode(uint32_t c, std::string &out) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

uint32_t lower(uint32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7))
    return c + 0x20;
  if (c == 0x152)
    return 0x153;
  if (c == 0x178)
    return 0xFF;
  return c;
}
} // namespace

std::string preprocessNmt(const std::string &text) {
  std::vector<uint32_t> cs;
  for (size_t i = 0; i < text.size();) {
    uint32_t c = decode(text, i);
    cs.push_back(c == 0x202F || c == 0xA0 ? uint32_t(' ') : lower(c));
  }
  std::string out;
  for (size_t i = 0; i < cs.size(); ++i) {
    bool punct = cs[i] == ',' || cs[i] == '.' || cs[i] == '!' || cs[i] == '?';
    if (i > 0 && punct && cs[i - 1] != ' ')
      out += ' ';
    encode(cs[i], out);
  }
  return out;
}

std::vector<std::string> splitSpaces(const std::string &text) {
  std::vector<std::string> out(1);
  for (char c : text) {
    if (c == ' ')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

std::string loadMoPairs(const std::string &dir, int64_t maxTokens,
                        std::vector<std::pair<Tokens, Tokens>> &pairs) {
  pairs.clear();
  DIR *d = opendir(dir.c_str());
  if (!d)
    return dir + ": cannot open the directory of .mo files";
  std::vector<std::string> files;
  while (dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".mo") == 0)
      files.push_back(name);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  if (files.empty())
    return dir + ": no .mo files";
  auto strip = [](std::string s) {
    size_t ctx = s.rfind('\x04');
    if (ctx != std::string::npos)
      s = s.substr(ctx + 1);
    s.erase(std::remove_if(s.begin(), s.end(),
                           [](char c) { return c == '~' || c == '_'; }),
            s.end());
    return s;
  };
  auto englishOk = [](const std::string &s) {
    if (s.empty() || !std::isalpha(uint8_t(s[0])))
      return false;
    for (char c : s)
      if (!(std::isalpha(uint8_t(c)) ||
            std::string(" ,.'!?-").find(c) != std::string::npos) ||
          uint8_t(c) >= 0x80)
        return false;
    return true;
  };
  auto frenchOk = [](const std::string &s) {
    if (s.find_first_of("0123456789%$<>{}\\/|[]()=&#*\"@:;\t\n") !=
        std::string::npos)
      return false;
    for (size_t i = 0; i < s.size();) {
      uint32_t c = decode(s, i);
      if (c > 0xFF && c != 0x152 && c != 0x153 && c != 0x178 && c != 0x2019 &&
          c != 0x202F)
        return false;
    }
    return true;
  };
  auto tokens = [&](const std::string &s, Tokens &t) {
    t = splitSpaces(preprocessNmt(s));
    if (t.empty() || int64_t(t.size()) > maxTokens)
      return false;
    for (const std::string &w : t)
      if (w.empty())
        return false;
    return true;
  };
  std::unordered_set<std::string> seen;
  for (const std::string &name : files) {
    std::vector<std::pair<std::string, std::string>> entries;
    std::string err = readMo(dir + "/" + name, entries);
    if (!err.empty())
      return err;
    for (auto &[id, str] : entries) {
      std::string en = strip(id), fr = strip(str);
      Tokens te, tf;
      if (!englishOk(en) || !frenchOk(fr) || !tokens(en, te) ||
          !tokens(fr, tf) || !seen.insert(en).second)
        continue;
      pairs.emplace_back(std::move(te), std::move(tf));
    }
  }
  return "";
}

namespace {
bool htmlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/// Appends s[b, e) to `out` with its character references decoded.
void appendDecoded(const std::string &s, size_t b, size_t e, std::string &out) {
  static const std::map<std::string, uint32_t> named{
      {"amp", '&'},  {"lt", '<'},    {"gt", '>'},
      {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0}};
  for (size_t i = b; i < e;) {
    size_t semi = s[i] == '&' ? s.find(';', i) : std::string::npos;
    if (semi == std::string::npos || semi >= e || semi - i > 12) {
      out += s[i++];
      continue;
    }
    std::string name = s.substr(i + 1, semi - i - 1);
    uint32_t c = 0;
    bool ok = false;
    if (name.size() >= 2 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::string digits = name.substr(hex ? 2 : 1);
      ok = !digits.empty();
      for (char d : digits) {
        ok &= hex ? std::isxdigit(uint8_t(d)) != 0
                  : std::isdigit(uint8_t(d)) != 0;
        if (c <= 0x10FFFF)
          c = c * (hex ? 16 : 10) +
              uint32_t(std::isdigit(uint8_t(d))
                           ? d - '0'
                           : std::tolower(uint8_t(d)) - 'a' + 10);
      }
      if (c == 0 || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        c = 0xFFFD;
    } else if (auto it = named.find(name); it != named.end()) {
      c = it->second;
      ok = true;
    }
    if (!ok) {
      out += s[i++];
      continue;
    }
    encode(c, out);
    i = semi + 1;
  }
}

/// Runs of HTML whitespace become one space; the ends are trimmed.
std::string collapse(const std::string &s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (htmlSpace(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty())
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}
} // namespace

std::vector<std::string> htmlParagraphs(const std::string &html) {
  std::vector<std::string> out;
  std::string cur;
  int64_t depth = 0; // the <div> nesting inside the current paragraph
  size_t n = html.size();
  for (size_t i = 0; i < n;) {
    size_t lt = std::min(html.find('<', i), n);
    if (depth)
      appendDecoded(html, i, lt, cur);
    if (lt == n)
      break;
    if (html.compare(lt, 4, "<!--") == 0) {
      size_t end = html.find("-->", lt + 4);
      i = end == std::string::npos ? n : end + 3;
      continue;
    }
    if (lt + 1 < n && (html[lt + 1] == '!' || html[lt + 1] == '?')) {
      i = std::min(html.find('>', lt), n - 1) + 1;
      continue;
    }
    size_t j = lt + 1;
    bool closing = j < n && html[j] == '/';
    if (closing)
      ++j;
    std::string name;
    while (j < n && (std::isalnum(uint8_t(html[j])) || html[j] == '-' ||
                     html[j] == ':' || html[j] == '_'))
      name += char(std::tolower(uint8_t(html[j++])));
    if (name.empty() || !std::isalpha(uint8_t(name[0]))) { // '<' is text
      if (depth)
        cur += '<';
      i = lt + 1;
      continue;
    }
    // The attributes, up to the '>' outside quotes.
    bool para = false, selfClosing = false;
    while (j < n && html[j] != '>') {
      if (htmlSpace(html[j])) {
        ++j;
        continue;
      }
      if (html[j] == '/') {
        selfClosing = j + 1 < n && html[j + 1] == '>';
        ++j;
        continue;
      }
      std::string attr, value;
      while (j < n && !htmlSpace(html[j]) && html[j] != '=' && html[j] != '>' &&
             html[j] != '/')
        attr += char(std::tolower(uint8_t(html[j++])));
      while (j < n && htmlSpace(html[j]))
        ++j;
      if (j < n && html[j] == '=') {
        ++j;
        while (j < n && htmlSpace(html[j]))
          ++j;
        if (j < n && (html[j] == '"' || html[j] == '\'')) {
          size_t end = std::min(html.find(html[j], j + 1), n);
          value = html.substr(j + 1, end - j - 1);
          j = std::min(end + 1, n);
        } else {
          while (j < n && !htmlSpace(html[j]) && html[j] != '>')
            value += html[j++];
        }
      }
      para |= attr == "class" && value == "para";
    }
    i = std::min(j + 1, n);
    if (name == "div" && !closing) {
      if (depth) {
        cur += ' ';
        depth += selfClosing ? 0 : 1;
      } else if (para && selfClosing) {
        out.emplace_back(); // <div class="para"/>
      } else if (para) {
        cur.clear();
        depth = 1;
      }
    } else if (name == "div" && depth) {
      if (--depth == 0)
        out.push_back(collapse(cur));
      else
        cur += ' ';
    } else if (name == "br" && depth) {
      cur += ' ';
    }
  }
  return out;
}

std::vector<std::string> splitSentences(const std::string &paragraph) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i + 2 < paragraph.size(); ++i) {
    char c = paragraph[i];
    if ((c != '.' && c != '?' && c != '!') || paragraph[i + 1] != ' ')
      continue;
    size_t k = i + 2;
    uint32_t next = decode(paragraph, k);
    if (lower(next) == next)
      continue;
    out.push_back(paragraph.substr(start, i + 1 - start));
    start = i + 2;
  }
  out.push_back(paragraph.substr(start));
  return out;
}

std::string loadHandbookPairs(const std::string &dir,
                              std::vector<std::pair<Tokens, Tokens>> &pairs,
                              HandbookStats *stats) {
  pairs.clear();
  HandbookStats st;
  auto list = [&](const std::string &sub, std::vector<std::string> &names) {
    std::string path = dir + "/" + sub;
    DIR *d = opendir(path.c_str());
    if (!d)
      return path + ": cannot open the directory (debian-handbook's HTML)";
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".html") == 0)
        names.push_back(name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return std::string();
  };
  std::vector<std::string> en, fr, both;
  std::string err = list("en-US", en);
  if (err.empty())
    err = list("fr-FR", fr);
  if (!err.empty())
    return err;
  std::set_intersection(en.begin(), en.end(), fr.begin(), fr.end(),
                        std::back_inserter(both));
  if (both.empty())
    return dir + ": no .html file in both en-US/ and fr-FR/";
  auto read = [](const std::string &path, std::string &text) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
      return false;
    text.assign(std::istreambuf_iterator<char>(f),
                std::istreambuf_iterator<char>());
    return true;
  };
  auto tokens = [](const std::string &s, Tokens &t) {
    t = splitSpaces(preprocessNmt(s));
    return std::none_of(t.begin(), t.end(),
                        [](const std::string &w) { return w.empty(); });
  };
  for (const std::string &name : both) {
    std::string pathEn = dir + "/en-US/" + name,
                pathFr = dir + "/fr-FR/" + name;
    std::string htmlEn, htmlFr;
    if (!read(pathEn, htmlEn))
      return pathEn + ": cannot open";
    if (!read(pathFr, htmlFr))
      return pathFr + ": cannot open";
    std::vector<std::string> pe = htmlParagraphs(htmlEn),
                             pf = htmlParagraphs(htmlFr);
    ++st.files;
    if (pe.size() != pf.size()) {
      ++st.skippedFiles;
      continue;
    }
    st.paragraphs += int64_t(pe.size());
    for (size_t k = 0; k < pe.size(); ++k) {
      std::vector<std::string> se = splitSentences(pe[k]),
                               sf = splitSentences(pf[k]);
      if (se.size() != sf.size())
        continue;
      ++st.aligned;
      for (size_t s = 0; s < se.size(); ++s) {
        Tokens te, tf;
        if (se[s] == sf[s]) {
          ++st.untranslated;
          continue;
        }
        if (!tokens(se[s], te) || !tokens(sf[s], tf)) {
          ++st.emptyTokens;
          continue;
        }
        pairs.emplace_back(std::move(te), std::move(tf));
      }
    }
  }
  if (stats)
    *stats = st;
  if (st.skippedFiles == st.files)
    return dir + ": no chapter file has as many paragraphs in en-US/ as in "
                 "fr-FR/";
  return "";
}

Vocab buildVocab(const std::vector<Tokens> &lines, int64_t minFreq,
                 const std::vector<std::string> &reserved, int64_t maxSize) {
  std::unordered_map<std::string, int64_t> count, first;
  std::vector<std::string> order;
  for (const Tokens &line : lines)
    for (const std::string &t : line) {
      if (!count.count(t)) {
        first[t] = int64_t(order.size());
        order.push_back(t);
      }
      ++count[t];
    }
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string &a, const std::string &b) {
                     return count[a] > count[b];
                   });
  Vocab v;
  auto add = [&](const std::string &t) {
    if (int64_t(v.tokens.size()) >= maxSize || v.index.count(t))
      return;
    v.index[t] = int64_t(v.tokens.size());
    v.tokens.push_back(t);
  };
  add("<unk>");
  for (const std::string &t : reserved)
    add(t);
  for (const std::string &t : order)
    if (count[t] >= minFreq)
      add(t);
  return v;
}

double bleu(const Tokens &pred, const Tokens &label, int k) {
  double lenPred = double(pred.size()), lenLabel = double(label.size());
  if (pred.empty())
    return 0;
  double score = std::exp(std::min(0.0, 1 - lenLabel / lenPred));
  auto gram = [](const Tokens &t, size_t i, int n) {
    std::string s = t[i];
    for (int j = 1; j < n; ++j)
      s += " " + t[i + size_t(j)];
    return s;
  };
  for (int n = 1; n <= k; ++n) {
    if (int64_t(pred.size()) - n + 1 <= 0)
      return 0;
    std::map<std::string, int64_t> labelSubs;
    for (int64_t i = 0; i + n <= int64_t(label.size()); ++i)
      ++labelSubs[gram(label, size_t(i), n)];
    int64_t matches = 0;
    for (int64_t i = 0; i + n <= int64_t(pred.size()); ++i) {
      auto it = labelSubs.find(gram(pred, size_t(i), n));
      if (it != labelSubs.end() && it->second > 0) {
        ++matches;
        --it->second;
      }
    }
    score *= std::pow(double(matches) / double(int64_t(pred.size()) - n + 1),
                      std::pow(0.5, n));
  }
  return score;
}

} // namespace d2lrt
