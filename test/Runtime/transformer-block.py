# RUN: %python %s %models
# models/transformer_block.mlir against the book's TransformerEncoderBlock
# (11.7: MultiHeadAttention with scaled dot products and 4 heads, AddNorm
# with LayerNorm, PositionWiseFFN), written here as the book writes it:
#  - the same state_dict names and shapes;
#  - @forward (eval mode) on the host backend, relative 1e-5;
#  - @train_step with a squared loss and dropout set to 0 in the model text
#    (so that both sides are deterministic) on the host backend: loss and
#    every gradient, relative 1e-4.
import math
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from d2ltest import Checker, load_safetensors, rel_err, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()


def transpose_qkv(X, num_heads):
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
    X = X.permute(0, 2, 1, 3)
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X, num_heads):
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class DotProductAttention(nn.Module):
    def __init__(self, dropout, **kwargs):
        super(DotProductAttention, self).__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
        self.attention_weights = F.softmax(scores, dim=-1)  # masked_softmax, valid_lens None
        return torch.bmm(self.dropout(self.attention_weights), values)


class MultiHeadAttention(nn.Module):
    def __init__(self, key_size, query_size, value_size, num_hiddens,
                 num_heads, dropout, bias=False, **kwargs):
        super(MultiHeadAttention, self).__init__(**kwargs)
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(self, queries, keys, values, valid_lens):
        queries = transpose_qkv(self.W_q(queries), self.num_heads)
        keys = transpose_qkv(self.W_k(keys), self.num_heads)
        values = transpose_qkv(self.W_v(values), self.num_heads)
        output = self.attention(queries, keys, values, valid_lens)
        return self.W_o(transpose_output(output, self.num_heads))


class PositionWiseFFN(nn.Module):
    def __init__(self, ffn_num_input, ffn_num_hiddens, ffn_num_outputs, **kwargs):
        super(PositionWiseFFN, self).__init__(**kwargs)
        self.dense1 = nn.Linear(ffn_num_input, ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    def __init__(self, normalized_shape, dropout, **kwargs):
        super(AddNorm, self).__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(normalized_shape)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)


class EncoderBlock(nn.Module):
    def __init__(self, key_size, query_size, value_size, num_hiddens,
                 norm_shape, ffn_num_input, ffn_num_hiddens, num_heads,
                 dropout, use_bias=False, **kwargs):
        super(EncoderBlock, self).__init__(**kwargs)
        self.attention = MultiHeadAttention(key_size, query_size, value_size, num_hiddens,
                                            num_heads, dropout, use_bias)
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(ffn_num_input, ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(norm_shape, dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


src = os.path.join(models_dir, "transformer_block.mlir")
text = open(src).read()
torch.manual_seed(0)
block = EncoderBlock(32, 32, 32, 32, [32], 32, 64, 4, 0.0)
with torch.no_grad():  # non-trivial LayerNorm parameters
    for ln in (block.addnorm1.ln, block.addnorm2.ln):
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.5, 0.5)
state = {"0." + k: v.clone() for k, v in block.state_dict().items()}
args = {m.group(2): tuple(int(d) for d in m.group(1).split("x"))
        for m in re.finditer(r'tensor<([0-9x]+)xf32> \{d2l\.init = "[^"]+", d2l\.param = "([^"]+)"\}', text)}
c.true("parameter names and shapes are the book's",
       args == {k: tuple(v.shape) for k, v in state.items()}, str(sorted(args)))

g = torch.Generator().manual_seed(1)
x = torch.randn(64, 10, 32, generator=g)
target = torch.randn(64, 10, 32, generator=g)
inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")


def run(cu, entry, feed):
    save_safetensors(inp, feed)
    run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", entry, "--inputs", inp,
              "-o", out])
    return load_safetensors(out)


fwd = os.path.join(tmp, "block.cu")
run_tool([tool("d2lc"), src, "-o", fwd])
block.eval()
with torch.no_grad():
    ref = block(x, None)
c.close("forward (eval mode)", run(fwd, "forward", dict(state, X=x))["Y"], ref, 1e-5)

# Training: dropout 0 on both sides.
nodrop = os.path.join(tmp, "block-nodrop.mlir")
open(nodrop, "w").write(text.replace("p = 1.000000e-01 : f64", "p = 0.000000e+00 : f64"))
train = os.path.join(tmp, "block-train.cu")
run_tool([tool("d2lc"), nodrop, "--train", "--loss", "mse", "--emit-grads", "-o", train])
ours = run(train, "train_step", dict(state, X=x, labels=target, lr=torch.tensor(0.1),
                                     seed=torch.tensor(3, dtype=torch.int64)))
block.train()
loss = F.mse_loss(block(x, None), target)
block.zero_grad()
loss.backward()
c.close("train_step loss", ours["loss"], loss.detach(), 1e-5)
for k, p in block.named_parameters():
    c.close(f"grad.0.{k}", ours["grad.0." + k], p.grad, 1e-4)
c.finish()
