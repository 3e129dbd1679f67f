# RUN: %python %s %models
# d2lc-train --task seq2seq on the English-French pairs of LibreOffice's
# French catalogues (scripts/setup.sh extracts Debian's libreoffice-l10n-fr
# into /var/cache/d2lc), host backend, with the book's seq2seq with
# Bahdanau attention compiled with Adam and clipping at 1 (train_seq2seq's
# settings):
#  - the data: the .mo files read here with Python's struct (independently
#    of d2lc), the same filter, the book's preprocess_nmt and Vocab
#    (min_freq 2) give the pair count and the vocabulary sizes d2lc-train
#    prints;
#  - six epochs on the first 3,000 pairs (lr 0.01): the loss per token
#    falls, and the translations are more than <unk>;
#  - the printed translations of held-out pairs are what the book's
#    predict_seq2seq gives with the checkpoint loaded (strict) into the
#    book's EncoderDecoder, and the printed BLEU values are the book's bleu;
#  - the same for the Transformer (models/transformer.mlir) barely trained
#    (one epoch at lr 1e-6 on 700 pairs: arbitrary translations); the book
#    decodes step by step with cached keys and values, d2lc reruns its
#    causal decoder;
#  - bad corpora are clear errors.
import os
import re
import struct
import sys
import tempfile

import torch
from d2lmodels import (EncoderDecoder, Seq2SeqAttentionDecoder, Seq2SeqEncoder, Vocab, bleu,
                       predict_seq2seq, preprocess_nmt,
                       book_transformer)
from d2ltest import Checker, load_safetensors, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
MO_DIR = "/var/cache/d2lc/libreoffice-l10n-fr"
T, LIMIT = 10, 3000


def read_mo(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic == 0x950412DE else ">"
    n, orig, trans = struct.unpack(e + "III", data[8:20])
    for i in range(n):
        ln, off = struct.unpack(e + "II", data[orig + 8 * i:orig + 8 * i + 8])
        lt, ot = struct.unpack(e + "II", data[trans + 8 * i:trans + 8 * i + 8])
        msgid, msgstr = data[off:off + ln], data[ot:ot + lt]
        if b"\0" not in msgid:
            yield msgid.decode("utf-8", "replace"), msgstr.decode("utf-8", "replace")


# The pairs, as d2lrt::loadMoPairs documents them.
english = re.compile(r"[A-Za-z][A-Za-z ,.'!?-]*")
bad_french = re.compile(r"[0-9%$<>{}\\/|\[\]()=&#*\"@:;\t\n]")
allowed = {0x152, 0x153, 0x178, 0x2019, 0x202F}
pairs, seen = [], set()
for name in sorted(f for f in os.listdir(MO_DIR) if f.endswith(".mo")):
    for msgid, msgstr in read_mo(os.path.join(MO_DIR, name)):
        en = msgid.split("\x04")[-1].replace("~", "").replace("_", "")
        fr = msgstr.split("\x04")[-1].replace("~", "").replace("_", "")
        if not english.fullmatch(en) or bad_french.search(fr):
            continue
        if any(ord(ch) > 0xFF and ord(ch) not in allowed for ch in fr):
            continue
        te, tf = preprocess_nmt(en).split(' '), preprocess_nmt(fr).split(' ')
        if not (1 <= len(te) <= T - 1 and 1 <= len(tf) <= T - 1) or '' in te or '' in tf:
            continue
        if en in seen:
            continue
        seen.add(en)
        pairs.append((te, tf))
print(f"{len(pairs)} pairs in {MO_DIR}")
c.true("thousands of pairs", len(pairs) > 5000, str(len(pairs)))
all_pairs = pairs


def train_and_translate(model, epochs, lr, limit, make_net, trained):
    """d2lc-train on the first `limit` pairs; the counts, the loss, and the
    printed translations and BLEU against the book's code."""
    pairs = all_pairs[:limit]
    src_vocab = Vocab([e for e, _ in pairs], min_freq=2,
                      reserved_tokens=['<pad>', '<bos>', '<eos>'])
    tgt_vocab = Vocab([f for _, f in pairs], min_freq=2,
                      reserved_tokens=['<pad>', '<bos>', '<eos>'])
    cu = os.path.join(tmp, model + ".cu")
    ck = os.path.join(tmp, model + ".safetensors")
    run_tool([tool("d2lc"), os.path.join(models_dir, model + ".mlir"), "--train",
              "--optimizer", "adam", "--clip-norm", "1", "-o", cu])
    r = run_tool([tool("d2lc-train"), cu, "--epochs", str(epochs), "--lr", str(lr), "--limit",
                  str(limit), "--checkpoint", ck])
    print(r.stdout, end="")
    head = re.search(r"(\d+) pairs \((\d+) to train, (\d+) held out\); vocabularies (\d+) and "
                     r"(\d+)", r.stdout)
    c.true(f"{model}: the pair count and the book's vocabulary sizes",
           head and [int(v) for v in head.groups()]
           == [len(pairs), len(pairs) - len(pairs) // 10, len(pairs) // 10, len(src_vocab),
               len(tgt_vocab)], r.stdout[:300])
    losses = [float(v) for v in re.findall(r"epoch \d: loss ([\d.]+)", r.stdout)]
    c.true(f"{model}: {epochs} epochs" + (", the loss falls" if trained else ""),
           len(losses) == epochs and (not trained or losses[-1] < 0.8 * losses[0]),
           str(losses))
    # The checkpoint in the book's model for these vocabularies (the rows of
    # d2lc's larger tables past them are no token); its translations are
    # d2lc's.
    state = load_safetensors(ck)
    for k, n in (("encoder.embedding.weight", len(src_vocab)),
                 ("decoder.embedding.weight", len(tgt_vocab)),
                 ("decoder.dense.weight", len(tgt_vocab)), ("decoder.dense.bias", len(tgt_vocab))):
        state[k] = state[k][:n]
    net = make_net(len(src_vocab), len(tgt_vocab))
    net.load_state_dict(state, strict=True)
    lines = re.findall(r"^(.*) => (.*), bleu ([\d.]+) \(reference: (.*)\)$", r.stdout, re.M)
    c.true(f"{model}: held-out translations printed", len(lines) == 8, r.stdout[-500:])
    c.true(f"{model}: some translations are more than <unk>",
           sum(1 for _, ours, _, _ in lines if ours.replace("<unk>", "").strip()) >= 3,
           str([ours for _, ours, _, _ in lines]))
    for en, ours, score, ref in lines:
        theirs = predict_seq2seq(net, en, src_vocab, tgt_vocab, T)
        c.true(f"{model} '{en}': d2lc's translation '{ours}' is predict_seq2seq's",
               ours == theirs, theirs)
        c.true(f"{model} '{en}': bleu {score} is the book's",
               abs(float(score) - bleu(ours, ref, k=2)) < 6e-4, str(bleu(ours, ref, k=2)))
    c.true(f"{model}: a held-out BLEU",
           re.search(r"held-out BLEU \(k=2, mean over \d+ pairs\): [\d.]+", r.stdout)
           is not None)
    return cu


cu = train_and_translate(
    "seq2seq_attention", 6, 0.01, LIMIT, lambda s, t: EncoderDecoder(
        Seq2SeqEncoder(s, 32, 32, 2, 0.1), Seq2SeqAttentionDecoder(t, 32, 32, 2, 0.1)),
    trained=True)
# The Transformer barely trained (lr 1e-6: its translations are arbitrary
# tokens, which makes them a sharp check): the book's predict_seq2seq runs
# its decoder step by step with cached keys and values, d2lc reruns the
# whole causal decoder on the growing input.
train_and_translate("transformer", 1, 1e-6, 700, lambda s, t: book_transformer(s, t),
                    trained=False)

# Bad corpora.
empty = os.path.join(tmp, "empty")
os.mkdir(empty)
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "0.005", "--corpus", empty],
             expect_ok=False)
c.true("a directory without .mo files is an error", r.returncode == 1 and "no .mo files"
       in r.stderr, r.stderr[-300:])
open(os.path.join(empty, "x.mo"), "w").write("hello")
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "0.005", "--corpus", empty],
             expect_ok=False)
c.true("a broken .mo file is a located error", r.returncode == 1 and "x.mo" in r.stderr
       and "not a GNU gettext .mo file" in r.stderr, r.stderr[-300:])
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "0.005", "--held-out", "0.1"],
             expect_ok=False)
c.true("--held-out on a translation model is an error", r.returncode == 1
       and "--held-out is for a language model" in r.stderr, r.stderr[-300:])
c.finish()
