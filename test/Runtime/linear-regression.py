# RUN: %python %s %models
# The book's linear regression (3.2-3.3): synthetic data y = Xw + b + noise
# with w = [2, -3.4], b = 4.2, noise N(0, 0.01^2), 1000 examples, squared
# loss. models/linear_regression.mlir compiled for the whole data set and
# trained by gradient descent on the host backend (d2lc-run --repeat: the
# parameters stay resident between steps) converges to the closed-form
# least-squares solution (torch.linalg.lstsq, in f64) and recovers w and b
# to the noise level, as the book prints ("error in estimating w").
import os
import sys
import tempfile

import torch
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
g = torch.Generator().manual_seed(0)
true_w, true_b = torch.tensor([2.0, -3.4]), 4.2
X = torch.normal(0, 1, (1000, 2), generator=g)
y = (X @ true_w + true_b + torch.normal(0, 0.01, (1000,), generator=g)).reshape(-1, 1)

cu = os.path.join(tmp, "linreg.cu")
run_tool([tool("d2lc"), os.path.join(models_dir, "linear_regression.mlir"), "--train", "--loss",
          "mse", "--batch", "1000", "-o", cu])
inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
# The book's initialisation: w ~ N(0, 0.01), b = 0.
save_safetensors(inp, {"X": X, "labels": y, "lr": torch.tensor(0.1),
                       "0.weight": torch.normal(0, 0.01, (1, 2), generator=g),
                       "0.bias": torch.zeros(1)})
run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", "train_step", "--inputs", inp,
          "--repeat", "200", "-o", out])
r = load_safetensors(out)
w, b = r["0.weight"].double().reshape(-1), r["0.bias"].double().item()

A = torch.cat([X.double(), torch.ones(1000, 1, dtype=torch.float64)], 1)
sol = torch.linalg.lstsq(A, y.double()).solution.reshape(-1)
print(f"learned w {w.tolist()}, b {b:.6f}; least squares w {sol[:2].tolist()}, b {sol[2]:.6f}")
print(f"error in estimating w: {(true_w.double() - w).tolist()}, b: {true_b - b:.6f}")
c.true("w equals the least-squares solution", (w - sol[:2]).abs().max().item() < 1e-5,
       str((w - sol[:2]).abs().max().item()))
c.true("b equals the least-squares solution", abs(b - sol[2].item()) < 1e-5, str(abs(b - sol[2].item())))
c.true("w and b within the noise of the truth",
       (w - true_w.double()).abs().max().item() < 2e-3 and abs(b - true_b) < 2e-3)
residual = ((A @ sol - y.double().reshape(-1)) ** 2).mean().item()
c.true("final loss is the least-squares residual (noise variance 1e-4)",
       abs(r["loss"].item() - residual) < 2e-6, f"{r['loss'].item():.3e} vs {residual:.3e}")
c.finish()
