#!/usr/bin/env python3
"""The measuring half of scripts/gpu-check.sh: on a machine with a GPU, CUDA
and PyTorch but no MLIR, checks and times the precompiled models of
gpu-bundle/ with the runtime alone:

  1. compiles every model with NVRTC, all at once (cold times, then the
     cache is warm for the rest);
  2. each model's train_step on the GPU against PyTorch (CUDA) from the same
     weights and batch (three SGD steps with momentum and weight decay), and
     step times of d2lc, PyTorch eager and (for some) torch.compile;
  3. the 10000x1000x2000 matmul;
  4. the language models (RNN, GRU, LSTM, clipping at 1) against the book's
     RNNModel on the GPU, and tokens per second;
  5. fused against unfused (a conv-BN-ReLU block, LeNet-BN, the residual
     block and ResNet-18 at batch 32);
  6. d2lc-train: LeNet on Fashion-MNIST with the book's settings on the GPU;
  7. the translation models (seq2seq with attention, the Transformer; Adam,
     clipping at 1): d2lc's step against the book's model on PyTorch, and
     d2lc-train --task seq2seq on LibreOffice's pairs (loss, BLEU, tokens/s);
  8. ResNet-18 at batch 32 with --early-update against the default;
  9. rematerialization: ResNet-18 (batch 32, early updates) with the fused
     stem backward and under peak budgets (0.75, 0.55 of its estimated
     peak, and half the bytes it saves without recomputation) against the early-update step (results, step times), and the
     stem kernel's share of a profiled step.

Every section and model is checked on its own: an error is recorded in the
summary and the next one runs. Nothing new starts after --budget seconds.

  gpu_check.py --bundle gpu-bundle --bin build-gpu --out OUT [--device cuda|cpu]

(--device cpu runs the same checks on the host backend, to test the script
on a machine without a GPU.)
"""

import argparse
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from d2lmodels import (CNN_MODELS, MODELS, EncoderDecoder, RNNModel,  # noqa: E402
                       Seq2SeqAttentionDecoder, Seq2SeqEncoder, biases_before_bn,
                       book_transformer, randomize, rnn_lm_batch, state_tensors,
                       with_philox_dropout)
from d2ltest import load_safetensors, rel_err, save_safetensors  # noqa: E402

LR, MOMENTUM, WD, SEED = 0.1, 0.9, 1e-3, 77
# The small models first: they tell soonest whether the backend works.
ORDER = ["mlp", "lenet", "lenet_bn", "softmax_regression", "linear_regression", "mlp_dropout",
         "residual_block", "resnet18", "nin", "alexnet", "vgg11", "googlenet", "fcn"]


class Check:
    def __init__(self, args):
        self.args = args
        self.start = time.monotonic()
        self.tmp = tempfile.mkdtemp()
        self.lines = []
        self.summary = {"errors": {}}
        self.backend = "cuda" if args.device == "cuda" else "host"
        self.run_tool = os.path.join(args.bin, "d2lrt-run")

    def left(self):
        return self.args.budget - (time.monotonic() - self.start)

    def say(self, line):
        print(line, flush=True)
        self.lines.append(line)
        self.save()

    def save(self):
        with open(os.path.join(self.args.out, "summary.json"), "w") as f:
            json.dump(self.summary, f, indent=1)
        with open(os.path.join(self.args.out, "summary.txt"), "w") as f:
            f.write("\n".join([f"# {self.summary.get('device')}, PyTorch {torch.__version__}"]
                              + self.lines) + "\n")

    def guarded(self, what, fn, *a):
        if self.left() <= 0:
            self.say(f"SKIPPED {what}: the budget of {self.args.budget} s is spent")
            return None
        try:
            return fn(*a)
        except Exception as e:  # recorded; the next check runs
            msg = f"{type(e).__name__}: {e}"
            self.summary["errors"][what] = msg[-4000:]
            self.say(f"ERROR {what}: {msg[-1500:]}")
            traceback.print_exc()
            return None

    def run(self, cmd, timeout=None):
        timeout = timeout or max(30.0, min(300.0, self.left() + 30))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(" ".join(cmd) + f" (exit {r.returncode})\n" + r.stdout[-1500:]
                               + r.stderr[-3000:])
        return r.stdout

    def d2lc_time(self, cu, inp, repeats, extra=()):
        out = self.run([self.run_tool, cu, "--backend", self.backend, "--entry", "train_step",
                        "--inputs", inp, "--repeat", str(repeats), "--time", *extra])
        return float(re.search(r"median ([0-9.]+) s", out).group(1))


def torch_time(fn, device, repeats=20):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def precompile(c, arch):
    """NVRTC for every .cu of the bundle at once; fills the cache."""
    compile_tool = os.path.join(c.args.bin, "d2lrt-compile")
    cus = sorted(f for f in os.listdir(c.args.bundle) if f.endswith(".cu"))
    c.summary["compile"] = {}

    def one(f):
        t0 = time.perf_counter()
        out = c.run([compile_tool, os.path.join(c.args.bundle, f), "--arch", arch], timeout=600)
        return f, float(re.search(r"in ([0-9.]+) s", out).group(1)), time.perf_counter() - t0

    workers = max(1, min(len(cus), (os.cpu_count() or 2)))
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(one, f): f for f in cus}
        for fut in concurrent.futures.as_completed(futures):
            try:
                f, cold, _ = fut.result()
                c.summary["compile"][f] = cold
            except Exception as e:
                c.summary["errors"]["compile " + futures[fut]] = str(e)[-3000:]
                print(f"ERROR compile {futures[fut]}: {str(e)[-1500:]}", flush=True)
    wall = time.perf_counter() - t0
    times = c.summary["compile"]
    if times:
        c.say(f"NVRTC {arch}: {len(times)} of {len(cus)} models compiled in {wall:.1f} s wall "
              f"({workers} at once); per model (cold, in parallel) "
              + ", ".join(f"{k[:-3]} {v:.2f} s" for k, v in sorted(times.items())))
    if times:
        # A warm start: the cache answers.
        f = "lenet_train.cu" if "lenet_train.cu" in times else next(iter(times))
        t0 = time.perf_counter()
        c.run([compile_tool, os.path.join(c.args.bundle, f), "--arch", arch])
        c.say(f"NVRTC warm (cache hit, whole process) {f[:-3]}: {time.perf_counter() - t0:.3f} s")


def native_dropout(net):
    """A copy of `net` with nn.Dropout in place of the reference's
    PhiloxDropout."""
    import copy
    net = copy.deepcopy(net)
    for m in list(net.modules()):
        for child_name, child in list(m.named_children()):
            if type(child).__name__ == "PhiloxDropout":
                setattr(m, child_name, nn.Dropout(child.p))
    return net


def check_model(c, name, device):
    make, shape = {**MODELS, **CNN_MODELS}[name]
    cu = os.path.join(c.args.bundle, f"{name}_train.cu")
    result = {}
    mse = name == "linear_regression"
    g = torch.Generator().manual_seed(len(name))
    x = torch.rand(shape, generator=g)
    # FCN classifies every pixel: 10 items and the background.
    label_shape = (shape[0],) + ((shape[2], shape[3]) if name == "fcn" else ())
    y = (x.reshape(shape[0], -1)[:, :2] @ torch.tensor([[2.0], [-3.4]]) + 4.2 if mse
         else torch.randint(0, 11 if name == "fcn" else 10, label_shape, generator=g))
    net = randomize(make(), seed=len(name))
    dropout = any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    net = with_philox_dropout(net, SEED) if dropout else net
    weights = {k: v.clone() for k, v in state_tensors(net).items()}
    inputs = dict(weights, X=x, labels=y, lr=torch.tensor(LR))
    if dropout:
        inputs["seed"] = torch.tensor(SEED, dtype=torch.int64)
    inp = os.path.join(c.tmp, f"{name}-in.safetensors")
    outp = os.path.join(c.tmp, "out.safetensors")
    save_safetensors(inp, inputs)
    # Three steps: parameters and momentum stay resident between them.
    c.run([c.run_tool, cu, "--backend", c.backend, "--entry", "train_step", "--inputs", inp,
           "-o", outp, "--repeat", "3"])
    ours = load_safetensors(outp)
    net = net.to(device).train()
    xd, yd = x.to(device), y.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)

    def step(model, opt=opt):
        o = model(xd)
        loss = F.mse_loss(o, yd) if mse else F.cross_entropy(o, yd)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        loss = step(net)
    errors = {"loss": rel_err(ours["loss"], loss.detach().cpu())}
    noise = biases_before_bn(net)
    for k, v in state_tensors(net).items():
        if k not in noise:
            errors[k] = rel_err(ours[k], v.cpu())
    worst = max(errors.items(), key=lambda kv: kv[1])
    result["loss_rel_err"] = errors["loss"]
    result["max_rel_err"], result["max_rel_err_tensor"] = worst[1], worst[0]
    result["match_1e-4"] = worst[1] <= 1e-4
    result["d2lc_step_s"] = c.d2lc_time(cu, inp, c.args.repeats)
    # Timed with PyTorch's own dropout (the reference's Philox masks are
    # drawn on the CPU, in Python).
    timed = native_dropout(net) if dropout else net
    topt = torch.optim.SGD(timed.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    result["torch_eager_step_s"] = torch_time(lambda: step(timed, topt), device, c.args.repeats)
    if device == "cuda" and name in c.args.compile_models.split(","):
        try:
            compiled = torch.compile(timed)
            result["torch_compile_step_s"] = torch_time(lambda: step(compiled, topt), device,
                                                        c.args.repeats)
        except Exception as e:  # a missing Triton, for example
            result["torch_compile_error"] = str(e)[:300]
    result["batch"] = shape[0]
    c.summary.setdefault("models", {})[name] = result
    c.say(f"{name:18s} batch {shape[0]:4d}  d2lc {result['d2lc_step_s'] * 1e3:9.3f} ms  "
          f"eager {result['torch_eager_step_s'] * 1e3:9.3f} ms  "
          + (f"compile {result['torch_compile_step_s'] * 1e3:9.3f} ms  "
             if "torch_compile_step_s" in result else "")
          + f"eager/d2lc {result['torch_eager_step_s'] / result['d2lc_step_s']:.2f}  "
          f"3 steps vs PyTorch: loss {errors['loss']:.1e}, max {worst[1]:.1e} ({worst[0]})")


def check_matmul(c, device):
    cu = os.path.join(c.args.bundle, "matmul.cu")
    m, k, n = 10000, 1000, 2000
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
    inp, outp = os.path.join(c.tmp, "mm.safetensors"), os.path.join(c.tmp, "mm-out.safetensors")
    save_safetensors(inp, {"A": a, "B": b})
    out = c.run([c.run_tool, cu, "--backend", c.backend, "--inputs", inp, "--repeat", "10",
                 "--time", "-o", outp])
    ours = float(re.search(r"median ([0-9.]+) s", out).group(1))
    prof = c.run([c.run_tool, cu, "--backend", c.backend, "--inputs", inp, "--repeat", "10",
                  "--profile"])
    kernel = float(re.search(r"profile of @forward: ([0-9.]+) s per run", prof).group(1))
    err = rel_err(load_safetensors(outp)["C"], a.double() @ b.double())
    ad, bd = a.to(device), b.to(device)
    theirs = torch_time(lambda: torch.matmul(ad, bd), device, 10)
    prev = torch.backends.cuda.matmul.allow_tf32 if device == "cuda" else False
    flops = 2.0 * m * k * n
    c.summary["matmul"] = {"d2lc_s": ours, "d2lc_kernel_s": kernel, "torch_s": theirs,
                           "rel_err_vs_f64": err,
                           "torch_allow_tf32": prev}
    c.say(f"matmul {m}x{k}x{n}: d2lc kernel {kernel * 1e3:.2f} ms ({flops / kernel / 1e9:.0f} "
          f"GFLOP/s; {ours * 1e3:.2f} ms with the upload of A, B and download of C), torch.matmul {theirs * 1e3:.2f} ms "
          f"({flops / theirs / 1e9:.0f} GFLOP/s, on the device), d2lc rel err vs f64 {err:.1e}")


def check_lm(c, name, device):
    layer = {"rnn_lm": nn.RNN, "gru_lm": nn.GRU, "lstm_lm": nn.LSTM}[name]
    cu = os.path.join(c.args.bundle, f"{name}_clip1.cu")
    torch.manual_seed(0)
    net = RNNModel(layer(28, 256), 28)
    inputs, Y, state, cell, feed = rnn_lm_batch(net, layer is nn.LSTM)
    inp, outp = os.path.join(c.tmp, "lm.safetensors"), os.path.join(c.tmp, "lm-out.safetensors")
    save_safetensors(inp, feed)
    c.run([c.run_tool, cu, "--backend", c.backend, "--entry", "train_step", "--inputs", inp,
           "-o", outp])
    ours = load_safetensors(outp)
    net = net.to(device)
    xd, yd = inputs.to(device), Y.T.reshape(-1).to(device)
    s0 = (state.to(device), cell.to(device)) if layer is nn.LSTM else state.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)

    def step():
        logits, _ = net(xd, s0)
        loss = F.cross_entropy(logits, yd)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        return loss

    loss = step()
    errs = {"loss": rel_err(ours["loss"], loss.detach().cpu())}
    for k, v in net.state_dict().items():
        errs[k] = rel_err(ours[k], v.cpu())
    worst = max(errs.items(), key=lambda kv: kv[1])
    ours_s = c.d2lc_time(cu, inp, c.args.repeats)
    theirs_s = torch_time(step, device, c.args.repeats)
    tokens = 32 * 35
    c.summary.setdefault("lm", {})[name] = {
        "d2lc_step_s": ours_s, "torch_step_s": theirs_s, "loss_rel_err": errs["loss"],
        "max_rel_err": worst[1], "max_rel_err_tensor": worst[0]}
    c.say(f"{name:8s} batch 32 x 35 steps: d2lc {ours_s * 1e3:8.3f} ms ({tokens / ours_s:,.0f} "
          f"tokens/s)  PyTorch {theirs_s * 1e3:8.3f} ms ({tokens / theirs_s:,.0f} tokens/s, "
          f"{'cuDNN' if device == 'cuda' else 'CPU'})  one step vs PyTorch: loss {errs['loss']:.1e}, max {worst[1]:.1e} ({worst[0]})")


def input_shape(cu):
    """The shape of train_step's input X, from the manifest of a .cu."""
    man = json.loads(re.search(r"D2LC-MANIFEST-BEGIN\s*(.*?)\s*D2LC-MANIFEST-END",
                               open(cu).read(), re.S).group(1).lstrip("/ \n"))
    entry = next(e for e in man["entries"] if e["name"] == "train_step")
    return next(b for b in entry["buffers"] if b.get("name") == "X")["shape"]


def check_fusion(c, name, variant="unfused", base="fused"):
    """The `base` compilation (the default) against `variant` (unfused, or
    early: the updates right after their gradients, in place; or a
    recomputing step against the early-update one)."""
    fused = os.path.join(c.args.bundle, f"{name}_{base}.cu")
    unfused = os.path.join(c.args.bundle, f"{name}_{variant}.cu")
    batch = input_shape(fused)
    g = torch.Generator().manual_seed(5)
    inp = os.path.join(c.tmp, f"{name}-in.safetensors")
    save_safetensors(inp, {"X": torch.rand(batch, generator=g),
                           "labels": torch.randint(0, 10, (batch[0],), generator=g),
                           "lr": torch.tensor(LR)})
    res, outs = {}, {}
    for tag, cu in (("fused", fused), ("unfused", unfused)):
        o = os.path.join(c.tmp, f"{name}-{tag}.safetensors")
        c.run([c.run_tool, cu, "--backend", c.backend, "--entry", "train_step", "--inputs", inp,
               "--seed", "0", "-o", o])
        outs[tag] = load_safetensors(o)
        res[tag + "_step_s"] = c.d2lc_time(cu, inp, c.args.repeats, ("--seed", "0"))
    lf, lu = outs["fused"]["loss"].item(), outs["unfused"]["loss"].item()
    res["loss_rel_diff"] = abs(lf - lu) / max(abs(lu), 1e-30)
    # The updated tensors: a figure (ReLU masks flipped by last-bit
    # differences move some gradients of deep BN nets by percents).
    res["max_rel_diff"] = max((outs["fused"][k].double() - v.double()).abs().max().item()
                              / max(v.double().abs().max().item(), 1e-3)
                              for k, v in outs["unfused"].items() if v.is_floating_point())
    res["speedup"] = res["unfused_step_s"] / res["fused_step_s"]
    section = "fusion" if variant == "unfused" else variant
    c.summary.setdefault(section, {})[name] = res
    c.say(f"{section} {name:15s} batch {batch[0]:4d}  "
          f"{base} {res['fused_step_s'] * 1e3:9.3f} ms"
          f"  {variant} {res['unfused_step_s'] * 1e3:9.3f} ms  {variant}/{base} "
          f"{res['speedup']:.2f}x  first-step loss rel diff {res['loss_rel_diff']:.1e}, "
          f"tensors {res['max_rel_diff']:.1e}")


def check_train(c, device):
    """d2lc-train: LeNet, the book's settings (10 epochs, lr 0.9, batch 256)."""
    data = c.args.data
    if not data:
        raise RuntimeError("no --data (Fashion-MNIST) in the bundle")
    cu = os.path.join(c.args.bundle, "lenet_d2l.cu")
    ck = os.path.join(c.args.out, "lenet-gpu.safetensors")
    t0 = time.perf_counter()
    out = c.run([os.path.join(c.args.bin, "d2lc-train"), cu, "--data", data, "--epochs",
                 str(c.args.train_epochs), "--lr", "0.9", "--batch", "256", "--backend",
                 c.backend, "--checkpoint", ck], timeout=max(60.0, c.left() + 60))
    wall = time.perf_counter() - t0
    with open(os.path.join(c.args.out, "train-lenet.log"), "w") as f:
        f.write(out)
    last = [l for l in out.splitlines() if "test acc" in l][-1:]
    speed = [l for l in out.splitlines() if "examples/sec" in l][-1:]
    c.say(f"d2lc-train LeNet {c.args.train_epochs} epochs lr 0.9 batch 256 on {device}: "
          f"{' | '.join(last + speed)} ({wall:.1f} s wall)")
    # The same training loop in PyTorch (the book's LeNet, on the device),
    # for examples per second side by side: one epoch of random-order
    # batches from the same data, timed.
    from d2lmodels import lenet
    import gzip
    import numpy as np
    raw = open(os.path.join(data, "train-images-idx3-ubyte"), "rb").read() \
        if os.path.exists(os.path.join(data, "train-images-idx3-ubyte")) \
        else gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz")).read()
    imgs = torch.from_numpy(np.frombuffer(raw[16:], np.uint8).copy()).float().div(255)
    imgs = imgs.reshape(-1, 1, 28, 28).to(device)
    labels = torch.randint(0, 10, (imgs.shape[0],)).to(device)
    net = lenet().to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.9)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    perm = torch.randperm(imgs.shape[0], device=device)
    for i in range(0, imgs.shape[0], 256):
        idx = perm[i:i + 256]
        loss = F.cross_entropy(net(imgs[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()  # the book's Accumulator reads the loss each batch
    if device == "cuda":
        torch.cuda.synchronize()
    c.say(f"PyTorch eager LeNet, one epoch on {device} (data already on the device): "
          f"{imgs.shape[0] / (time.perf_counter() - t0):,.0f} examples/sec")


def check_sanitize(c, name):
    """compute-sanitizer memcheck over one train_step (out-of-bounds and
    misaligned accesses, errors of the launches)."""
    inp = os.path.join(c.tmp, f"{name}-in.safetensors")
    cu = os.path.join(c.args.bundle, f"{name}_train.cu")
    tool = "compute-sanitizer"
    for d in ("/usr/local/cuda/bin", "/opt/nvidia/nsight-compute"):
        if os.path.exists(os.path.join(d, tool)):
            tool = os.path.join(d, tool)
    r = subprocess.run([tool, "--tool", "memcheck", "--error-exitcode", "3", c.run_tool, cu,
                        "--backend", "cuda", "--entry", "train_step", "--inputs", inp],
                       capture_output=True, text=True, timeout=max(30.0, min(240.0, c.left())))
    tail = (r.stdout + r.stderr).strip().splitlines()
    summary = [l for l in tail if "ERROR SUMMARY" in l]
    c.summary.setdefault("sanitize", {})[name] = {"exit": r.returncode,
                                                 "tail": "\n".join(tail[-40:])}
    c.say(f"compute-sanitizer memcheck {name} train_step: exit {r.returncode}, "
          + (summary[-1] if summary else "\n".join(tail[-10:])))
    if r.returncode != 0:
        with open(os.path.join(c.args.out, f"sanitize-{name}.log"), "w") as f:
            f.write(r.stdout + r.stderr)


def check_profile(c, name):
    """Where a train_step's time goes: d2lrt-run --profile (each launch
    synchronised and timed), the 15 costliest launches."""
    inp = os.path.join(c.tmp, f"{name}-in.safetensors")
    cu = os.path.join(c.args.bundle, f"{name}_train.cu")
    out = c.run([c.run_tool, cu, "--backend", c.backend, "--entry", "train_step", "--inputs",
                 inp, "--repeat", "3", "--profile"])
    prof = out[out.index("profile of"):].splitlines()[:16]
    c.summary.setdefault("profile", {})[name] = prof
    c.say(f"profile {name}:\n  " + "\n  ".join(prof))


def check_stem_profile(c):
    """The fused stem backward's kernel in a profiled ResNet-18 step (batch
    32, early updates, --fuse-stem-backward), against the step's total and
    the early-update step's launches that it replaces."""
    inp = os.path.join(c.tmp, "resnet18-stem-in.safetensors")
    batch = input_shape(os.path.join(c.args.bundle, "resnet18_stem.cu"))
    g = torch.Generator().manual_seed(5)
    save_safetensors(inp, {"X": torch.rand(batch, generator=g),
                           "labels": torch.randint(0, 10, (batch[0],), generator=g),
                           "lr": torch.tensor(LR)})
    res = {}
    for tag in ("early", "stem"):
        cu = os.path.join(c.args.bundle, f"resnet18_{tag}.cu")
        out = c.run([c.run_tool, cu, "--backend", c.backend, "--entry", "train_step",
                     "--inputs", inp, "--repeat", "5", "--profile"])
        prof = out[out.index("profile of"):].splitlines()
        res[tag] = prof[:16]
        c.say(f"profile resnet18_{tag}:\n  " + "\n  ".join(prof[:16]))
    stem = [l for l in res["stem"] if "stem" in l]
    res["stem_kernel"] = stem
    c.summary["stem_profile"] = res
    c.say("stem kernel: " + (stem[0].strip() if stem else "not among the 15 costliest launches"))


def train_run(c, bundle_file, corpus, epochs, lr, log, what, device, *keep):
    """Runs d2lc-train on a bundled model and corpus; says the last line that
    each of `keep` selects."""
    t0 = time.perf_counter()
    out = c.run([os.path.join(c.args.bin, "d2lc-train"), os.path.join(c.args.bundle, bundle_file),
                 "--corpus", os.path.join(c.args.bundle, corpus), "--epochs", str(epochs),
                 "--lr", lr, "--backend", c.backend], timeout=max(60.0, c.left() + 60))
    wall = time.perf_counter() - t0
    with open(os.path.join(c.args.out, log), "w") as f:
        f.write(out)
    lines = out.splitlines()
    picked = [l for k in keep for l in [l for l in lines if k(l)][-1:]]
    c.say(f"{what} {epochs} epochs on {device}: {' | '.join(picked)} ({wall:.1f} s wall)")


def check_train_lm(c, device):
    """d2lc-train --task lm: the GRU on Tom Sawyer, lr 1, clipping at 1."""
    train_run(c, "gru_lm_clip1.cu", os.path.join("data", "Mark.Twain-Tom.Sawyer.txt"),
              c.args.lm_epochs, "1", "train-gru-lm.log", "d2lc-train GRU LM", device,
              lambda l: "perplexity" in l, lambda l: "tokens/sec" in l,
              lambda l: l.startswith("sample"))


def check_seq2seq(c, name, device):
    """One Adam step with clipping at 1 (batch 64, 10 steps): d2lc against the
    book's model on PyTorch (the same loss: cross-entropy over the valid
    target tokens, divided by B T), step times and tokens per second."""
    cu = os.path.join(c.args.bundle, f"{name}_adam.cu")
    text = open(cu).read()
    man = json.loads(re.search(r"D2LC-MANIFEST-BEGIN\s*(.*?)\s*D2LC-MANIFEST-END",
                               text, re.S).group(1).lstrip("/ \n"))
    tensors = {t["name"]: t["shape"] for t in man["tensors"]}
    src = tensors["encoder.embedding.weight"][0]
    tgt = tensors["decoder.embedding.weight"][0]
    B, T = 64, 10
    g = torch.Generator().manual_seed(3)
    X = torch.randint(0, src, (B, T), generator=g)
    X_len = torch.randint(1, T + 1, (B,), generator=g)
    dec_X = torch.randint(0, tgt, (B, T), generator=g)
    Y = torch.randint(0, tgt, (B, T), generator=g)
    Y_len = torch.randint(1, T + 1, (B,), generator=g)
    labels = Y.clone()
    labels[torch.arange(T)[None, :] >= Y_len[:, None]] = -1
    inp = os.path.join(c.tmp, f"{name}-in.safetensors")
    save_safetensors(inp, {"X": X, "X_valid_len": X_len, "dec_X": dec_X,
                           "labels": labels.T.reshape(-1), "lr": torch.tensor(0.005),
                           "seed": torch.tensor(3, dtype=torch.int64)})
    ours = c.d2lc_time(cu, inp, c.args.repeats, ("--seed", "0"))
    if name == "transformer":
        net = book_transformer(src, tgt)
    else:
        net = EncoderDecoder(Seq2SeqEncoder(src, 32, 32, 2, 0.1),
                             Seq2SeqAttentionDecoder(tgt, 32, 32, 2, 0.1))
    dev = torch.device(device)
    net = net.to(dev).train()
    opt = torch.optim.Adam(net.parameters(), lr=0.005)
    Xd, Ld, Dd, Yd = X.to(dev), X_len.to(dev), dec_X.to(dev), labels.to(dev)

    def step():
        logits = net(Xd, Dd, Ld)
        logits = logits[0] if isinstance(logits, tuple) else logits
        loss = F.cross_entropy(logits.reshape(B * T, -1), Yd.reshape(-1), ignore_index=-1,
                               reduction="sum") / (B * T)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    theirs = torch_time(step, device, c.args.repeats)
    res = {"d2lc_step_s": ours, "torch_step_s": theirs, "d2lc_tokens_per_s": B * T / ours,
           "torch_tokens_per_s": B * T / theirs}
    c.summary.setdefault("seq2seq", {})[name] = res
    c.say(f"{name:18s} batch {B} x {T}: d2lc {ours * 1e3:8.3f} ms ({B * T / ours:9.0f} tokens/s)"
          f"  PyTorch eager {theirs * 1e3:8.3f} ms ({B * T / theirs:9.0f} tokens/s)"
          f"  eager/d2lc {theirs / ours:.2f}")


def check_train_seq2seq(c, name, device):
    """d2lc-train --task seq2seq on LibreOffice's pairs: Adam at 0.005."""
    train_run(c, f"{name}_adam.cu", os.path.join("data", "mo"), c.args.seq2seq_epochs, "0.005",
              f"train-{name}.log", f"d2lc-train {name}", device,
              lambda l: "epoch" in l, lambda l: "BLEU" in l)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--models", default=",".join(ORDER))
    ap.add_argument("--lm-models", default="gru_lm,rnn_lm,lstm_lm")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--compile-models", default="lenet,resnet18")
    ap.add_argument("--fusion-models", default="conv_bn_relu,lenet_bn,residual_block,resnet18")
    ap.add_argument("--data", default="")
    ap.add_argument("--train-epochs", type=int, default=10)
    ap.add_argument("--lm-epochs", type=int, default=10)
    ap.add_argument("--seq2seq-models", default="seq2seq_attention,transformer")
    ap.add_argument("--seq2seq-epochs", type=int, default=10)
    ap.add_argument("--budget", type=float, default=420.0,
                    help="seconds after which no new check starts")
    ap.add_argument("--sections",
                    default="compile,models,remat,seq2seq,early,sanitize,matmul,lm,fusion,train,"
                    "profile")
    ap.add_argument("--sanitize-models", default="lenet_bn")
    ap.add_argument("--remat-variants", default="stem,remat75,remat55,remathalf")
    ap.add_argument("--profile-models", default="resnet18")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    c = Check(args)
    device = args.device
    c.summary["device"] = torch.cuda.get_device_name(0) if device == "cuda" else "host"
    c.summary["torch"] = torch.__version__
    if device == "cuda":
        major, minor = torch.cuda.get_device_capability(0)
        arch = f"sm_{major}{minor}"
    else:
        arch = "host"
    # IEEE float32 on both sides: PyTorch would otherwise run cuDNN's
    # convolutions in TF32 (its default), 10-bit mantissas.
    if device == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    c.say(f"# gpu-check on {c.summary['device']} ({arch}), PyTorch {torch.__version__}, "
          f"TF32 off")
    sections = args.sections.split(",")
    have = lambda f: os.path.exists(os.path.join(args.bundle, f))  # noqa: E731
    if "compile" in sections:
        c.guarded("compile", precompile, c, arch)
    small = [m for m in args.models.split(",") if m in ORDER[:6]]
    large = [m for m in args.models.split(",") if m not in ORDER[:6]]
    if "models" in sections:
        for name in small:
            if have(f"{name}_train.cu"):
                c.guarded(name, check_model, c, name, device)
    if "remat" in sections and have("resnet18_early.cu"):
        for variant in args.remat_variants.split(","):
            if have(f"resnet18_{variant}.cu"):
                c.guarded(variant + " resnet18", check_fusion, c, "resnet18", variant, "early")
        if have("resnet18_stem.cu"):
            c.guarded("stem profile", check_stem_profile, c)
    if "seq2seq" in sections:
        for name in args.seq2seq_models.split(","):
            if have(f"{name}_adam.cu"):
                c.guarded(name, check_seq2seq, c, name, device)
    if "early" in sections and have("resnet18_fused.cu") and have("resnet18_early.cu"):
        c.guarded("early resnet18", check_fusion, c, "resnet18", "early")
    if "sanitize" in sections and device == "cuda":
        for name in args.sanitize_models.split(","):
            if os.path.exists(os.path.join(c.tmp, f"{name}-in.safetensors")):
                c.guarded("sanitize " + name, check_sanitize, c, name)
    if "matmul" in sections and have("matmul.cu"):
        c.guarded("matmul", check_matmul, c, device)
    if "lm" in sections:
        for name in args.lm_models.split(","):
            if have(f"{name}_clip1.cu"):
                c.guarded(name, check_lm, c, name, device)
    if "fusion" in sections:
        for name in args.fusion_models.split(","):
            if have(f"{name}_fused.cu") and have(f"{name}_unfused.cu"):
                c.guarded("fusion " + name, check_fusion, c, name)
    if "train" in sections and have("lenet_d2l.cu"):
        c.guarded("train", check_train, c, device)
    if "train" in sections and have("gru_lm_clip1.cu") and have("data"):
        c.guarded("train lm", check_train_lm, c, device)
    if "train" in sections and have("data/mo"):
        for name in args.seq2seq_models.split(","):
            if have(f"{name}_adam.cu"):
                c.guarded("train " + name, check_train_seq2seq, c, name, device)
    if "models" in sections:
        for name in large:
            if have(f"{name}_train.cu"):
                c.guarded(name, check_model, c, name, device)
    if "profile" in sections:
        for name in args.profile_models.split(","):
            if os.path.exists(os.path.join(c.tmp, f"{name}-in.safetensors")):
                c.guarded("profile " + name, check_profile, c, name)
    c.say(f"# done in {time.monotonic() - c.start:.0f} s, {len(c.summary['errors'])} errors")
    c.save()


if __name__ == "__main__":
    main()
