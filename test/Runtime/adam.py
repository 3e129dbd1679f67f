# RUN: %python %s %models
# d2lc --train --optimizer adam against torch.optim.Adam, host backend:
# the book's MLP and LeNet-BN (BatchNorm statistics updated alongside), from
# the same weights, three steps on three batches with weight decay, and
# once with β1 = 0 (no first moment) and a larger ε.
#  - In f64 (the model text with f32 replaced by f64, through the unchanged
#    pipeline): the loss of each step, every parameter, statistic and Adam
#    moment after the three steps, and the step count, relative 1e-9.
#  - In f32: the loss of each step, relative 1e-5. (Adam divides each
#    gradient element by its own magnitude, so f32 rounding of tiny
#    gradients, such as those of the biases before BatchNorm, which are
#    zero but for rounding, becomes steps of up to lr: f32 parameters are
#    not comparable element by element.)
# The biases before BatchNorm have zero gradients but for rounding (1e-17
# in f64): their moments are noise on both sides, their steps below
# lr 1e-6, and the running means they shift agree to 1e-8. The states go
# back in with the next step's inputs. A bad option is a
# clear error.
import os
import sys
import tempfile

import torch
import torch.nn.functional as F
from d2lmodels import biases_before_bn, lenet_bn, mlp, randomize, state_tensors
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()


def check(name, make, lr, wd, betas, eps, f64):
    dt = torch.float64 if f64 else torch.float32
    tag = f"{name} {'f64' if f64 else 'f32'} lr {lr} wd {wd} betas {betas} eps {eps}"
    src = os.path.join(models_dir, name + ".mlir")
    if f64:
        text = open(src).read().replace("xf32>", "xf64>").replace("tensor<f32>", "tensor<f64>")
        src = os.path.join(tmp, name + "-f64.mlir")
        open(src, "w").write(text)
    cu = os.path.join(tmp, f"{name}.cu")
    run_tool([tool("d2lc"), src, "--train", "--batch", "16", "--optimizer", "adam",
              "--weight-decay", str(wd), "--beta1", str(betas[0]), "--beta2", str(betas[1]),
              "--eps", str(eps), "-o", cu])
    net = randomize(make(), seed=3).to(dt)
    weights = {k: v.clone() for k, v in state_tensors(net).items()}
    start = {k: v.clone() for k, v in weights.items()}
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=betas, eps=eps, weight_decay=wd)
    g = torch.Generator().manual_seed(4)
    net.train()
    out, inp = os.path.join(tmp, "out.safetensors"), os.path.join(tmp, "in.safetensors")
    for step in range(3):
        x = torch.rand(16, 1, 28, 28, generator=g).to(dt)
        y = torch.randint(0, 10, (16,), generator=g)
        save_safetensors(inp, dict(weights, X=x, labels=y, lr=torch.tensor(lr, dtype=dt)))
        run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", "train_step",
                  "--inputs", inp, "-o", out])
        ours = load_safetensors(out)
        weights = {k: v for k, v in ours.items() if k in weights or k.startswith("adam.")}
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        c.close(f"{tag}: loss of step {step + 1}", ours["loss"], loss.detach(),
                1e-9 if f64 else 1e-5)
    if not f64:
        return
    noise = biases_before_bn(net)
    for k, v in state_tensors(net).items():
        if k in noise:
            c.true(f"{tag}: {k} moved less than lr 1e-6 on both sides",
                   (weights[k] - start[k]).abs().max() < lr * 1e-6
                   and (v - start[k]).abs().max() < lr * 1e-6)
        else:
            c.close(f"{tag}: {k} after 3 steps", weights[k], v,
                    1e-8 if k.endswith("running_mean") else 1e-9)
    names = dict(zip(net.parameters(), (k for k, _ in net.named_parameters())))
    for p, st in opt.state.items():
        if names[p] in noise:
            continue
        c.close(f"{tag}: adam.exp_avg.{names[p]}", weights["adam.exp_avg." + names[p]],
                st["exp_avg"], 1e-9)
        c.close(f"{tag}: adam.exp_avg_sq.{names[p]}", weights["adam.exp_avg_sq." + names[p]],
                st["exp_avg_sq"], 1e-9)
    c.close(f"{tag}: adam.step", weights["adam.step"], torch.tensor(3.0), 0)


for f64 in (True, False):
    check("mlp", mlp, 0.01, 1e-3, (0.9, 0.999), 1e-8, f64)
    check("lenet_bn", lenet_bn, 0.005, 0.0, (0.9, 0.999), 1e-8, f64)
    check("mlp", mlp, 0.02, 0.0, (0.0, 0.99), 1e-3, f64)
r = run_tool([tool("d2lc"), os.path.join(models_dir, "mlp.mlir"), "--train", "--optimizer",
              "adam", "--beta1", "1.5", "-o", os.path.join(tmp, "bad.cu")], expect_ok=False)
c.true("beta1 1.5 is a located error", r.returncode != 0 and "beta1" in r.stderr
       and "mlp.mlir" in r.stderr, r.stderr[-300:])
c.true("no file after the error", not os.path.exists(os.path.join(tmp, "bad.cu")))
r = run_tool([tool("d2lc"), os.path.join(models_dir, "mlp.mlir"), "--train", "--optimizer",
              "adagrad", "-o", os.path.join(tmp, "bad.cu")], expect_ok=False)
c.true("an unknown optimizer is an error", r.returncode != 0 and "sgd or adam" in r.stderr,
       r.stderr[-300:])
c.finish()
