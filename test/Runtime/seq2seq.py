# RUN: %python %s %models
# models/seq2seq_attention.mlir against the book's sequence to sequence
# model with Bahdanau attention (10.4: Seq2SeqEncoder, AdditiveAttention,
# Seq2SeqAttentionDecoder, EncoderDecoder; embed 32, hidden 32, two GRU
# layers), written here as the book writes it:
#  - the same state_dict names and shapes, and the parameter count;
#  - @forward (eval mode) on the host backend, with source valid lengths
#    from 1 to 10 (so the masked softmax masks), relative 1e-5;
#  - @train_step (dropout 0 in the model text on both sides, clipping by
#    the global norm as train_seq2seq does, at 0.01 so that it acts on
#    this loss's scale, SGD lr 0.5) with padded targets
#    labelled -1: the loss, every gradient and every parameter after the
#    step, relative 1e-4. d2lc's loss is the mean over the B T positions of
#    the cross-entropy of the valid ones, which is the book's
#    MaskedSoftmaxCELoss summed over the batch (`l.sum()`) divided by B.
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()


def sequence_mask(X, valid_len, value=0):
    maxlen = X.size(1)
    mask = torch.arange((maxlen), dtype=torch.float32,
                        device=X.device)[None, :] < valid_len[:, None]
    X[~mask] = value
    return X


def masked_softmax(X, valid_lens):
    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    else:
        shape = X.shape
        if valid_lens.dim() == 1:
            valid_lens = torch.repeat_interleave(valid_lens, shape[1])
        else:
            valid_lens = valid_lens.reshape(-1)
        X = sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
        return nn.functional.softmax(X.reshape(shape), dim=-1)


class AdditiveAttention(nn.Module):
    def __init__(self, key_size, query_size, num_hiddens, dropout, **kwargs):
        super(AdditiveAttention, self).__init__(**kwargs)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens):
        queries, keys = self.W_q(queries), self.W_k(keys)
        features = queries.unsqueeze(2) + keys.unsqueeze(1)
        features = torch.tanh(features)
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class Seq2SeqEncoder(nn.Module):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super(Seq2SeqEncoder, self).__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        X = self.embedding(X)
        X = X.permute(1, 0, 2)
        output, state = self.rnn(X)
        return output, state


class Seq2SeqAttentionDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super(Seq2SeqAttentionDecoder, self).__init__(**kwargs)
        self.attention = AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, enc_valid_lens, *args):
        outputs, hidden_state = enc_outputs
        return (outputs.permute(1, 0, 2), hidden_state, enc_valid_lens)

    def forward(self, X, state):
        enc_outputs, hidden_state, enc_valid_lens = state
        X = self.embedding(X).permute(1, 0, 2)
        outputs, self._attention_weights = [], []
        for x in X:
            query = torch.unsqueeze(hidden_state[-1], dim=1)
            context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
            x = torch.cat((context, torch.unsqueeze(x, dim=1)), dim=-1)
            out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
            outputs.append(out)
            self._attention_weights.append(self.attention.attention_weights)
        outputs = self.dense(torch.cat(outputs, dim=0))
        return outputs.permute(1, 0, 2), [enc_outputs, hidden_state, enc_valid_lens]


class EncoderDecoder(nn.Module):
    def __init__(self, encoder, decoder, **kwargs):
        super(EncoderDecoder, self).__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, *args):
        enc_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        return self.decoder(dec_X, dec_state)[0]


def xavier_init_weights(m):
    if type(m) == nn.Linear:
        nn.init.xavier_uniform_(m.weight)
    if type(m) == nn.GRU:
        for param in m._flat_weights_names:
            if "weight" in param:
                nn.init.xavier_uniform_(m._parameters[param])


B, T, SRC, TGT = 64, 10, 184, 201
src = os.path.join(models_dir, "seq2seq_attention.mlir")
text = open(src).read()
torch.manual_seed(0)
net = EncoderDecoder(Seq2SeqEncoder(SRC, 32, 32, 2, 0.0), Seq2SeqAttentionDecoder(TGT, 32, 32, 2, 0.0))
net.apply(xavier_init_weights)
state = {k: v.clone() for k, v in net.state_dict().items()}
args = {m.group(2): tuple(int(d) for d in m.group(1).split("x"))
        for m in re.finditer(r'tensor<([0-9x]+)xf32> \{d2l\.init = "[^"]+", d2l\.param = "([^"]+)"\}', text)}
c.true("parameter names and shapes are the book's",
       args == {k: tuple(v.shape) for k, v in state.items()}, str(sorted(args)))
count = int(re.search(r"// (\d+) trainable parameters", text).group(1))
c.true("parameter count", count == sum(v.numel() for v in net.parameters()), str(count))

g = torch.Generator().manual_seed(1)
X = torch.randint(0, SRC, (B, T), generator=g)
X_len = torch.randint(1, T + 1, (B,), generator=g)
X_len[0], X_len[1] = 1, T
dec_X = torch.randint(0, TGT, (B, T), generator=g)
Y = torch.randint(0, TGT, (B, T), generator=g)
Y_len = torch.randint(1, T + 1, (B,), generator=g)
labels = Y.clone()
labels[torch.arange(T)[None, :] >= Y_len[:, None]] = -1
inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")


def run(cu, entry, feed):
    save_safetensors(inp, feed)
    run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", entry, "--inputs", inp,
              "-o", out])
    return load_safetensors(out)


def time_major(logits):  # [B, T, V] -> rows t B + b
    return logits.permute(1, 0, 2).reshape(T * B, -1)


fwd = os.path.join(tmp, "s2s.cu")
run_tool([tool("d2lc"), src, "-o", fwd])
net.eval()
with torch.no_grad():
    ref = time_major(net(X, dec_X, X_len))
feed = dict(state, X=X, X_valid_len=X_len, dec_X=dec_X)
c.close("forward (eval mode)", run(fwd, "forward", feed)["logits"], ref, 1e-5)

# Training: dropout 0 on both sides, clipping (acting), SGD.
nodrop = os.path.join(tmp, "s2s-nodrop.mlir")
open(nodrop, "w").write(text.replace("p = 1.000000e-01 : f64", "p = 0.000000e+00 : f64"))
train = os.path.join(tmp, "s2s-train.cu")
clip, lr = 0.01, 0.5
run_tool([tool("d2lc"), nodrop, "--train", "--clip-norm", str(clip), "--emit-grads", "-o", train])
ours = run(train, "train_step", dict(feed, labels=labels.T.reshape(-1), lr=torch.tensor(lr),
                                     seed=torch.tensor(3, dtype=torch.int64)))
net.train()
logits = time_major(net(X, dec_X, X_len))
loss = F.cross_entropy(logits, labels.T.reshape(-1), ignore_index=-1, reduction="sum") / (B * T)
net.zero_grad()
loss.backward()
norm = torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
c.true(f"clipping at {clip} acts (gradient norm {norm.item():.4f})", norm > clip)
c.close("train_step loss", ours["loss"], loss.detach(), 1e-5)
for k, p in net.named_parameters():
    c.close(f"grad.{k}", ours["grad." + k], p.grad, 1e-4)
with torch.no_grad():
    for p in net.parameters():
        p -= lr * p.grad
for k, v in net.state_dict().items():
    c.close(f"{k} after the step", ours[k], v, 1e-4)
c.finish()
