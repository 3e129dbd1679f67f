# RUN: %python %s %models
# Every model of models/ compiled by d2lc and run on the host backend (the
# generated CUDA through the runtime's emulation header): @forward against
# PyTorch (eval mode) and the reference evaluator; @train_step (momentum 0.9,
# weight decay 1e-3) against the evaluator for one step and against
# torch.optim.SGD for three consecutive steps (parameters resident in the
# runtime between steps). f32, relative 1e-4.
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from d2lmodels import MODELS, randomize, state_tensors, with_philox_dropout
from d2ltest import Checker, load_safetensors, rel_err, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
batch_path = os.path.join(tmp, "batch.safetensors")
subprocess.run([tool("d2lc-data"), "--split", "train", "--count", "256", "-o", batch_path],
               check=True)
batch = load_safetensors(batch_path)
SEED = 77
LR, MOMENTUM, WD = 0.1, 0.9, 1e-3
# Biases that a BatchNorm in training mode follows: their exact gradient is
# zero and both sides hold f32 cancellation noise.
BIAS_BEFORE_BN = {"lenet_bn": ("0.bias", "4.bias", "9.bias", "12.bias")}


def path(name):
    return os.path.join(tmp, name)


def run(model_file, entry, inputs, repeat=1, eval_backend=False):
    inp, out = path("in.safetensors"), path("out.safetensors")
    save_safetensors(inp, inputs)
    args = [tool("d2lc-run"), model_file, "--entry", entry, "--inputs", inp, "-o", out]
    if not eval_backend:
        args += ["--backend", "host", "--repeat", str(repeat)]
    run_tool(args)
    return load_safetensors(out)


def compare(tag, ours, ref, noise_names=(), scale_of=None):
    for k, v in ref.items():
        if k not in ours:
            c.true(f"{tag} has {k}", False)
            continue
        base = k.split(".", 1)[1] if k.startswith(("grad.", "momentum.")) else None
        if base in noise_names:
            scale = scale_of(k)
            err = (ours[k].double() - v.double()).abs().max().item()
            c.true(f"{tag} {k} (zero up to noise)", err <= 1e-4 * scale,
                   f"|diff| {err:.2e}, scale {scale:.2e}")
        else:
            c.close(f"{tag} {k}", ours[k], v, 1e-4)


for name, (make, shape) in MODELS.items():
    mse = name == "linear_regression"
    loss = "mse" if mse else "cross_entropy"
    src = os.path.join(models_dir, name + ".mlir")
    fwd_cu, train_cu, train_mlir = path(name + ".cu"), path(name + "_train.cu"), path(name + "_train.mlir")
    run_tool([tool("d2lc"), src, "-o", fwd_cu])
    opts = ["--train", "--loss", loss, "--momentum", str(MOMENTUM), "--weight-decay", str(WD),
            "--emit-grads"]
    run_tool([tool("d2lc"), src, "-o", train_cu] + opts)
    run_tool([tool("d2lc"), src, "-o", train_mlir, "--emit-mlir"] + opts)

    g = torch.Generator().manual_seed(len(name))
    if mse:
        x = torch.randn(shape, generator=g)
        y = x @ torch.tensor([[2.0], [-3.4]]) + 4.2
    else:
        x, y = batch["X"], batch["labels"]
    net = randomize(make(), seed=len(name))
    net = with_philox_dropout(net, SEED) if name == "mlp_dropout" else net
    weights = {k: v.clone() for k, v in state_tensors(net).items()}
    out_name = "y_hat" if mse else "logits"

    # Forward: PyTorch in eval mode, the evaluator, the host backend.
    net.eval()
    with torch.no_grad():
        ref = net(x)
    host = run(fwd_cu, "forward", dict(weights, X=x))
    evaluated = run(src, "forward", dict(weights, X=x), eval_backend=True)
    c.close(f"{name} forward host vs PyTorch", host[out_name], ref, 1e-4)
    c.close(f"{name} forward host vs evaluator", host[out_name], evaluated[out_name], 1e-4)

    # One training step: host against the evaluator on the same compiled IR.
    inputs = dict(weights, X=x, labels=y, lr=torch.tensor(LR))
    if name == "mlp_dropout":
        inputs["seed"] = torch.tensor(SEED, dtype=torch.int64)
    host1 = run(train_cu, "train_step", inputs)
    eval1 = run(train_mlir, "train_step", inputs, eval_backend=True)
    noise = BIAS_BEFORE_BN.get(name, ())
    def weight_grad_scale(k):
        param = k.split(".", 1)[1] if k.startswith(("grad.", "momentum.")) else k
        return eval1["grad." + param.replace("bias", "weight")].abs().max().item()
    compare(f"{name} train_step host vs evaluator", host1, eval1, noise, weight_grad_scale)

    # Three steps: host (parameters stay resident) against torch.optim.SGD.
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    for step in range(3):
        out = net(x)
        l = F.mse_loss(out, y) if mse else F.cross_entropy(out, y)
        opt.zero_grad()
        l.backward()
        opt.step()
    host3 = run(train_cu, "train_step", inputs, repeat=3)
    c.close(f"{name} 3 steps: loss of step 3", host3["loss"], l.detach(), 1e-4)
    after = state_tensors(net)
    for k, v in after.items():
        c.close(f"{name} 3 steps: {k}", host3[k], v, 1e-4)
    for pname, p in net.named_parameters():
        buf = opt.state[p]["momentum_buffer"]
        if pname in noise:
            err = (host3["momentum." + pname] - buf).abs().max().item()
            scale = after[pname.replace("bias", "weight")].abs().max().item()
            c.true(f"{name} 3 steps: momentum.{pname} (zero up to noise)", err <= 1e-4 * scale,
                   f"|diff| {err:.2e}")
        else:
            c.close(f"{name} 3 steps: momentum.{pname}", host3["momentum." + pname], buf, 1e-4)
c.finish()
