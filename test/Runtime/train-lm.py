# RUN: %python %s %models
# d2lc-train's language-model task with the book's GRU (models/gru_lm.mlir,
# clipping at norm 1, lr 1, batch 32, 35 steps) on The Adventures of Tom
# Sawyer (Debian's golang-github-pierrec-lz4-dev), host backend:
#  - two epochs (about 660 steps) bring the training perplexity below 10
#    and below the corpus's bigram perplexity (10.1), computed here from the
#    text: a model that only learned which letter follows which would sit
#    there (measured: 12.7 after the first epoch, 9.6 after the second);
#  - the checkpoint loads into the book's RNNModel(nn.GRU(28, 256)) with
#    strict=True, and PyTorch, with the book's tokenizer and Vocab written
#    here, generates the sample d2lc-train printed;
#  - --held-out 0.1: the printed held-out perplexity is PyTorch's on the
#    checkpoint over the same windows;
#  - bad corpora are clear errors.
import collections
import math
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from d2lmodels import RNNModel
from d2ltest import Checker, load_safetensors, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
CORPUS = "/usr/share/gocode/src/github.com/pierrec/lz4/testdata/Mark.Twain-Tom.Sawyer.txt"

# The book's read_time_machine / tokenize('char') / Vocab / corpus.
lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower()
         for line in open(CORPUS, errors="replace").read().split("\n")]
text = "".join(lines)
counter = collections.Counter(text)
idx_to_token = ["<unk>"] + [t for t, _ in sorted(counter.items(), key=lambda x: x[1], reverse=True)]
token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
n = len(text)
pairs = collections.Counter(zip(text, text[1:]))
bigram = math.exp(-sum(v / (n - 1) * math.log(v / counter[a]) for (a, _), v in pairs.items()))
print(f"{n} characters, {len(idx_to_token)} tokens, bigram perplexity {bigram:.2f}")

cu, ck = os.path.join(tmp, "gru.cu"), os.path.join(tmp, "gru.safetensors")
run_tool([tool("d2lc"), os.path.join(models_dir, "gru_lm.mlir"), "--train", "--clip-norm", "1",
          "-o", cu])
r = run_tool([tool("d2lc-train"), cu, "--epochs", "2", "--lr", "1", "--checkpoint", ck])
print(r.stdout, end="")
ppl = [float(v) for v in re.findall(r"epoch \d: perplexity ([\d.]+)\n[\d.]+ tokens/sec on host", r.stdout)]
c.true("two epoch lines", len(ppl) == 2, r.stdout)
c.true("perplexity falls", len(ppl) == 2 and ppl[1] < ppl[0], str(ppl))
c.true("perplexity after two epochs below 10 and the bigram perplexity",
       len(ppl) == 2 and ppl[1] < min(10.0, bigram), f"{ppl} vs {bigram:.2f}")
sample = re.findall(r"sample: (.*)\n", r.stdout)[-1]


net = RNNModel(nn.GRU(28, 256), 28)
net.load_state_dict(load_safetensors(ck), strict=True)
out = [token_to_idx[ch] for ch in "tom "]
with torch.no_grad():
    for _ in range(50):  # greedy, the last 35 characters as context
        window = torch.tensor([out[-35:]])
        logits, _ = net(window, torch.zeros(1, 1, 256))
        out.append(int(logits[-1].argmax()))
ours = "".join(idx_to_token[i] for i in out)
c.true("PyTorch generates the printed sample from the checkpoint", ours == sample,
       f"{ours!r} vs {sample!r}")


# --held-out 0.1 on the first 60,000 characters: the perplexity printed for
# the held-out tenth is PyTorch's on the checkpoint over the same windows
# (consecutive 35-character subsequences after the training text, 32 per
# batch, a zero state each batch, exp of the mean of the batch means).
ck2 = os.path.join(tmp, "held-out.safetensors")
r = run_tool([tool("d2lc-train"), cu, "--epochs", "1", "--lr", "1", "--held-out", "0.1",
              "--limit", "60000", "--checkpoint", ck2])
print(r.stdout, end="")
held = re.search(r"held-out perplexity ([\d.]+) \((\d+) windows", r.stdout)
net.load_state_dict(load_safetensors(ck2), strict=True)
# The vocabulary of the first 60,000 characters (d2lc-train builds it from
# the text it reads; the frequency order differs from the whole book's).
counts = collections.Counter(text[:60000])
order = ["<unk>"] + [t for t, _ in sorted(counts.items(), key=lambda x: x[1], reverse=True)]
limited = [order.index(ch) for ch in text[:60000]]
train_end = 60000 - int(0.1 * 60000)
batches = (60000 - train_end - 1) // 35 // 32
losses = []
with torch.no_grad():
    for k in range(batches):
        starts = [train_end + (k * 32 + b) * 35 for b in range(32)]
        X = torch.tensor([limited[s0:s0 + 35] for s0 in starts])
        Y = torch.tensor([limited[s0 + 1:s0 + 36] for s0 in starts])
        logits, _ = net(X, torch.zeros(1, 32, 256))
        losses.append(F.cross_entropy(logits, Y.T.reshape(-1)).item())
ref = math.exp(sum(losses) / len(losses))
c.true("--held-out: the held-out perplexity is PyTorch's on the checkpoint",
       held is not None and int(held.group(2)) == batches * 32
       and abs(float(held.group(1)) - ref) < 1e-4 * ref, f"{held and held.groups()} vs {ref:.4f}")


def expect_error(what, args, message):
    r = run_tool([tool("d2lc-train"), cu] + args, expect_ok=False)
    c.true(what, r.returncode == 1 and message in r.stderr, f"rc {r.returncode}: {r.stderr.strip()}")


expect_error("a missing corpus", ["--corpus", os.path.join(tmp, "none.txt")], "none.txt: cannot open")
small = os.path.join(tmp, "small.txt")
open(small, "w").write("the quick brown fox jumps over the lazy dog\n" * 3)
expect_error("a corpus too small", ["--corpus", small], "are too few for one batch of 32 x 35")
abc = os.path.join(tmp, "abc.txt")
open(abc, "w").write("abc " * 5000)
expect_error("a corpus with another vocabulary", ["--corpus", abc],
             "has 5 tokens ('<unk>' and its characters) but")
expect_error("--task of another kind", ["--task", "classify"], "is a language model")
expect_error("--held-out leaving too little", ["--held-out", "0.001", "--limit", "60000"],
             "too few for one batch of 32 x 35")
c.finish()
