# RUN: %python %s %models
# @train_step of every model in models/ against torch.autograd and
# torch.optim.SGD on the same weights and batch: the loss, every gradient,
# the parameters after one step with momentum and weight decay (non-zero
# momentum buffers), BatchNorm's running statistics, and the L1 penalty.
# @eval_step against the model in eval mode. f32, relative 1e-4.
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from d2lmodels import MODELS, randomize, state_tensors, with_philox_dropout
from d2ltest import Checker, evaluate, load_safetensors, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
batch_path = os.path.join(tmp, "batch.safetensors")
subprocess.run([tool("d2lc-data"), "--split", "train", "--count", "256", "-o", batch_path],
               check=True)
batch = load_safetensors(batch_path)
SEED = 20240601


def compile_step(name, options):
    out = os.path.join(tmp, f"{name}-{abs(hash(options))}.mlir")
    run_tool([tool("d2lc-opt"), os.path.join(models_dir, name + ".mlir"),
              f"--d2l-train-step={options} emit-grads=true", "--d2l-simplify", "-o", out])
    return out


def reference_step(net, x, y, lr, momentum, wd, l1, buffers, mse):
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    out = net(x)
    loss = F.mse_loss(out, y) if mse else F.cross_entropy(out, y)
    if l1:
        loss = loss + l1 * sum(p.abs().sum() for p in net.parameters())
    opt.zero_grad()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    if momentum:
        for n, p in net.named_parameters():
            opt.state[p]["momentum_buffer"] = buffers[n].clone()
    opt.step()
    new_buffers = {n: opt.state[p]["momentum_buffer"] for n, p in net.named_parameters()} \
        if momentum else {}
    return loss.detach(), grads, state_tensors(net), new_buffers


# Biases that a BatchNorm in training mode follows (their gradient is zero).
BIAS_BEFORE_BN = {"lenet_bn": ("0.bias", "4.bias", "9.bias", "12.bias")}
configs = [("momentum=0.9 weight-decay=0.001", 0.9, 1e-3, 0.0),
           ("l1=0.0001", 0.0, 0.0, 1e-4)]
for name, (make, shape) in MODELS.items():
    mse = name == "linear_regression"
    g = torch.Generator().manual_seed(len(name))
    if mse:
        x = torch.randn(shape, generator=g)
        y = x @ torch.tensor([[2.0], [-3.4]]) + 4.2
    else:
        x, y = batch["X"], batch["labels"]
    for options, momentum, wd, l1 in configs:
        net = randomize(make(), seed=len(name))
        net = with_philox_dropout(net, SEED) if name == "mlp_dropout" else net
        before = {k: v.clone() for k, v in state_tensors(net).items()}
        buffers = {n: torch.randn(p.shape, generator=g) * 0.01 for n, p in net.named_parameters()}
        lr = 0.1
        loss, grads, after, new_buffers = reference_step(net, x, y, lr, momentum, wd, l1,
                                                         buffers, mse)
        opts = options + (" loss=mse" if mse else "")
        inputs = dict(before, X=x, labels=y, lr=torch.tensor(lr))
        if momentum:
            inputs.update({f"momentum.{n}": b for n, b in buffers.items()})
        if name == "mlp_dropout":
            inputs["seed"] = torch.tensor(SEED, dtype=torch.int64)
        out = evaluate(compile_step(name, opts), inputs, entry="train_step")
        tag = f"{name} [{options}]"
        c.close(f"{tag} loss", out["loss"], loss, 1e-4)
        for n in grads:
            c.close(f"{tag} new {n}", out[n], after[n], 1e-4)
            if n in BIAS_BEFORE_BN.get(name, ()):
                # BatchNorm subtracts the batch mean, so the loss does not
                # depend on the bias before it: the exact gradient is the L1
                # term alone, and both PyTorch's and d2lc's values are that
                # plus f32 cancellation noise. Check against the exact value
                # at the scale of the layer's weight gradient.
                weight = n.replace("bias", "weight")
                exact = l1 * torch.sign(before[n])
                err = (out[f"grad.{n}"] - exact).abs().max().item()
                scale = grads[weight].abs().max().item()
                c.true(f"{tag} grad.{n} is {'l1 sign(b)' if l1 else 'zero'} (BatchNorm follows)",
                       err <= 1e-4 * scale, f"|ours - exact| {err:.2e}, weight grad scale {scale:.2e}")
                continue
            c.close(f"{tag} grad.{n}", out[f"grad.{n}"], grads[n], 1e-4)
        for n in after:
            if n.endswith(("running_mean", "running_var")):
                c.close(f"{tag} new {n}", out[n], after[n], 1e-4)
        for n, b in new_buffers.items():
            c.close(f"{tag} momentum.{n}", out[f"momentum.{n}"], b, 1e-4)

    # @eval_step: the model in eval mode (running statistics, no dropout).
    net = randomize(make(), seed=len(name)).eval()
    with torch.no_grad():
        logits = net(x)
        loss = F.mse_loss(logits, y) if mse else F.cross_entropy(logits, y)
    out = evaluate(compile_step(name, "loss=mse" if mse else "loss=cross_entropy"),
                   dict(state_tensors(net), X=x, labels=y), entry="eval_step")
    out_name = "y_hat" if mse else "logits"
    c.close(f"{name} eval_step {out_name}", out[out_name], logits, 1e-4)
    c.close(f"{name} eval_step loss", out["loss"], loss, 1e-4)
c.finish()
