# RUN: %python %s %models
# The dot-product test <u, J v> = <J^T u, v> between forward mode (@F_jvp)
# and reverse mode (@F_vjp), in f64, for the inference function of every model
# in models/ (Jacobian with respect to every parameter, state and input) and
# for @train_step of every model (whose Jacobian contains the derivatives of
# the gradient ops: second order). Relative error <= 1e-9 (measured <= 4e-11).
import os
import sys
import tempfile

import torch
from d2lmodels import MODELS
from d2ltest import Checker, evaluate, load_safetensors, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
SEED = 99


def dot_test(name, entry, src, passes):
    out = os.path.join(tmp, f"{name}-{entry}.mlir")
    run_tool([tool("d2lc-opt"), src] + passes +
             [f"--d2l-jvp=entry={entry}", f"--d2l-vjp=entry={entry}", "-o", out])
    args_file = os.path.join(tmp, f"{name}-{entry}-args.safetensors")
    g = torch.Generator().manual_seed(len(name))
    # Parameters from their initialisers; data, labels and tangents random.
    x_shape = MODELS[name][1]
    inputs = {"X": torch.randn(x_shape, generator=g, dtype=torch.float64)}
    if entry == "train_step":
        inputs["lr"] = torch.tensor(0.1, dtype=torch.float64)
        if name == "linear_regression":
            inputs["labels"] = torch.randn(10, 1, generator=g, dtype=torch.float64)
        else:
            inputs["labels"] = torch.randint(0, 10, (x_shape[0],), generator=g)
        inputs["seed"] = torch.tensor(SEED, dtype=torch.int64)
    base = os.path.join(tmp, f"{name}-{entry}-in.safetensors")
    from d2ltest import save_safetensors
    save_safetensors(base, inputs)
    run_tool([tool("d2lc-run"), out, "--entry", entry, "--inputs", base, "--f64",
              "--save-args", args_file], expect_ok=False)
    args = load_safetensors(args_file)
    primals = dict(args)
    results = evaluate(out, primals, entry=entry, f64=True)
    tangents = {k: torch.randn(v.shape, generator=g, dtype=torch.float64)
                for k, v in args.items() if v.is_floating_point()}
    cotangents = {k: torch.randn(v.shape, generator=g, dtype=torch.float64)
                  for k, v in results.items() if v.is_floating_point()}
    jvp = evaluate(out, dict(primals, **{f"tangent.{k}": v for k, v in tangents.items()}),
                   entry=f"{entry}_jvp", f64=True)
    vjp = evaluate(out, dict(primals, **{f"cotangent.{k}": v for k, v in cotangents.items()}),
                   entry=f"{entry}_vjp", f64=True)
    lhs = sum((cotangents[k] * jvp[f"tangent.{k}"]).sum().item() for k in cotangents)
    rhs = sum((vjp[f"grad.{k}"] * tangents[k]).sum().item() for k in tangents)
    err = abs(lhs - rhs) / max(abs(lhs), abs(rhs))
    c.true(f"{name} @{entry}: <u, Jv> = <J^T u, v>", err <= 1e-9,
           f"{lhs:.12g} vs {rhs:.12g}, rel err {err:.1e} ({len(tangents)} inputs, "
           f"{len(cotangents)} outputs)")


for name in MODELS:
    src = os.path.join(models_dir, name + ".mlir")
    dot_test(name, "forward", src, [])
    if True:
        loss = "loss=mse" if name == "linear_regression" else "loss=cross_entropy"
        dot_test(name, "train_step", src, [f"--d2l-train-step={loss} momentum=0.9 weight-decay=0.01",
                                           "--d2l-simplify"])
c.finish()
