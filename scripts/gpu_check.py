#!/usr/bin/env python3
"""The measuring half of scripts/gpu-check.sh: on a machine with a GPU, CUDA
and PyTorch but no MLIR, runs every precompiled model's train_step with
d2lrt-run on the GPU against PyTorch (same weights, same batch, three SGD
steps with momentum and weight decay), times d2lc against PyTorch eager and
torch.compile, times NVRTC cold and warm, and the 10000x1000x2000 matmul.

  gpu_check.py --bundle gpu-bundle --bin build-gpu --out OUT [--device cuda|cpu]

(--device cpu runs the same checks on the host backend, to test the script
on a machine without a GPU.)
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from d2lmodels import (CNN_MODELS, MODELS, biases_before_bn, randomize,  # noqa: E402
                       state_tensors, with_philox_dropout)
from d2ltest import load_safetensors, rel_err, save_safetensors  # noqa: E402

LR, MOMENTUM, WD, SEED = 0.1, 0.9, 1e-3, 77


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(" ".join(cmd) + "\n" + r.stderr[-3000:])
    return r.stdout


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--models", default=",".join(list(MODELS) + list(CNN_MODELS)))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--fusion-models", default="conv_bn_relu,lenet_bn,residual_block,resnet18")
    args = ap.parse_args()
    device = args.device
    backend = "cuda" if device == "cuda" else "host"
    os.makedirs(args.out, exist_ok=True)
    run_tool = os.path.join(args.bin, "d2lrt-run")
    compile_tool = os.path.join(args.bin, "d2lrt-compile")
    summary = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "host",
               "torch": torch.__version__, "models": {}}
    if device == "cuda":
        major, minor = torch.cuda.get_device_capability(0)
        arch = f"sm_{major}{minor}"
    else:
        arch = "host"
    print(f"# gpu-check on {summary['device']} ({arch}), PyTorch {torch.__version__}", flush=True)
    tmp = tempfile.mkdtemp()
    lines = []
    for name in args.models.split(","):
        make, shape = {**MODELS, **CNN_MODELS}[name]
        cu = os.path.join(args.bundle, f"{name}_train.cu")
        if not os.path.exists(cu):
            continue
        result = {}
        # NVRTC (or host) compile: cold, then warm from the cache.
        out = run([compile_tool, cu, "--arch", arch])
        result["compile_cold_s"] = float(re.search(r"in ([0-9.]+) s", out).group(1))
        t0 = time.perf_counter()
        run([compile_tool, cu, "--arch", arch])
        result["compile_warm_s"] = time.perf_counter() - t0

        # Same weights and batch; three steps on both sides.
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
        inp, outp = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
        save_safetensors(inp, inputs)
        run([run_tool, cu, "--backend", backend, "--entry", "train_step", "--inputs", inp,
             "-o", outp, "--repeat", "3"])
        ours = load_safetensors(outp)
        net = net.to(device).train()
        xd, yd = x.to(device), y.to(device)
        opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
        for _ in range(3):
            o = net(xd)
            loss = F.mse_loss(o, yd) if mse else F.cross_entropy(o, yd)
            opt.zero_grad()
            loss.backward()
            opt.step()
        errors = {"loss": rel_err(ours["loss"], loss.detach().cpu())}
        noise = biases_before_bn(net)
        for k, v in state_tensors(net).items():
            if k not in noise:
                errors[k] = rel_err(ours[k], v.cpu())
        worst = max(errors.items(), key=lambda kv: kv[1])
        result["max_rel_err"] = worst[1]
        result["max_rel_err_tensor"] = worst[0]
        result["match_1e-4"] = worst[1] <= 1e-4

        # Step times: d2lc (median after a warm-up) and PyTorch.
        out = run([run_tool, cu, "--backend", backend, "--entry", "train_step", "--inputs", inp,
                   "--repeat", str(args.repeats), "--time"])
        result["d2lc_step_s"] = float(re.search(r"median ([0-9.]+) s", out).group(1))

        def step(model):
            o = model(xd)
            l = F.mse_loss(o, yd) if mse else F.cross_entropy(o, yd)
            opt.zero_grad()
            l.backward()
            opt.step()

        result["torch_eager_step_s"] = torch_time(lambda: step(net), device, args.repeats)
        if device == "cuda" and hasattr(torch, "compile"):
            try:
                compiled = torch.compile(net)
                result["torch_compile_step_s"] = torch_time(lambda: step(compiled), device,
                                                            args.repeats)
            except Exception as e:  # a missing Triton, for example
                result["torch_compile_error"] = str(e)[:200]
        summary["models"][name] = result
        line = (f"{name:20s} batch {shape[0]:4d}  d2lc {result['d2lc_step_s'] * 1e3:9.3f} ms  "
                f"eager {result['torch_eager_step_s'] * 1e3:9.3f} ms  "
                + (f"compile {result['torch_compile_step_s'] * 1e3:9.3f} ms  "
                   if "torch_compile_step_s" in result else "")
                + f"max rel err {result['max_rel_err']:.1e} ({result['max_rel_err_tensor']})  "
                f"compile cold {result['compile_cold_s']:.2f} s warm {result['compile_warm_s']:.3f} s")
        print(line, flush=True)
        lines.append(line)

    # The classic matmul.
    cu = os.path.join(args.bundle, "matmul.cu")
    if os.path.exists(cu) and device == "cuda":
        m, k, n = 10000, 1000, 2000
        a, b = torch.randn(m, k), torch.randn(k, n)
        inp = os.path.join(tmp, "mm.safetensors")
        save_safetensors(inp, {"A": a, "B": b})
        out = run([run_tool, cu, "--backend", backend, "--inputs", inp, "--repeat", "10", "--time"])
        ours = float(re.search(r"median ([0-9.]+) s", out).group(1))
        ad, bd = a.to(device), b.to(device)
        theirs = torch_time(lambda: torch.matmul(ad, bd), device, 10)
        flops = 2.0 * m * k * n
        summary["matmul"] = {"d2lc_s": ours, "torch_s": theirs,
                             "d2lc_gflops": flops / ours / 1e9, "torch_gflops": flops / theirs / 1e9}
        line = (f"matmul {m}x{k}x{n}: d2lc {ours * 1e3:.2f} ms ({flops / ours / 1e9:.0f} GFLOP/s), "
                f"torch.matmul {theirs * 1e3:.2f} ms ({flops / theirs / 1e9:.0f} GFLOP/s)")
        print(line, flush=True)
        lines.append(line)
    # Fused against unfused: the same initial weights (--seed 0) and batch.
    summary["fusion"] = {}
    for name in args.fusion_models.split(","):
        fused = os.path.join(args.bundle, f"{name}_fused.cu")
        unfused = os.path.join(args.bundle, f"{name}_unfused.cu")
        if not (os.path.exists(fused) and os.path.exists(unfused)):
            continue
        man = json.loads(re.search(r"D2LC-MANIFEST-BEGIN\s*(.*?)\s*D2LC-MANIFEST-END",
                                   open(fused).read(), re.S).group(1).lstrip("/ \n"))
        entry = next(e for e in man["entries"] if e["name"] == "train_step")
        xb = next(b for b in entry["buffers"] if b.get("name") == "X")
        batch = xb["shape"]
        g = torch.Generator().manual_seed(5)
        inp = os.path.join(tmp, f"{name}-in.safetensors")
        save_safetensors(inp, {"X": torch.rand(batch, generator=g),
                               "labels": torch.randint(0, 10, (batch[0],), generator=g),
                               "lr": torch.tensor(LR)})
        res, outs = {}, {}
        for tag, cu in (("fused", fused), ("unfused", unfused)):
            o = os.path.join(tmp, f"{name}-{tag}.safetensors")
            run([run_tool, cu, "--backend", backend, "--entry", "train_step", "--inputs", inp,
                 "--seed", "0", "-o", o])
            outs[tag] = load_safetensors(o)
            out = run([run_tool, cu, "--backend", backend, "--entry", "train_step", "--inputs",
                       inp, "--seed", "0", "--repeat", str(args.repeats), "--time"])
            res[tag + "_step_s"] = float(re.search(r"median ([0-9.]+) s", out).group(1))
        lf, lu = outs["fused"]["loss"].item(), outs["unfused"]["loss"].item()
        res["loss_rel_diff"] = abs(lf - lu) / max(abs(lu), 1e-30)
        # The updated tensors: a figure (ReLU masks flipped by last-bit
        # differences move some gradients of deep BN nets by percents).
        res["max_rel_diff"] = max((outs["fused"][k].double() - v.double()).abs().max().item()
                                  / max(v.double().abs().max().item(), 1e-3)
                                  for k, v in outs["unfused"].items() if v.is_floating_point())
        res["speedup"] = res["unfused_step_s"] / res["fused_step_s"]
        summary["fusion"][name] = res
        line = (f"fusion {name:15s} batch {batch[0]:4d}  fused {res['fused_step_s'] * 1e3:9.3f} ms"
                f"  unfused {res['unfused_step_s'] * 1e3:9.3f} ms  unfused/fused "
                f"{res['speedup']:.2f}x  first-step loss rel diff {res['loss_rel_diff']:.1e}, "
                f"tensors {res['max_rel_diff']:.1e}")
        print(line, flush=True)
        lines.append(line)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write("\n".join([f"# {summary['device']}, PyTorch {summary['torch']}"] + lines) + "\n")


if __name__ == "__main__":
    main()
