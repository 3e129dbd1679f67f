# RUN: %python %s %models
# The arena plan of every entry of every model: within 1.02x the liveness
# lower bound (the runtime also checks every plan for overlaps when it
# builds it). Prints arena, bound and naive sum. Then every model of
# models/ (--mem-report: @train_step, @eval_step and @forward at the
# models' batch sizes), the same limit.
import os
import re
import sys
import tempfile

from d2lmodels import MODELS
from d2ltest import Checker, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
for name in MODELS:
    loss = "mse" if name == "linear_regression" else "cross_entropy"
    src = os.path.join(models_dir, name + ".mlir")
    fwd, train = os.path.join(tmp, name + ".cu"), os.path.join(tmp, name + "_train.cu")
    run_tool([tool("d2lc"), src, "-o", fwd])
    run_tool([tool("d2lc"), src, "--train", "--loss", loss, "--momentum", "0.9", "-o", train])
    for cu, entry in [(fwd, "forward"), (train, "train_step"), (train, "eval_step")]:
        out = run_tool([tool("d2lc-run"), cu, "--entry", entry, "--plan"]).stdout
        m = re.search(r"arena (\d+) bytes, lower bound (\d+) bytes, naive (\d+) bytes", out)
        arena, bound, naive = map(int, m.groups())
        c.true(f"{name} @{entry}: arena {arena} <= 1.02 x bound {bound} (naive {naive})",
               bound <= arena <= 1.02 * bound)
for f in sorted(os.listdir(models_dir)):
    if not f.endswith(".mlir"):
        continue
    name = f[:-5]
    loss = "mse" if name == "linear_regression" else "cross_entropy"
    src = os.path.join(models_dir, f)
    for args in (["--train", "--loss", loss], []):
        report = run_tool([tool("d2lc"), src, "--mem-report"] + args).stdout
        for fn, arena, bound in re.findall(
                r"memory of @(\w+).*?\n  arena +(\d+)\n  lower bound +(\d+)", report, re.S):
            arena, bound = int(arena), int(bound)
            c.true(f"{name} @{fn}: arena {arena} <= 1.02 x bound {bound} ({arena / bound:.4f})",
                   bound <= arena <= 1.02 * bound)
c.finish()
