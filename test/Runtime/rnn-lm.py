# RUN: %python %s %models
# models/rnn_lm.mlir, gru_lm.mlir and lstm_lm.mlir (the book's RNNModel
# around nn.RNN / nn.GRU / nn.LSTM(28, 256), unrolled over 35 steps at
# batch 32) against the book's PyTorch code: the same state_dict names and
# shapes, and one @train_step on the host backend with gradient clipping
# (d2lc --clip-norm, as torch.nn.utils.clip_grad_norm_) and SGD at lr 1,
# from the same weights, one-hot batch and initial state: loss (relative
# 1e-5), the clipped gradients and the parameters after the step (1e-4).
# Clipping is checked where it acts (norm 0.01, below the gradient's) and,
# for the GRU, where it does not (norm 100). The recurrence is one d2l.scan
# in the model: @forward as written (the reference evaluator runs the scan
# step by step) and as --d2l-unroll expands it both give the book's logits.
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from d2lmodels import RNNModel, rnn_lm_batch
from d2ltest import Checker, evaluate, load_safetensors, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()


for name, layer, clips in [("gru_lm", nn.GRU, (0.01, 100.0)), ("rnn_lm", nn.RNN, (0.01,)),
                           ("lstm_lm", nn.LSTM, (0.01,))]:
    src = os.path.join(models_dir, name + ".mlir")
    text = open(src).read()
    torch.manual_seed(0)
    net = RNNModel(layer(28, 256), 28)
    args = {m.group(3): tuple(int(d) for d in m.group(1).split("x"))
            for m in re.finditer(r'tensor<([0-9x]+)xf32> \{d2l\.init = "([^"]+)", d2l\.param = "([^"]+)"\}', text)}
    c.true(f"{name}: parameter names and shapes are the book's",
           args == {k: tuple(v.shape) for k, v in net.state_dict().items()}, str(args))

    inputs, Y, state, cell, feed = rnn_lm_batch(net, layer is nn.LSTM)
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    save_safetensors(inp, feed)

    with torch.no_grad():
        want, _ = net(inputs, (state, cell) if layer is nn.LSTM else state)
    unrolled = os.path.join(tmp, f"{name}-unrolled.mlir")
    run_tool([tool("d2lc-opt"), src, "--d2l-unroll", "-o", unrolled])
    c.true(f"{name}: one d2l.scan, none after --d2l-unroll",
           text.count("d2l.scan") == 1 and "d2l.scan" not in open(unrolled).read())
    fwd = {k: v for k, v in feed.items() if k not in ("labels", "lr")}
    for how, path in (("scan", src), ("unrolled", unrolled)):
        got = evaluate(path, fwd)
        c.close(f"{name}: @forward ({how}, reference evaluator) gives the book's logits",
                got["logits"], want, 1e-5)

    for clip in clips:
        cu = os.path.join(tmp, f"{name}-{clip}.cu")
        run_tool([tool("d2lc"), src, "--train", "--clip-norm", str(clip), "--emit-grads", "-o", cu])
        run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", "train_step", "--inputs",
                  inp, "-o", out])
        ours = load_safetensors(out)
        ref = RNNModel(layer(28, 256), 28)
        ref.load_state_dict(net.state_dict())
        logits, _ = ref(inputs, (state, cell) if layer is nn.LSTM else state)
        loss = F.cross_entropy(logits, Y.T.reshape(-1))
        ref.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), clip)
        grads = {k: p.grad.clone() for k, p in ref.named_parameters()}
        with torch.no_grad():
            for p in ref.parameters():
                p -= 1.0 * p.grad
        tag = f"{name} clip {clip}"
        print(f"{tag}: gradient norm {norm.item():.4f}")
        c.true(f"{tag}: clipping {'acts' if clip < norm else 'does not act'}",
               (clip < norm) == (clip == 0.01))
        c.close(f"{tag}: loss", ours["loss"], loss.detach(), 1e-5)
        for k, v in grads.items():
            c.close(f"{tag}: grad.{k}", ours["grad." + k], v, 1e-4)
        for k, v in ref.state_dict().items():
            c.close(f"{tag}: {k} after the step", ours[k], v, 1e-4)
c.finish()
