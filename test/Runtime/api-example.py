# RUN: %python %s %models %src_root
# The C++ API example of the README builds (as part of the build) and trains
# softmax regression on Fashion-MNIST: the loss falls. The README's listing
# is exactly runtime/examples/train_example.cpp.
import os
import re
import sys
import tempfile

from d2ltest import Checker, run_tool, tool

models_dir, root = sys.argv[1], sys.argv[2]
c = Checker()
tmp = tempfile.mkdtemp()
cu = os.path.join(tmp, "softmax.cu")
run_tool([tool("d2lc"), os.path.join(models_dir, "softmax_regression.mlir"), "--train", "-o", cu])
r = run_tool([tool("d2lrt-example"), cu, "0.1", "30"])
losses = [float(m) for m in re.findall(r"step \d+ loss ([0-9.]+)", r.stdout)]
c.true("30 steps ran", len(losses) == 30, r.stdout[-300:])
c.true("the loss falls", losses[-1] < 0.75 * losses[0], f"first {losses[0]}, last {losses[-1]}")
c.true("the plan is reported", "arena" in r.stdout and "lower bound" in r.stdout, r.stdout[-200:])
example = open(os.path.join(root, "runtime", "examples", "train_example.cpp")).read()
readme = open(os.path.join(root, "README.md")).read()
c.true("README shows the example verbatim", example.strip() in readme)
c.finish()
