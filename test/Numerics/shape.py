# RUN: %python %s
# flatten, reshape, transpose, concat, slice, broadcast_to and constant
# against PyTorch (exact: they move data).
import torch
from d2ltest import Checker, check_op, evaluate

torch.manual_seed(5)
c = Checker()
x = torch.randn(2, 3, 4, 5)
for s, e in [(1, -1), (0, 1), (2, 3), (0, -1)]:
    check_op(c, f"flatten {s}..{e}", "flatten", [("x", x)], torch.flatten(x, s, e),
             f"start_dim = {s}, end_dim = {e}", tol=0)
for shape in [(-1, 20), (6, 20), (5, 4, -1, 2), (120,)]:
    check_op(c, f"reshape {shape}", "reshape", [("x", x)], x.reshape(shape),
             "shape = array<i64: " + ", ".join(map(str, shape)) + ">", tol=0)
for perm in [(1, 0, 2, 3), (3, 2, 1, 0), (0, 2, 3, 1)]:
    check_op(c, f"transpose {perm}", "transpose", [("x", x)], x.permute(perm),
             "permutation = array<i64: " + ", ".join(map(str, perm)) + ">", tol=0)
for dim in [0, 1, 3, -2]:
    a, b = x, torch.randn(*[3 if d == (dim % 4) else s for d, s in enumerate(x.shape)])
    check_op(c, f"concat dim {dim}", "concat", [("a", a), ("b", b), ("a2", a)],
             torch.cat([a, b, a], dim), f"dim = {dim}", tol=0)
for dim, start, end, step in [(1, 0, 2, 1), (3, 1, 5, 2), (-1, -3, 100, 1), (0, 1, 2, 1), (2, 0, 4, 3)]:
    sl = [slice(None)] * 4
    sl[dim] = slice(start, end, step)
    check_op(c, f"slice dim {dim} [{start}:{end}:{step}]", "slice", [("x", x)], x[tuple(sl)],
             f"dim = {dim}, start = {start}, end = {end}, step = {step}", tol=0)
for src, dst in [((), (3, 4)), ((4, 1), (2, 4, 3)), ((1, 5), (3, 5))]:
    s = torch.randn(src)
    check_op(c, f"broadcast_to {list(src)}->{list(dst)}", "broadcast_to", [("s", s)],
             s.broadcast_to(dst), "shape = array<i64: " + ", ".join(map(str, dst)) + ">", tol=0)

text = """func.func @f() -> (tensor<2x2xf32> {d2l.output = "a"}, tensor<3xf32> {d2l.output = "b"},
                     tensor<2xi64> {d2l.output = "c"}) {
  %a = d2l.constant dense<[[1.5, -2.0], [0.25, 3.0]]> : tensor<2x2xf32>
  %b = d2l.constant dense<7.0> : tensor<3xf32>
  %c = d2l.constant dense<[4, -9]> : tensor<2xi64>
  return %a, %b, %c : tensor<2x2xf32>, tensor<3xf32>, tensor<2xi64>
}"""
out = evaluate(text, {}, entry="f")
c.close("constant dense", out["a"], torch.tensor([[1.5, -2.0], [0.25, 3.0]]), 0)
c.close("constant splat (fill)", out["b"], torch.full((3,), 7.0), 0)
c.true("constant integers", out["c"].tolist() == [4, -9])
c.finish()
