# RUN: %python %s %models %S/Inputs
# Fused (d2lc's default) against unfused (--no-fuse) against PyTorch,
# through the host backend, f32, relative 1e-4:
# - @train_step (momentum 0.9, weight decay 1e-3) of LeNet-BN (fused
#   conv + BN + sigmoid, folded nothing) and of a ResNet-18 residual block
#   with its 1x1 shortcut (conv + BN + ReLU, residual add + ReLU, remat):
#   loss, every gradient, the parameters, momentum buffers and BatchNorm
#   running statistics after one step;
# - @forward with BatchNorm folded into the convolutions (inference) against
#   the model in eval mode;
# - the degenerate cases at batch size 1 (Inputs/degenerate.mlir): BN
#   without a following ReLU, a conv output used twice, ReLU before BN;
#   and the residual block at batch size 1;
# - @train_step with --early-update (each parameter and momentum buffer
#   updated right after its gradient, in place), fused and unfused, against
#   PyTorch too.
import os
import sys
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from d2lmodels import (CNN_MODELS, MODELS, biases_before_bn, randomize, reference_step,
                       state_tensors)
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models_dir, inputs_dir = sys.argv[1], sys.argv[2]
c = Checker()
tmp = tempfile.mkdtemp()
LR, MOMENTUM, WD = 0.1, 0.9, 1e-3


class Degenerate(nn.Module):
    """Inputs/degenerate.mlir in PyTorch."""

    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(4)
        self.c1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(36, 3, bias=False)

    def forward(self, x):
        h = F.max_pool2d(self.bn0(self.c0(x)), 3, 1, 1)
        y = self.c1(h)
        h = F.relu(self.bn1(y)) + y
        h = torch.tanh(self.bn2(F.relu(self.c2(h))))
        h = F.avg_pool2d(h, 2, 1, 1)[:, :, :3, :3]
        return self.fc(h.flatten(1))


def path(name):
    return os.path.join(tmp, name)


def compile_model(src, tag, batch, train, fuse, early=False):
    out = path(f"{tag}-{batch}-{'train' if train else 'fwd'}-{'f' if fuse else 'u'}"
               f"{'-early' if early else ''}.cu")
    args = [tool("d2lc"), src, "--batch", str(batch), "-o", out]
    if train:
        args += ["--train", "--momentum", str(MOMENTUM), "--weight-decay", str(WD),
                 "--emit-grads"]
    if not fuse:
        args.append("--no-fuse")
    if early:
        args.append("--early-update")
    run_tool(args)
    return out


def run(cu, entry, inputs):
    inp, out = path("in.safetensors"), path("out.safetensors")
    save_safetensors(inp, inputs)
    run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", entry, "--inputs", inp,
              "-o", out])
    return load_safetensors(out)


def compare_step(tag, ours, ref, noise):
    for k, v in ref.items():
        if k not in ours:
            c.true(f"{tag} has {k}", False)
            continue
        base = k.split(".", 1)[1] if k.startswith(("grad.", "momentum.")) else None
        if base in noise:
            scale = ref["grad." + base.replace("bias", "weight")].abs().max().item()
            err = (ours[k].double() - v.double()).abs().max().item()
            c.true(f"{tag} {k} (zero up to noise)", err <= 1e-4 * max(scale, 1.0),
                   f"|diff| {err:.2e}")
        else:
            c.close(f"{tag} {k}", ours[k], v, 1e-4)


def check_model(tag, src, make, shape, batch, forward=True):
    g = torch.Generator().manual_seed(batch + len(tag))
    shape = (batch,) + tuple(shape[1:])
    x = torch.randn(shape, generator=g)
    y = torch.randint(0, 10 if tag != "degenerate" else 3, (batch,), generator=g)
    net = randomize(make(), seed=len(tag))
    weights = {k: v.clone() for k, v in state_tensors(net).items()}
    inputs = dict(weights, X=x, labels=y, lr=torch.tensor(LR))
    noise = biases_before_bn(net)

    if forward:
        net.eval()
        with torch.no_grad():
            ref = net(x)
        fused = run(compile_model(src, tag, batch, False, True), "forward", dict(weights, X=x))
        unfused = run(compile_model(src, tag, batch, False, False), "forward",
                      dict(weights, X=x))
        c.close(f"{tag} b{batch} forward, BN folded, vs PyTorch", fused["logits"], ref, 1e-4)
        c.close(f"{tag} b{batch} forward, unfused, vs PyTorch", unfused["logits"], ref, 1e-4)

    ref = reference_step(net, x, y, LR, MOMENTUM, WD)
    fused = run(compile_model(src, tag, batch, True, True), "train_step", inputs)
    unfused = run(compile_model(src, tag, batch, True, False), "train_step", inputs)
    compare_step(f"{tag} b{batch} train_step fused vs PyTorch:", fused, ref, noise)
    compare_step(f"{tag} b{batch} train_step unfused vs PyTorch:", unfused, ref, noise)
    compare_step(f"{tag} b{batch} train_step fused vs unfused:", fused,
                 {k: unfused[k] for k in ref}, noise)
    for fuse in (True, False):
        early = run(compile_model(src, tag, batch, True, fuse, early=True), "train_step", inputs)
        compare_step(f"{tag} b{batch} train_step {'fused' if fuse else 'unfused'}, early "
                     f"in-place updates, vs PyTorch:", early, ref, noise)


check_model("lenet_bn", os.path.join(models_dir, "lenet_bn.mlir"), *MODELS["lenet_bn"], 32)
check_model("residual_block", os.path.join(models_dir, "residual_block.mlir"),
            *CNN_MODELS["residual_block"], 4)
check_model("residual_block", os.path.join(models_dir, "residual_block.mlir"),
            *CNN_MODELS["residual_block"], 1, forward=False)
check_model("degenerate", os.path.join(inputs_dir, "degenerate.mlir"), Degenerate,
            (1, 3, 6, 6), 1)
c.finish()
