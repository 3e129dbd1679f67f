# RUN: %python %s %models
# Parameters absent from the inputs are initialised from their d2l.init
# attribute: checked against PyTorch's definitions of the initialisers
# (xavier_uniform's bound sqrt(6 / (fan_in + fan_out)), normal's std), and
# deterministic in the seed.
import os
import sys
import tempfile

import torch
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
x = os.path.join(tmp, "x.safetensors")
save_safetensors(x, {"X": torch.zeros(256, 1, 28, 28)})


def init_args(model, seed):
    out = os.path.join(tmp, f"args-{model}-{seed}.safetensors")
    run_tool([tool("d2lc-run"), os.path.join(models, model + ".mlir"), "--inputs", x,
              "--seed", str(seed), "--save-args", out])
    return load_safetensors(out)


a = init_args("lenet_bn", 0)
for name, shape in [("0.weight", (6, 1, 5, 5)), ("4.weight", (16, 6, 5, 5)), ("9.weight", (120, 256))]:
    w = a[name]
    fan_in, fan_out = shape[1] * (w[0, 0].numel()), shape[0] * (w[0, 0].numel())
    bound = (6 / (fan_in + fan_out)) ** 0.5
    std_expected = bound / 3 ** 0.5  # the std of U(-b, b)
    n = w.numel()
    c.true(f"xavier_uniform {name} within the bound", w.abs().max().item() <= bound,
           f"max {w.abs().max().item():.4f}, bound {bound:.4f}")
    c.true(f"xavier_uniform {name} std", abs(w.std().item() - std_expected) < 4 * std_expected / (2 * n) ** 0.5 + 1e-3,
           f"std {w.std().item():.5f}, expected {std_expected:.5f} (n={n})")
c.true("BatchNorm weight ones, bias zeros", torch.equal(a["1.weight"], torch.ones(6))
       and torch.equal(a["1.bias"], torch.zeros(6)))
c.true("running mean zeros, running var ones", torch.equal(a["1.running_mean"], torch.zeros(6))
       and torch.equal(a["1.running_var"], torch.ones(6)))
c.true("conv bias zeros", torch.equal(a["0.bias"], torch.zeros(6)))

m = init_args("mlp", 3)
w = m["1.weight"]
c.true("normal(0.01) std", abs(w.std().item() - 0.01) < 0.0002, f"std {w.std().item():.6f}")
c.true("normal(0.01) mean", abs(w.mean().item()) < 0.0002, f"mean {w.mean().item():.6f}")

b = init_args("lenet_bn", 0)
c.true("same seed, same weights", all(torch.equal(a[k], b[k]) for k in a))
d = init_args("lenet_bn", 1)
c.true("another seed, other weights", not torch.equal(a["0.weight"], d["0.weight"]))
c.true("layers differ from each other", not torch.equal(a["0.weight"].flatten()[:6], a["4.weight"].flatten()[:6]))
c.finish()
