# RUN: %python %s %models
# The translation models against the book's code (test/lib/d2lmodels.py,
# written as the book writes it):
#  - models/seq2seq_attention.mlir: the sequence to sequence model with
#    Bahdanau attention (10.4: Seq2SeqEncoder, AdditiveAttention,
#    Seq2SeqAttentionDecoder in an EncoderDecoder; embed 32, hidden 32, two
#    GRU layers);
#  - models/transformer.mlir: the Transformer (10.7: TransformerEncoder and
#    TransformerDecoder of EncoderBlocks and DecoderBlocks with
#    MultiHeadAttention, AddNorm, PositionWiseFFN, PositionalEncoding;
#    hidden 32, 2 layers, 4 heads, FFN 64), LayerNorms non-trivial.
# For each, on the host backend:
#  - the same state_dict names and shapes, and the parameter count;
#  - @forward, with source valid lengths from 1 to 10 (so the masked
#    softmax masks), relative 1e-5: against the book's model in eval mode
#    for the GRU model, in training mode with dropout 0 for the Transformer
#    (its decoder's self-attention is then causal, as d2lc's always is:
#    that is what the book's step-by-step prediction computes);
#  - @train_step (dropout 0 in the model text on both sides, clipping by
#    the global norm as train_seq2seq does, at 0.01 so that it acts on
#    this loss's scale, SGD lr 0.5) with padded targets labelled -1: the
#    loss, every gradient and every parameter after the step, relative
#    1e-4. d2lc's loss is the mean over the B T positions of the
#    cross-entropy of the valid ones, which is the book's MaskedSoftmaxCELoss
#    summed over the batch (`l.sum()`) divided by B;
#  - the book's own train_seq2seq step: `d2lc --loss-scale B` differentiates
#    B times that loss, which is `MaskedSoftmaxCELoss(...).sum()`, then the
#    book's grad_clipping at 1 (acting): the clipped gradients and the
#    parameters after an SGD step, relative 1e-4.
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from d2lmodels import (EncoderDecoder, Seq2SeqAttentionDecoder, Seq2SeqEncoder,
                       book_transformer, sequence_mask, xavier_init_weights)
from d2ltest import Checker, run_compiled, run_tool, tool

models_dir = sys.argv[1]
c = Checker()


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):  # the book's
    def forward(self, pred, label, valid_len):
        weights = torch.ones_like(label)
        weights = sequence_mask(weights, valid_len)
        self.reduction = 'none'
        unweighted_loss = super(MaskedSoftmaxCELoss, self).forward(
            pred.permute(0, 2, 1), label)
        weighted_loss = (unweighted_loss * weights).mean(dim=1)
        return weighted_loss


def grad_clipping(net, theta):  # the book's
    params = [p for p in net.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm
    return norm
tmp = tempfile.mkdtemp()
B, T = 64, 10



def time_major(logits):  # [B, T, V] -> rows t B + b
    return logits.permute(1, 0, 2).reshape(T * B, -1)


def check(name, make_net, causal_in_training):
    src = os.path.join(models_dir, name + ".mlir")
    text = open(src).read()
    SRC, TGT = (int(re.search(r'tensor<(\d+)x32xf32> \{d2l\.init = "normal\(1\)", '
                              r'd2l\.param = "%s' % part, text).group(1))
                for part in ("encoder", "decoder"))
    torch.manual_seed(0)
    net = make_net(SRC, TGT)
    net.apply(xavier_init_weights)
    with torch.no_grad():  # non-trivial LayerNorm parameters
        for m in net.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    args = {m.group(2): tuple(int(d) for d in m.group(1).split("x"))
            for m in re.finditer(r'tensor<([0-9x]+)xf32> \{d2l\.init = "[^"]+", '
                                 r'd2l\.param = "([^"]+)"\}', text)}
    c.true(f"{name}: parameter names and shapes are the book's",
           args == {k: tuple(v.shape) for k, v in state.items()}, str(sorted(args)))
    count = int(re.search(r"// (\d+) trainable parameters", text).group(1))
    c.true(f"{name}: parameter count", count == sum(v.numel() for v in net.parameters()),
           str(count))

    g = torch.Generator().manual_seed(1)
    X = torch.randint(0, SRC, (B, T), generator=g)
    X_len = torch.randint(1, T + 1, (B,), generator=g)
    X_len[0], X_len[1] = 1, T
    dec_X = torch.randint(0, TGT, (B, T), generator=g)
    Y = torch.randint(0, TGT, (B, T), generator=g)
    Y_len = torch.randint(1, T + 1, (B,), generator=g)
    labels = Y.clone()
    labels[torch.arange(T)[None, :] >= Y_len[:, None]] = -1

    fwd = os.path.join(tmp, name + ".cu")
    run_tool([tool("d2lc"), src, "-o", fwd])
    net.train() if causal_in_training else net.eval()
    with torch.no_grad():
        ref = time_major(net(X, dec_X, X_len))
    feed = dict(state, X=X, X_valid_len=X_len, dec_X=dec_X)
    c.close(f"{name}: forward", run_compiled(fwd, "forward", feed)["logits"], ref, 1e-5)

    # Training: dropout 0 on both sides, clipping (acting), SGD.
    nodrop = os.path.join(tmp, name + "-nodrop.mlir")
    open(nodrop, "w").write(text.replace("p = 1.000000e-01 : f64", "p = 0.000000e+00 : f64"))
    train = os.path.join(tmp, name + "-train.cu")
    clip, lr = 0.01, 0.5
    run_tool([tool("d2lc"), nodrop, "--train", "--clip-norm", str(clip), "--emit-grads", "-o",
              train])
    ours = run_compiled(train, "train_step",
                        dict(feed, labels=labels.T.reshape(-1), lr=torch.tensor(lr),
                             seed=torch.tensor(3, dtype=torch.int64)))
    net.train()
    logits = time_major(net(X, dec_X, X_len))
    loss = F.cross_entropy(logits, labels.T.reshape(-1), ignore_index=-1,
                           reduction="sum") / (B * T)
    net.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
    c.true(f"{name}: clipping at {clip} acts (gradient norm {norm.item():.4f})", norm > clip)
    c.close(f"{name}: train_step loss", ours["loss"], loss.detach(), 1e-5)
    for k, p in net.named_parameters():
        c.close(f"{name}: grad.{k}", ours["grad." + k], p.grad, 1e-4)
    with torch.no_grad():
        for p in net.parameters():
            p -= lr * p.grad
    for k, v in net.state_dict().items():
        c.close(f"{name}: {k} after the step", ours[k], v, 1e-4)

    # The book's train_seq2seq step: l.sum() of MaskedSoftmaxCELoss, then
    # grad_clipping(net, 1); d2lc with --loss-scale B and --clip-norm 1.
    book = os.path.join(tmp, name + "-book.cu")
    run_tool([tool("d2lc"), nodrop, "--train", "--loss-scale", str(B), "--clip-norm", "1",
              "--emit-grads", "-o", book])
    ours = run_compiled(book, "train_step",
                        dict(feed, labels=labels.T.reshape(-1), lr=torch.tensor(lr),
                             seed=torch.tensor(3, dtype=torch.int64)))
    net.load_state_dict(state)
    net.train()
    out = net(X, dec_X, X_len)
    l = MaskedSoftmaxCELoss()(out, Y, Y_len)
    net.zero_grad()
    l.sum().backward()
    norm = grad_clipping(net, 1)
    c.true(f"{name}: the book's clipping at 1 acts (norm {norm.item():.3f})", norm > 1)
    c.close(f"{name}: --loss-scale {B}: the loss is still the mean, l.sum() / B",
            ours["loss"], l.sum().detach() / B, 1e-5)
    for k, p in net.named_parameters():
        c.close(f"{name}: --loss-scale {B}: grad.{k} is the book's clipped gradient",
                ours["grad." + k], p.grad, 1e-4)


check("seq2seq_attention", lambda s, t: EncoderDecoder(Seq2SeqEncoder(s, 32, 32, 2, 0.0),
                                                       Seq2SeqAttentionDecoder(t, 32, 32, 2, 0.0)),
      causal_in_training=False)
check("transformer", lambda s, t: book_transformer(s, t, dropout=0.0), causal_in_training=True)
c.finish()
