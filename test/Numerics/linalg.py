# RUN: %python %s
# linear, matmul and batch_matmul against PyTorch, f32 (rel 1e-5).
import torch
import torch.nn.functional as F
from d2ltest import Checker, check_op

torch.manual_seed(1)
c = Checker()

for i, (xs, out, bias) in enumerate([((256, 784), 10, True), ((4, 3, 16), 5, False),
                                      ((7,), 3, True), ((2, 2, 2, 9), 4, True)]):
    x = torch.randn(*xs)
    w = torch.randn(out, xs[-1])
    b = torch.randn(out) if bias else None
    ops = [("x", x), ("w", w)] + ([("b", b)] if bias else [])
    check_op(c, f"linear #{i} {list(xs)}", "linear", ops, F.linear(x, w, b))

for ta in (False, True):
    for tb in (False, True):
        a = torch.randn(13, 7) if not ta else torch.randn(7, 13)
        b = torch.randn(7, 5) if not tb else torch.randn(5, 7)
        ref = (a.t() if ta else a) @ (b.t() if tb else b)
        attrs = f"transpose_lhs = {str(ta).lower()}, transpose_rhs = {str(tb).lower()}"
        check_op(c, f"matmul ta={ta} tb={tb}", "matmul", [("a", a), ("b", b)], ref, attrs)
        a3 = torch.randn(3, *a.shape)
        b3 = torch.randn(3, *b.shape)
        ref3 = torch.bmm(a3.transpose(1, 2) if ta else a3, b3.transpose(1, 2) if tb else b3)
        check_op(c, f"batch_matmul ta={ta} tb={tb}", "batch_matmul", [("a", a3), ("b", b3)],
                 ref3, attrs)
c.finish()
