# RUN: %python %s %models
# The cheap gradient principle: after --d2l-simplify, the gradient part of
# every model's @train_step has at most 3x the ops of its forward part
# (constants not counted). Prints the figures the README reports.
import os
import re
import sys

from d2lmodels import MODELS
from d2ltest import Checker, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
for name in MODELS:
    loss = "mse" if name == "linear_regression" else "cross_entropy"
    r = run_tool([tool("d2lc-opt"), os.path.join(models_dir, name + ".mlir"),
                  f"--d2l-train-step=loss={loss} momentum=0.9 weight-decay=0.0005",
                  "--d2l-simplify", "--d2l-grad-stats", "-o", os.devnull])
    line = [l for l in r.stdout.splitlines() if l.startswith("@train_step")][0]
    m = re.search(r"forward (\d+) ops, gradient (\d+) ops", line)
    fwd, grad = int(m.group(1)), int(m.group(2))
    c.true(f"{name}: gradient {grad} ops <= 3 x forward {fwd} ops", grad <= 3 * fwd, line)
c.finish()
