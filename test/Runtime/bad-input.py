# RUN: %python %s %models
# Bad input to the runtime: a corrupt or newer manifest, a missing or
# mis-shaped tensor, a kernel the compilers reject (the log is reported), a
# CUDA backend without a driver. Each exits 1 with a message naming the
# problem, never a crash.
import ctypes
import os
import sys
import tempfile

import torch
from d2ltest import Checker, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()


def path(n):
    return os.path.join(tmp, n)


def expect(what, args, message):
    r = run_tool(args, expect_ok=False)
    crashed = r.returncode < 0 or "Stack dump" in r.stderr or "terminate called" in r.stderr
    ok = r.returncode == 1 and not crashed and message in r.stderr
    c.true(what, ok, f"exit {r.returncode}: {r.stderr.strip()[:400]}")


cu = path("mlp.cu")
run_tool([tool("d2lc"), os.path.join(models_dir, "mlp.mlir"), "-o", cu])
good = open(cu).read()
x = path("x.safetensors")
save_safetensors(x, {"X": torch.zeros(256, 1, 28, 28)})
run = [tool("d2lc-run")]

open(path("newer.cu"), "w").write(good.replace('"version": 1', '"version": 2', 1))
expect("newer manifest", run + [path("newer.cu"), "--inputs", x],
       "invalid manifest: version 2 is newer than this runtime reads (1)")
open(path("nomanifest.cu"), "w").write(good.replace("D2LC-MANIFEST-BEGIN", "", 1))
expect("no manifest", run + [path("nomanifest.cu"), "--inputs", x],
       "no D2LC-MANIFEST-BEGIN line")
open(path("broken.cu"), "w").write(good.replace('"kernels": [', '"kernels": [[', 1))
expect("corrupt manifest", run + [path("broken.cu"), "--inputs", x], "invalid manifest")
open(path("badref.cu"), "w").write(good.replace('"kernel": 0', '"kernel": 99', 1))
expect("manifest naming an unknown kernel", run + [path("badref.cu"), "--inputs", x],
       "names an unknown kernel")

expect("missing input tensor", run + [cu], "entry 'forward' needs the input 'X' (F32 [256, 1, 28, 28])")
save_safetensors(path("shape.safetensors"), {"X": torch.zeros(128, 1, 28, 28)})
expect("mis-shaped input", run + [cu, "--inputs", path("shape.safetensors")],
       "tensor 'X' has shape [128, 1, 28, 28] but the model expects [256, 1, 28, 28]")
save_safetensors(path("w.safetensors"), {"X": torch.zeros(256, 1, 28, 28), "1.weight": torch.zeros(3, 3)})
expect("mis-shaped parameter", run + [cu, "--inputs", path("w.safetensors")],
       "tensor '1.weight' has shape [3, 3] but the model expects [256, 784]")
save_safetensors(path("d.safetensors"), {"X": torch.zeros(256, 1, 28, 28, dtype=torch.float64)})
expect("wrong dtype", run + [cu, "--inputs", path("d.safetensors")],
       "tensor 'X' has dtype F64 but the model expects F32")
expect("unknown entry", run + [cu, "--entry", "train_step", "--inputs", x],
       "no entry point 'train_step' (entries: forward)")
expect("unknown backend", run + [cu, "--backend", "tpu"], "unknown backend 'tpu'")

# A kernel the compilers reject: the host compiler's and NVRTC's logs.
bad = good.replace("D2L_THREADS {", "D2L_THREADS { this_is_not_cuda();", 1)
open(path("badkernel.cu"), "w").write(bad)
expect("host compile error", run + [path("badkernel.cu"), "--inputs", x],
       "this_is_not_cuda")
expect("NVRTC compile error", [tool("d2lrt-compile"), path("badkernel.cu"), "--arch", "sm_80"],
       "NVRTC failed to compile")
expect("NVRTC log", [tool("d2lrt-compile"), path("badkernel.cu"), "--arch", "sm_80"],
       "this_is_not_cuda")

# The CUDA backend on a machine without a driver says so.
try:
    ctypes.CDLL("libcuda.so.1")
    has_driver = True
except OSError:
    has_driver = False
if not has_driver:
    expect("no CUDA driver", run + [cu, "--backend", "cuda", "--inputs", x], "no CUDA driver")
c.finish()
