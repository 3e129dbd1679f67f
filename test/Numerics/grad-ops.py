# RUN: %python %s
# Each gradient op of the dialect against PyTorch (torch.nn.grad and
# torch.autograd): f32, relative 1e-5.
import torch
import torch.nn.functional as F
from d2ltest import Checker, check_op, evaluate, single_op

torch.manual_seed(12)
c = Checker()


def arr(name, v):
    return f"{name} = array<i64: " + ", ".join(map(str, v)) + ">"


def vjp(fn, inputs, g):
    """Gradients of <fn(*inputs), g> with respect to every input."""
    xs = [x.clone().requires_grad_(True) for x in inputs]
    return torch.autograd.grad(fn(*xs), xs, g)


for i, (n, cin, h, cout, k, s, p, d, groups) in enumerate(
        [(2, 4, 9, 6, 3, 2, 1, 1, 2), (3, 3, 10, 5, 4, 3, 0, 1, 1), (1, 2, 12, 2, 3, 1, 2, 2, 2)]):
    x, w = torch.randn(n, cin, h, h), torch.randn(cout, cin // groups, k, k)
    y = F.conv2d(x, w, stride=s, padding=p, dilation=d, groups=groups)
    g = torch.randn(y.shape)
    conv = ", ".join([arr("stride", (s, s)), arr("padding", (p, p)), arr("dilation", (d, d)),
                      f"groups = {groups}"])
    check_op(c, f"conv2d_backward_input #{i}", "conv2d_backward_input", [("g", g), ("w", w)],
             torch.nn.grad.conv2d_input(x.shape, w, g, s, p, d, groups),
             arr("input_shape", x.shape) + ", " + conv)
    check_op(c, f"conv2d_backward_filter #{i}", "conv2d_backward_filter", [("x", x), ("g", g)],
             torch.nn.grad.conv2d_weight(x, w.shape, g, s, p, d, groups),
             arr("kernel_size", (k, k)) + ", " + conv)

for i, (shape, k, s, p) in enumerate([((2, 3, 8, 8), 2, 2, 0), ((2, 3, 13, 13), 3, 2, 1),
                                      ((1, 2, 7, 7), 3, 1, 1)]):
    x = torch.randn(shape)
    y = F.max_pool2d(x, k, s, p)
    g = torch.randn(y.shape)
    pool = ", ".join([arr("kernel_size", (k, k)), arr("stride", (s, s)), arr("padding", (p, p))])
    (dx,) = vjp(lambda t: F.max_pool2d(t, k, s, p), [x], g)
    check_op(c, f"max_pool2d_backward #{i}", "max_pool2d_backward", [("g", g), ("x", x)], dx, pool)
    for cip in (True, False):
        ya = F.avg_pool2d(x, k, s, p, count_include_pad=cip)
        (dx,) = vjp(lambda t: F.avg_pool2d(t, k, s, p, count_include_pad=cip), [x], g)
        check_op(c, f"avg_pool2d_backward #{i} count_include_pad={cip}", "avg_pool2d_backward",
                 [("g", g)], dx, pool + ", " + arr("input_shape", shape) +
                 f", count_include_pad = {str(cip).lower()}")
    # The JVP of max pooling: the tangent at the window maxima.
    v = torch.randn(shape)
    _, ref = torch.autograd.functional.jvp(lambda t: F.max_pool2d(t, k, s, p), (x,), (v,))
    check_op(c, f"max_pool2d_select #{i}", "max_pool2d_select", [("x", x), ("v", v)], ref, pool)

for shape, out in [((2, 3, 7, 7), (3, 3)), ((1, 2, 5, 9), (2, 4))]:
    x = torch.randn(shape)
    g = torch.randn(shape[:2] + out)
    (dx,) = vjp(lambda t: F.adaptive_avg_pool2d(t, out), [x], g)
    check_op(c, f"adaptive_avg_pool2d_backward {list(shape)}->{list(out)}",
             "adaptive_avg_pool2d_backward", [("g", g)], dx, arr("input_shape", shape))

for shape in [(4, 6), (8, 6, 5, 5), (3, 4, 7)]:
    x, w = torch.randn(shape) * 2 + 1, torch.randn(shape[1])
    b = torch.randn(shape[1])
    g = torch.randn(shape)
    dims = [d for d in range(len(shape)) if d != 1]
    mean = x.mean(dims)
    invstd = 1 / torch.sqrt(x.var(dims, unbiased=False) + 1e-5)
    refs = vjp(lambda t, ww, bb: F.batch_norm(t, None, None, ww, bb, training=True), [x, w, b], g)
    check_op(c, f"batch_norm_backward {list(shape)}", "batch_norm_backward",
             [("g", g), ("x", x), ("w", w), ("mean", mean), ("invstd", invstd)], list(refs))

for op, fn in [("relu_backward", torch.relu), ("sigmoid_backward", torch.sigmoid),
               ("tanh_backward", torch.tanh)]:
    x = torch.randn(5, 7)
    g = torch.randn(5, 7)
    (dx,) = vjp(fn, [x], g)
    check_op(c, op, op, [("g", g), ("y", fn(x))], dx)

for dim in (1, 0):
    x = torch.randn(6, 5) * 3
    g = torch.randn(6, 5)
    (dx,) = vjp(lambda t: torch.softmax(t, dim), [x], g)
    check_op(c, f"softmax_backward dim {dim}", "softmax_backward", [("g", g), ("y", torch.softmax(x, dim))],
             dx, f"dim = {dim}")
    (dx,) = vjp(lambda t: torch.log_softmax(t, dim), [x], g)
    check_op(c, f"log_softmax_backward dim {dim}", "log_softmax_backward",
             [("g", g), ("y", torch.log_softmax(x, dim))], dx, f"dim = {dim}")

for shape in [(16, 10), (2, 5, 3, 4)]:
    x = torch.randn(shape)
    labels = torch.randint(0, shape[1], (shape[0],) + shape[2:])
    gl = torch.tensor(1.7)
    (dx,) = vjp(lambda t: F.cross_entropy(t, labels), [x], gl)
    check_op(c, f"cross_entropy_backward {list(shape)}", "cross_entropy_backward",
             [("gl", gl), ("x", x), ("y", labels)], dx)
# Padding rows (label -1) get no gradient; the others the mean over all N.
x, gl = torch.randn(8, 5), torch.tensor(0.7)
labels = torch.tensor([0, -1, 4, 2, -1, -1, 1, 3])
(dx,) = vjp(lambda t: F.cross_entropy(t, labels, ignore_index=-1, reduction="sum") / 8, [x], gl)
check_op(c, "cross_entropy_backward padding", "cross_entropy_backward",
         [("gl", gl), ("x", x), ("y", labels)], dx)

x = torch.randn(3, 10)
g = torch.randn(3, 4)
(dx,) = vjp(lambda t: t[:, 1:9:2], [x], g)
check_op(c, "slice_backward", "slice_backward", [("g", g)], dx,
         arr("input_shape", (3, 10)) + ", dim = 1, start = 1, step = 2")
# embedding: F.embedding; its backward: the gradient of F.embedding with
# respect to the table (rows summed per index, repeated indices included).
ids = torch.tensor([[3, 0, 3, 7], [1, 4, 2, 3]])
w = torch.randn(8, 5)
check_op(c, "embedding", "embedding", [("i", ids), ("w", w)], F.embedding(ids, w))
g = torch.randn(2, 4, 5)
(dw,) = vjp(lambda t: F.embedding(ids, t), [w], g)
check_op(c, "embedding_backward", "embedding_backward", [("g", g), ("i", ids)], dw,
         "num_embeddings = 8")
r = None
try:
    evaluate(single_op("embedding", [("i", torch.tensor([1, 8])), ("w", w)], [torch.zeros(2, 5)]),
             {"i": torch.tensor([1, 8]), "w": w}, entry="f")
except AssertionError as e:
    r = str(e)
c.true("embedding index out of range is an error",
       r is not None and "index 8 at position 1 is outside [0, 8)" in r, r or "")


# masked_softmax: the book's masked_softmax (sequence_mask with -1e6, then
# a softmax over the last dimension), lengths [B] and [B, Q], a row of
# valid length 0 included; its backward: autograd through the book's code.
def book_masked_softmax(X, valid_lens):
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    X = X.reshape(-1, shape[-1])
    mask = torch.arange(shape[-1])[None, :] < valid_lens[:, None]
    X = torch.where(mask, X, torch.tensor(-1e6))
    return torch.softmax(X.reshape(shape), dim=-1)


for lens in (torch.tensor([2, 5]), torch.tensor([[1, 2, 4, 5], [3, 0, 2, 1]])):
    x = torch.randn(2, 4, 5) * 3
    check_op(c, f"masked_softmax lens {list(lens.shape)}", "masked_softmax", [("x", x), ("v", lens)],
             book_masked_softmax(x, lens))
    g = torch.randn(2, 4, 5)
    (dx,) = vjp(lambda t: book_masked_softmax(t, lens), [x], g)
    check_op(c, f"masked_softmax_backward lens {list(lens.shape)}", "masked_softmax_backward",
             [("g", g), ("y", book_masked_softmax(x, lens)), ("v", lens)], dx)


# layer_norm_backward: autograd through F.layer_norm (dx, dweight, dbias),
# from the statistics native_layer_norm saves.
for shape in ((64, 10, 32), (5, 7)):
    d = shape[-1]
    x, w, b = torch.randn(*shape) * 2 + 1, torch.randn(d), torch.randn(d)
    g = torch.randn(*shape)
    _, mean, rstd = torch.native_layer_norm(x, [d], w, b, 1e-5)
    refs = vjp(lambda t, u, v: F.layer_norm(t, [d], u, v, 1e-5), [x, w, b], g)
    check_op(c, f"layer_norm_backward {list(shape)}", "layer_norm_backward",
             [("g", g), ("x", x), ("w", w), ("m", mean.reshape(shape[:-1])),
              ("s", rstd.reshape(shape[:-1]))], list(refs))
c.finish()
