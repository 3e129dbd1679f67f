# RUN: %python %s
# Second order: Hessian-vector products of an MLP with tanh and sigmoid
# layers (an f64 model, so that the constants the derivatives introduce are
# exact), by differentiating the gradient function @f_grad again, both
# forward-over-reverse (--d2l-jvp) and reverse-over-reverse (--d2l-vjp),
# against torch.autograd.functional.hvp. f64, relative 1e-10.
import os
import tempfile

import torch
import torch.nn.functional as F
from d2ltest import Checker, evaluate, run_tool, tool

c = Checker()
g = torch.Generator().manual_seed(5)
N, D, H1, H2, C = 6, 5, 7, 4, 3
text = f"""
func.func @f(%x: tensor<{N}x{D}xf64> {{d2l.input = "X"}},
             %w1: tensor<{H1}x{D}xf64> {{d2l.param = "w1"}}, %b1: tensor<{H1}xf64> {{d2l.param = "b1"}},
             %w2: tensor<{H2}x{H1}xf64> {{d2l.param = "w2"}}, %b2: tensor<{H2}xf64> {{d2l.param = "b2"}},
             %w3: tensor<{C}x{H2}xf64> {{d2l.param = "w3"}},
             %y: tensor<{N}xi64> {{d2l.input = "labels"}}) -> (tensor<f64> {{d2l.output = "loss"}}) {{
  %0 = d2l.linear %x, %w1, %b1 : (tensor<{N}x{D}xf64>, tensor<{H1}x{D}xf64>, tensor<{H1}xf64>) -> tensor<{N}x{H1}xf64>
  %1 = d2l.tanh %0 : tensor<{N}x{H1}xf64>
  %2 = d2l.linear %1, %w2, %b2 : (tensor<{N}x{H1}xf64>, tensor<{H2}x{H1}xf64>, tensor<{H2}xf64>) -> tensor<{N}x{H2}xf64>
  %3 = d2l.sigmoid %2 : tensor<{N}x{H2}xf64>
  %4 = d2l.linear %3, %w3 : (tensor<{N}x{H2}xf64>, tensor<{C}x{H2}xf64>) -> tensor<{N}x{C}xf64>
  %5 = d2l.cross_entropy %4, %y : (tensor<{N}x{C}xf64>, tensor<{N}xi64>) -> tensor<f64>
  return %5 : tensor<f64>
}}
"""
names = ["w1", "b1", "w2", "b2", "w3"]
shapes = {"w1": (H1, D), "b1": (H1,), "w2": (H2, H1), "b2": (H2,), "w3": (C, H2)}
params = {n: torch.randn(shapes[n], generator=g, dtype=torch.float64) for n in names}
v = {n: torch.randn(shapes[n], generator=g, dtype=torch.float64) for n in names}
x = torch.randn(N, D, generator=g, dtype=torch.float64)
y = torch.randint(0, C, (N,), generator=g)


def loss(*ps):
    p = dict(zip(names, ps))
    h = torch.tanh(F.linear(x, p["w1"], p["b1"]))
    h = torch.sigmoid(F.linear(h, p["w2"], p["b2"]))
    return F.cross_entropy(F.linear(h, p["w3"]), y)


_, ref = torch.autograd.functional.hvp(loss, tuple(params[n] for n in names),
                                       tuple(v[n] for n in names))
ref = dict(zip(names, ref))

tmp = tempfile.mkdtemp()
src, out = os.path.join(tmp, "f.mlir"), os.path.join(tmp, "d.mlir")
open(src, "w").write(text)
w = ",".join(names)
run_tool([tool("d2lc-opt"), src, "--d2l-grad=entry=f", "--d2l-simplify",
          f"--d2l-jvp=entry=f_grad wrt={w}", f"--d2l-vjp=entry=f_grad wrt={w}",
          "--d2l-simplify", "-o", out])
base = dict(params, X=x, labels=y)
fwd = evaluate(out, dict(base, **{f"tangent.{n}": v[n] for n in names}), entry="f_grad_jvp", f64=True)
rev = evaluate(out, dict(base, **{"cotangent.loss": torch.tensor(0.0, dtype=torch.float64)},
                         **{f"cotangent.grad.{n}": v[n] for n in names}), entry="f_grad_vjp", f64=True)
for n in names:
    c.close(f"Hv[{n}] forward-over-reverse", fwd[f"tangent.grad.{n}"], ref[n], 1e-10)
    c.close(f"Hv[{n}] reverse-over-reverse", rev[f"grad2.{n}"], ref[n], 1e-10)
c.finish()
