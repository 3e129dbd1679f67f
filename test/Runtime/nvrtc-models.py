# RUN: %python %s %models
# Every model, for inference and for training, compiles with NVRTC to PTX for
# compute_80 and compute_90 that ptxas accepts for sm_80 and sm_90, and with
# `nvcc -c` with no include path: fused (the default), plus the ResNet
# residual block (fused conv + BN + ReLU kernels, residual epilogues) and
# LeNet-BN unfused (--no-fuse keeps the one-kernel-per-op BatchNorm). No GPU
# is needed.
import os
import shutil
import sys
import tempfile

from d2lmodels import MODELS
from d2ltest import Checker, run_tool, tool

models_dir = sys.argv[1]
cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
ptxas, nvcc = os.path.join(cuda, "bin", "ptxas"), os.path.join(cuda, "bin", "nvcc")
c = Checker()
tmp = tempfile.mkdtemp()
jobs = [(name, variant, extra) for name in list(MODELS) + ["residual_block"]
        for variant, extra in [("forward", []), ("train", ["--train", "--momentum", "0.9"])]]
jobs.append(("lenet_bn", "train-unfused", ["--train", "--no-fuse"]))
for name, variant, extra in jobs:
    src = os.path.join(models_dir, name + ".mlir")
    if name == "linear_regression" and "--train" in extra:
        extra = extra + ["--loss", "mse"]
    cu = os.path.join(tmp, f"{name}_{variant}.cu")
    run_tool([tool("d2lc"), src, "-o", cu] + extra)
    for sm in ("80", "90"):
        ptx = os.path.join(tmp, f"{name}_{variant}_{sm}.ptx")
        r = run_tool([tool("d2lrt-compile"), cu, "--arch", "compute_" + sm, "-o", ptx],
                     expect_ok=False)
        c.true(f"{name} {variant}: NVRTC compute_{sm}", r.returncode == 0, r.stderr.strip())
        if r.returncode == 0:
            r = run_tool([ptxas, "-arch=sm_" + sm, ptx, "-o", os.devnull], expect_ok=False)
            c.true(f"{name} {variant}: ptxas sm_{sm}", r.returncode == 0, r.stderr.strip()[:500])
    if variant.startswith("train"):
        # nvcc with no -I: the file is self-contained (the train file
        # holds every forward kernel too, in @eval_step).
        r = run_tool([nvcc, "-c", "-arch=sm_80", cu,
                      "-o", os.path.join(tmp, f"{name}_{variant}.o")],
                     expect_ok=False)
        c.true(f"{name} {variant}: nvcc -c", r.returncode == 0, r.stderr.strip()[:500])
shutil.rmtree(tmp)
c.finish()
