# RUN: %python %s %models
# d2lc-train --task seq2seq --corpus handbook: English-French sentence pairs
# from the HTML of Debian's debian-handbook (scripts/setup.sh copies
# html/en-US and html/fr-FR into /var/cache/d2lc/debian-handbook), host
# backend, the book's seq2seq with Bahdanau attention compiled with Adam and
# clipping at 1:
#  - the data: the pages parsed here with Python's html.parser (independently
#    of d2lc) by the rule of d2lrt::loadHandbookPairs (the <div class="para">
#    paragraphs of files with equal counts, paired in order; sentences split
#    after . ? ! before a space and an upper-case letter, paired where both
#    sides have as many; untranslated ones left out), the book's
#    preprocess_nmt and Vocab (min_freq 2) give the counts d2lc-train prints
#    (files, paragraphs, sentence pairs, vocabulary sizes, the pairs longer
#    than num_steps - 1 that truncate_pad truncates);
#  - one epoch on the first 700 pairs at lr 1e-6 (barely trained: the
#    translations are arbitrary tokens, which makes them a sharp check of
#    the truncated sources): the printed held-out pairs are the tenth,
#    twentieth, ... of the recomputed ones, their translations are what the
#    book's predict_seq2seq gives with the checkpoint loaded (strict) into
#    the book's EncoderDecoder, and the printed BLEU values are the book's
#    bleu;
#  - handbook directories without usable files are errors naming them.
import collections
import html.parser
import os
import re
import sys
import tempfile

import torch
from d2lmodels import (EncoderDecoder, Seq2SeqAttentionDecoder, Seq2SeqEncoder, Vocab, bleu,
                       predict_seq2seq, preprocess_nmt)
from d2ltest import Checker, load_safetensors, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
HB_DIR = "/var/cache/d2lc/debian-handbook"
T, LIMIT = 10, 700
if not os.path.isdir(os.path.join(HB_DIR, "en-US")):
    raise SystemExit(f"no {HB_DIR}/en-US: run scripts/setup.sh")


class Paragraphs(html.parser.HTMLParser):
    """The text of each <div class="para">: a nested <div> or </div> and a
    <br> are a space, other tags vanish, entities are decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paras, self.text, self.depth = [], None, 0

    def handle_starttag(self, tag, attrs):
        if self.text is not None:
            if tag == "div":
                self.depth += 1
            if tag in ("div", "br"):
                self.text.append(" ")
        elif tag == "div" and ("class", "para") in attrs:
            self.text, self.depth = [], 1

    def handle_endtag(self, tag):
        if self.text is None or tag != "div":
            return
        self.depth -= 1
        if self.depth:
            self.text.append(" ")
        else:
            text = re.sub(r"[ \t\r\n\f]+", " ", "".join(self.text))
            self.paras.append(text.strip(" "))
            self.text = None

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)


def paragraphs(path):
    p = Paragraphs()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    return p.paras


def sentences(paragraph):
    return re.split(r"(?<=[.?!]) (?=[A-Z\u00c0-\u00d6\u00d8-\u00de\u0152\u0178])", paragraph)


# The pairs, as d2lrt::loadHandbookPairs documents them.
en_dir, fr_dir = os.path.join(HB_DIR, "en-US"), os.path.join(HB_DIR, "fr-FR")
names = sorted(set(f for f in os.listdir(en_dir) if f.endswith(".html"))
               & set(f for f in os.listdir(fr_dir) if f.endswith(".html")))
pairs, stats = [], collections.Counter()
for name in names:
    pe, pf = paragraphs(os.path.join(en_dir, name)), paragraphs(os.path.join(fr_dir, name))
    stats["files"] += 1
    if len(pe) != len(pf):
        stats["skipped"] += 1
        continue
    stats["paragraphs"] += len(pe)
    for e, f in zip(pe, pf):
        se, sf = sentences(e), sentences(f)
        if len(se) != len(sf):
            continue
        stats["aligned"] += 1
        for a, b in zip(se, sf):
            if a == b:
                stats["untranslated"] += 1
                continue
            te, tf = preprocess_nmt(a).split(' '), preprocess_nmt(b).split(' ')
            if '' in te or '' in tf:
                stats["empty"] += 1
                continue
            pairs.append((te, tf))
print(f"{len(pairs)} pairs in {HB_DIR}: {dict(stats)}")
c.true("thousands of pairs", len(pairs) > 3000, str(len(pairs)))
c.true("hundreds within num_steps - 1 tokens on both sides",
       sum(1 for e, f in pairs if len(e) < T and len(f) < T) > 100)
all_pairs, pairs = pairs, pairs[:LIMIT]

src_vocab = Vocab([e for e, _ in pairs], min_freq=2, reserved_tokens=['<pad>', '<bos>', '<eos>'])
tgt_vocab = Vocab([f for _, f in pairs], min_freq=2, reserved_tokens=['<pad>', '<bos>', '<eos>'])
cu = os.path.join(tmp, "s2s.cu")
ck = os.path.join(tmp, "s2s.safetensors")
run_tool([tool("d2lc"), os.path.join(models_dir, "seq2seq_attention.mlir"), "--train",
          "--optimizer", "adam", "--clip-norm", "1", "-o", cu])
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "1e-6", "--limit", str(LIMIT),
              "--corpus", "handbook", "--checkpoint", ck])
print(r.stdout, end="")
m = re.search(r"debian-handbook: (\d+) chapter files \((\d+) left out: unequal paragraph "
              r"counts\), (\d+) paragraphs, (\d+) with as many sentences in English as in "
              r"French; (\d+) sentence pairs \((\d+) untranslated and (\d+) with an empty "
              r"token left out\)", r.stdout)
c.true("the handbook's files, paragraphs and sentence pairs are the recomputed ones",
       m and [int(v) for v in m.groups()]
       == [stats["files"], stats["skipped"], stats["paragraphs"], stats["aligned"],
           len(all_pairs), stats["untranslated"], stats["empty"]], r.stdout[:400])
m = re.search(r"(\d+) pairs \((\d+) to train, (\d+) held out\); vocabularies (\d+) and (\d+) "
              r"tokens \(min_freq 2: (\d+) and (\d+); the model's tables: (\d+) and (\d+)\)",
              r.stdout)
c.true("the pair count and the book's vocabulary sizes",
       m and [int(v) for v in m.groups()[:7]]
       == [LIMIT, LIMIT - LIMIT // 10, LIMIT // 10, min(len(src_vocab), int(m.group(8))),
           min(len(tgt_vocab), int(m.group(9))), len(src_vocab), len(tgt_vocab)], r.stdout[:600])
# (The checkpoint check below needs the vocabularies whole.)
c.true("the vocabularies fit the model's tables",
       m and len(src_vocab) <= int(m.group(8)) and len(tgt_vocab) <= int(m.group(9)))
longer = sum(1 for e, f in pairs if len(e) >= T or len(f) >= T)
c.true("the pairs that truncate_pad truncates",
       f"{longer} pairs with a side of more than {T - 1} tokens: truncated to {T} "
       "(truncate_pad)" in r.stdout, str(longer))
c.true("one epoch, a finite loss",
       re.search(r"^epoch 1: loss (\d+\.\d+)$", r.stdout, re.M) is not None)

# The held-out pairs printed: every tenth pair, the first eight; the
# translations are the book's predict_seq2seq with the checkpoint.
state = load_safetensors(ck)
for k, n in (("encoder.embedding.weight", len(src_vocab)),
             ("decoder.embedding.weight", len(tgt_vocab)),
             ("decoder.dense.weight", len(tgt_vocab)), ("decoder.dense.bias", len(tgt_vocab))):
    state[k] = state[k][:n]
net = EncoderDecoder(Seq2SeqEncoder(len(src_vocab), 32, 32, 2, 0.1),
                     Seq2SeqAttentionDecoder(len(tgt_vocab), 32, 32, 2, 0.1))
net.load_state_dict(state, strict=True)
lines = r.stdout.split("\n")
first = next((i for i, ln in enumerate(lines) if " tokens/sec on host" in ln), None)
shown = lines[first + 1:first + 9] if first is not None else []
held = pairs[9::10][:8]
c.true("eight held-out translations printed", len(shown) == 8 and len(held) == 8,
       "\n".join(shown)[-500:])
for (e, f), line in zip(held, shown):
    en, ref = " ".join(e), " ".join(f)
    head, tail = f"{en} => ", f" (reference: {ref})"
    ok = line.startswith(head) and line.endswith(tail)
    c.true(f"'{en[:60]}': the held-out pair", ok, line[:300])
    if not ok:
        continue
    ours, score = line[len(head):-len(tail)].rsplit(", bleu ", 1)
    theirs = predict_seq2seq(net, en, src_vocab, tgt_vocab, T)
    c.true(f"'{en[:60]}': d2lc's translation '{ours}' is predict_seq2seq's",
           ours == theirs, theirs)
    c.true(f"'{en[:60]}': bleu {score} is the book's",
           abs(float(score) - bleu(ours, ref, k=2)) < 6e-4, str(bleu(ours, ref, k=2)))
c.true("a held-out BLEU",
       re.search(r"held-out BLEU \(k=2, mean over 70 pairs\): [\d.]+", r.stdout) is not None)

# Handbook directories without usable files.
bad = os.path.join(tmp, "hb")
os.makedirs(os.path.join(bad, "en-US"))
os.makedirs(os.path.join(bad, "fr-FR"))
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "0.005", "--corpus", bad],
             expect_ok=False)
c.true("en-US/ and fr-FR/ without a common .html file is an error naming the directory",
       r.returncode == 1 and f"{bad}: no .html file in both en-US/ and fr-FR/" in r.stderr,
       r.stderr[-300:])
open(os.path.join(bad, "en-US", "a.html"), "w").write('<div class="para">One.</div>')
open(os.path.join(bad, "fr-FR", "a.html"), "w").write(
    '<div class="para">Un.</div><div class="para">Deux.</div>')
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "0.005", "--corpus", bad],
             expect_ok=False)
c.true("only files with unequal paragraph counts is an error",
       r.returncode == 1 and f"{bad}: no chapter file has as many paragraphs" in r.stderr,
       r.stderr[-300:])
c.finish()
