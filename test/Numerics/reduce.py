# RUN: %python %s
# sum, mean, softmax, log_softmax, cross_entropy (mean reduction, class
# dimension 1, also per-pixel, label -1 as padding) and mse_loss against PyTorch (f32, rel 1e-5).
import torch
import torch.nn.functional as F
from d2ltest import Checker, check_op, evaluate, single_op

torch.manual_seed(6)
c = Checker()
x = torch.randn(3, 4, 5, 6)
for dims, keep in [((0,), False), ((1, 3), True), ((-1,), False), ((), False), ((0, 2, 3), True)]:
    d = "array<i64: " + ", ".join(map(str, dims)) + ">" if dims else "array<i64>"
    attrs = f"dims = {d}, keepdim = {str(keep).lower()}"
    tdims = dims if dims else tuple(range(4))
    check_op(c, f"sum {dims} keepdim={keep}", "sum", [("x", x)], x.sum(tdims, keepdim=keep), attrs)
    check_op(c, f"mean {dims} keepdim={keep}", "mean", [("x", x)], x.mean(tdims, keepdim=keep), attrs)
for dim in [0, 1, -1]:
    big = x * 20  # large logits: the max must be subtracted
    check_op(c, f"softmax dim {dim}", "softmax", [("x", big)], torch.softmax(big, dim), f"dim = {dim}")
    check_op(c, f"log_softmax dim {dim}", "log_softmax", [("x", big)],
             torch.log_softmax(big, dim), f"dim = {dim}")
for shape, scale in [((256, 10), 1.0), ((7, 3), 30.0), ((2, 5, 4, 3), 2.0)]:
    logits = torch.randn(*shape) * scale
    labels = torch.randint(0, shape[1], (shape[0],) + shape[2:])
    check_op(c, f"cross_entropy {list(shape)}", "cross_entropy", [("x", logits), ("y", labels)],
             F.cross_entropy(logits, labels))
labels32 = torch.randint(0, 10, (16,), dtype=torch.int32)
logits = torch.randn(16, 10)
check_op(c, "cross_entropy i32 labels", "cross_entropy", [("x", logits), ("y", labels32)],
         F.cross_entropy(logits, labels32.long()))
# Label -1 is padding: no loss, and the mean stays over all N positions
# (PyTorch: ignore_index=-1 with a sum, divided by N).
for shape in [(9, 10), (3, 4, 2, 2)]:
    logits = torch.randn(*shape) * 3
    labels = torch.randint(0, shape[1], (shape[0],) + shape[2:])
    labels.view(-1)[::3] = -1
    check_op(c, f"cross_entropy padding {list(shape)}", "cross_entropy", [("x", logits), ("y", labels)],
             F.cross_entropy(logits, labels, ignore_index=-1, reduction="sum") / labels.numel())
for shape in [(10, 1), (4, 5, 6), ()]:
    a, b = torch.randn(shape), torch.randn(shape)
    check_op(c, f"mse_loss {list(shape)}", "mse_loss", [("a", a), ("b", b)], F.mse_loss(a, b))

# A label outside [0, C) is an error at the op, not garbage.
bad = torch.tensor([1, 10])
r = None
try:
    evaluate(single_op("cross_entropy", [("x", torch.randn(2, 10)), ("y", bad)],
                       [torch.tensor(0.0)]), {"x": torch.randn(2, 10), "y": bad}, entry="f")
except AssertionError as e:
    r = str(e)
c.true("label out of range is an error", r is not None and "label 10 at position 1 is outside [0, 10)" in r, r or "")
c.finish()
