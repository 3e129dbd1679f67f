# RUN: %python %s %models
# With --early-update a conv's weight gradient is never stored: its update
# runs in the epilogue of the gradient's GEMM (conv_wgrad), on each element
# as it is computed, written over the weight; when the GEMM's long reduction
# is split, in the launch that adds the partial sums. Weight decay's wd w and
# momentum's mu v join the epilogue too. Checked, through the host backend,
# against PyTorch's SGD step (relative 1e-4): the parameters, BatchNorm
# statistics and momentum buffers after one step of
# - LeNet at batch 32 (its convs' reductions split: partial sums), plain SGD
#   and momentum 0.9 with weight decay 1e-5 (lr 1e4: the new parameters
#   are mostly the step, so they check the gradient);
# - the ResNet residual block at batch 1 (one whole reduction), the same two;
# and the structure: every conv's weight gradient is the root of an
# epilogue group that writes its weight in place, and ResNet-18's step has
# no weight-gradient buffer; with momentum and weight decay its estimated
# peak (recomputation's) is plain SGD's, and without fusion (gradients
# stored) the estimate counts them. The reference evaluator runs the fused
# IR of each step too.
import os
import re
import sys
import tempfile

import torch
from d2lmodels import CNN_MODELS, MODELS, biases_before_bn, randomize, reference_step, state_tensors
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
LR = 1e4  # large: the new parameters are mostly the step (the gradient), checked


def compile_step(name, batch, momentum, wd, emit_mlir=False):
    out = os.path.join(tmp, f"{name}-{batch}-{momentum}-{wd}.{'mlir' if emit_mlir else 'cu'}")
    args = [tool("d2lc"), os.path.join(models_dir, name + ".mlir"), "--train", "--batch",
            str(batch), "--early-update", "-o", out]
    if momentum:
        args += ["--momentum", str(momentum)]
    if wd:
        args += ["--weight-decay", str(wd)]
    if emit_mlir:
        args.append("--emit-mlir")
    run_tool(args)
    return out


def epilogues(mlir):
    """The weight-gradient epilogue groups of @train_step: (the group's
    launches, whether it writes over an input)."""
    text = open(mlir).read()
    body = text[text.index("@train_step"):text.index("@eval_step")]
    groups = []
    for m in re.finditer(r'd2l\.fused "epilogue"\((.*?)\) \{d2l\.buffer(.*?)\n(.*?)\n(.*?)\n',
                         body):
        if "d2l.conv2d_backward_filter" in m.group(4):
            groups.append(m.group(2))
    alone = len(re.findall(r"d2l\.conv2d_backward_filter [^:{\n]*\{d2l\.buffer", body))
    return groups, alone


def check(name, make, shape, batch, momentum, wd, split):
    tag = f"{name} b{batch} momentum {momentum} wd {wd}:"
    groups, standalone = epilogues(compile_step(name, batch, momentum, wd, emit_mlir=True))
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in make().modules())
    c.true(f"{tag} every conv's weight gradient starts an epilogue group",
           len(groups) == convs and standalone == 0,
           f"{len(groups)} groups, {standalone} alone, {convs} convs")
    c.true(f"{tag} each written over its weight", all("in_place" in g for g in groups))
    c.true(f"{tag} the reductions are {'split' if split else 'whole'}",
           all(('role = "sum_splits"' in g) == split for g in groups))
    g = torch.Generator().manual_seed(batch + len(name))
    x = torch.randn((batch,) + tuple(shape[1:]), generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    net = randomize(make(), seed=len(name))
    inputs = dict({k: v.clone() for k, v in state_tensors(net).items()}, X=x, labels=y,
                  lr=torch.tensor(LR))
    ref = reference_step(net, x, y, LR, momentum, wd)
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    save_safetensors(inp, inputs)
    run_tool([tool("d2lc-run"), compile_step(name, batch, momentum, wd), "--backend", "host",
              "--entry", "train_step", "--inputs", inp, "-o", out])
    ours = {"kernels": load_safetensors(out)}
    # The reference evaluator on the same fused IR (it runs the group's body:
    # the gradient materialised, then the update).
    run_tool([tool("d2lc-run"), compile_step(name, batch, momentum, wd, emit_mlir=True),
              "--backend", "eval", "--entry", "train_step", "--inputs", inp, "-o", out])
    ours["evaluator"] = load_safetensors(out)
    noise = biases_before_bn(net)
    for k, v in ref.items():
        if k.startswith("grad."):
            continue
        if k in noise or (k.startswith("momentum.") and k.split(".", 1)[1] in noise):
            continue  # a bias before BatchNorm: f32 noise around a zero gradient
        for how, got in ours.items():
            c.close(f"{tag} {how} {k}", got[k], v, 1e-4)


for momentum, wd in ((0.0, 0.0), (0.9, 1e-5)):
    check("lenet", *MODELS["lenet"], 32, momentum, wd, split=True)
    check("residual_block", *CNN_MODELS["residual_block"], 1, momentum, wd, split=False)

# ResNet-18: its largest weight gradients (4.1's two 512x512x3x3 convs) were
# the arena's peak at the start of the backward pass with early updates; now
# no weight gradient has a buffer in the step's memory plan.
src = os.path.join(models_dir, "resnet18.mlir")
plan = os.path.join(tmp, "resnet18-early.mlir")
run_tool([tool("d2lc"), src, "--train", "--batch", "32", "--early-update", "--emit-mlir",
          "-o", plan])
text = open(plan).read()
buffers = re.findall(r'name = "conv2d_backward_filter"', text[:text.index("@eval_step")])
c.true("ResNet-18 b32 early updates: no weight gradient buffer", not buffers,
       f"{len(buffers)} buffers")
early = run_tool([tool("d2lc"), src, "--train", "--batch", "32", "--early-update",
                  "--mem-report"]).stdout
# Recomputation's estimate counts the updates written in place with momentum
# and weight decay too (the new momentum comes from mu v + g, whose mu v
# reads the old one): the same peak as plain SGD, and a budget of 0.6 of it
# is met (it was refused: every new momentum counted as a buffer of its own).
peaks = {}
for tag, extra in (("sgd", []), ("momentum", ["--momentum", "0.9", "--weight-decay", "1e-3"])):
    r = run_tool([tool("d2lc"), src, "--train", "--batch", "32", "--early-update",
                  "--remat-budget", "0.6", "--mem-report"] + extra).stdout
    peaks[tag] = int(re.search(r"peak estimate before\s+(\d+)", r).group(1))
    arena_b = int(re.search(r"  arena\s+(\d+)", r).group(1))
    budget_b = int(re.search(r"  budget\s+(\d+)", r).group(1))
    c.true(f"ResNet-18 b32 early, {tag}, budget 0.6: arena within it", arena_b <= budget_b,
           f"arena {arena_b}, budget {budget_b}")
c.true("ResNet-18 b32 early: momentum's estimated peak is plain SGD's",
       peaks["momentum"] == peaks["sgd"], str(peaks))
# Without fusion the weight gradients are stored: the estimate counts them,
# so the first plan's arena fits (it was 8.8 MB under the arena and needed
# three plans).
r = run_tool([tool("d2lc"), src, "--train", "--batch", "32", "--early-update", "--no-fuse",
              "--remat-budget", "0.6", "--mem-report"]).stdout
c.true("ResNet-18 b32 early, unfused, budget 0.6: planned once, within it",
       "arena plans" not in r and int(re.search(r"  arena\s+(\d+)", r).group(1))
       <= int(re.search(r"  budget\s+(\d+)", r).group(1)), r[r.index("recomputation"):][:400])
print("ResNet-18 b32 arena with early updates:",
      re.search(r"  arena\s+(\d+)", early).group(1))
c.finish()
