"""Finite-difference checks of d2lc's VJPs and JVPs in f64.

For an op with float operands a_i and results y_k, the test function is
L = sum_k sum(y_k * r_k) with fixed random r_k. --d2l-grad builds dL/da_i
(reverse mode), --d2l-jvp builds dL along tangents v_i (forward mode), and
both are compared with the central difference (L(a + h v) - L(a - h v)) / 2h
along random directions v, evaluated in f64 (d2lc-run --f64), and with
each other (the dot-product test <J^T r, v> = <r, J v>, to 1e-7: the test
functions are typed f32, so constants such as 1/n in the derivatives of the
normalisations are f32 values, 6e-8 apart from the evaluator's f64).
"""

import os
import tempfile

import torch
from d2ltest import SAME_TYPE_BINARY_OPS, UNARY_OPS, evaluate, mlir_type, run_tool, tool

H = 1e-5


def wrapper(op, operands, out_shapes, attrs="", int_operands=()):
    """MLIR text of @f(operands..., r0, r1, ...) -> L."""
    args, vals = [], []
    for name, t in operands:
        args.append(f"%{name}: {mlir_type(t)} {{d2l.input = \"{name}\"}}")
        vals.append(f"%{name}")
    out_types = [f"tensor<{''.join(f'{d}x' for d in s)}f32>" for s in out_shapes]
    for k, ty in enumerate(out_types):
        args.append(f"%r{k}: {ty} {{d2l.input = \"r{k}\"}}")
    lhs = ", ".join(f"%y{k}" for k in range(len(out_types)))
    in_types = ", ".join(mlir_type(t) for _, t in operands)
    if op in UNARY_OPS or op in SAME_TYPE_BINARY_OPS:
        ftype = out_types[0]
    else:
        res = out_types[0] if len(out_types) == 1 else "(" + ", ".join(out_types) + ")"
        ftype = f"({in_types}) -> {res}"
    attr = f" {{{attrs}}}" if attrs else ""
    lines = [f"func.func @f({', '.join(args)}) -> (tensor<f32> {{d2l.output = \"L\"}}) {{",
             f"  {lhs} = d2l.{op} {', '.join(vals)}{attr} : {ftype}"]
    acc = None
    for k, ty in enumerate(out_types):
        lines.append(f"  %p{k} = d2l.mul %y{k}, %r{k} : ({ty}, {ty}) -> {ty}")
        lines.append(f"  %s{k} = d2l.sum %p{k} {{dims = array<i64>}} : ({ty}) -> tensor<f32>")
        if acc is None:
            acc = f"%s{k}"
        else:
            lines.append(f"  %a{k} = d2l.add {acc}, %s{k} : (tensor<f32>, tensor<f32>) -> tensor<f32>")
            acc = f"%a{k}"
    lines.append(f"  return {acc} : tensor<f32>")
    lines.append("}")
    return "\n".join(lines) + "\n"


def rel(a, b):
    m = max(abs(a), abs(b))
    return 0.0 if m < 1e-300 else abs(a - b) / m


def check(checker, what, op, operands, out_shapes, attrs="", wrt=None, directions=2,
          tol=1e-6, seed=0):
    """operands: list of (name, tensor); wrt: the float operand names to
    differentiate (default: every floating-point operand)."""
    g = torch.Generator().manual_seed(seed)
    wrt = wrt if wrt is not None else [n for n, t in operands if t.is_floating_point()]
    rs = {f"r{k}": torch.randn(s, generator=g, dtype=torch.float64) for k, s in enumerate(out_shapes)}
    text = wrapper(op, operands, out_shapes, attrs)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "f.mlir")
        with open(src, "w") as f:
            f.write(text)
        out = os.path.join(tmp, "d.mlir")
        w = ",".join(wrt)
        run_tool([tool("d2lc-opt"), src, f"--d2l-grad=entry=f wrt={w}",
                  f"--d2l-jvp=entry=f wrt={w}", "-o", out])
        base = {n: (t.double() if t.is_floating_point() else t) for n, t in operands}
        base.update(rs)
        grads = evaluate(out, base, entry="f_grad", f64=True)
        for d in range(directions):
            v = {n: torch.randn(dict(operands)[n].shape, generator=g, dtype=torch.float64)
                 for n in wrt}
            plus = dict(base)
            minus = dict(base)
            for n in wrt:
                plus[n] = base[n] + H * v[n]
                minus[n] = base[n] - H * v[n]
            lp = evaluate(out, plus, entry="f", f64=True)["L"].item()
            lm = evaluate(out, minus, entry="f", f64=True)["L"].item()
            fd = (lp - lm) / (2 * H)
            vjp = sum((grads[f"grad.{n}"].double() * v[n]).sum().item() for n in wrt)
            jin = dict(base)
            jin.update({f"tangent.{n}": v[n] for n in wrt})
            jvp = evaluate(out, jin, entry="f_jvp", f64=True)["tangent.L"].item()
            e1, e2 = rel(vjp, fd), rel(jvp, fd)
            checker.true(f"{what} VJP direction {d}", e1 <= tol,
                         f"<grad, v> {vjp:.10g}, finite difference {fd:.10g}, rel err {e1:.1e}")
            checker.true(f"{what} JVP direction {d}", e2 <= tol,
                         f"jvp {jvp:.10g}, finite difference {fd:.10g}, rel err {e2:.1e}")
            # The dot-product test: <J^T r, v> (reverse) = <r, J v> (forward),
            # exact up to the f32 constants of the derivatives.
            e3 = rel(vjp, jvp)
            checker.true(f"{what} dot product direction {d}", e3 <= 1e-7,
                         f"<J^T r, v> {vjp:.15g}, <r, J v> {jvp:.15g}, rel err {e3:.1e}")
