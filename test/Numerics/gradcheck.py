# RUN: %python %s
# Every differentiable op's VJP and JVP against central finite differences in
# f64 along random directions: relative error <= 1e-6.
import torch
from d2ltest import Checker
from d2lgradcheck import check

torch.manual_seed(11)
c = Checker()
r = lambda *s: torch.randn(*s)
pos = lambda *s: torch.rand(*s) + 0.5


def arr(name, v):
    return f"{name} = array<i64: " + ", ".join(map(str, v)) + ">"


# Layers
check(c, "conv2d strided grouped", "conv2d", [("x", r(2, 4, 7, 7)), ("w", r(6, 2, 3, 3)), ("b", r(6))],
      [(2, 6, 4, 4)], ", ".join([arr("stride", (2, 2)), arr("padding", (1, 1)), "groups = 2"]))
check(c, "conv2d dilated", "conv2d", [("x", r(1, 2, 8, 8)), ("w", r(3, 2, 3, 3))], [(1, 3, 8, 8)],
      ", ".join([arr("padding", (2, 2)), arr("dilation", (2, 2))]))
check(c, "conv_transpose2d", "conv_transpose2d", [("x", r(2, 4, 3, 3)), ("w", r(4, 3, 3, 3)), ("b", r(3))],
      [(2, 3, 6, 6)], ", ".join([arr("stride", (2, 2)), arr("padding", (1, 1)), arr("output_padding", (1, 1))]))
check(c, "conv_transpose2d grouped", "conv_transpose2d", [("x", r(1, 4, 3, 3)), ("w", r(4, 2, 2, 2))],
      [(1, 4, 6, 6)], ", ".join([arr("stride", (2, 2)), "groups = 2"]))
check(c, "linear", "linear", [("x", r(3, 5)), ("w", r(4, 5)), ("b", r(4))], [(3, 4)])
check(c, "linear 3-d input", "linear", [("x", r(2, 3, 5)), ("w", r(4, 5))], [(2, 3, 4)])
for ta in (False, True):
    for tb in (False, True):
        a = r(4, 3) if ta else r(3, 4)
        b = r(5, 4) if tb else r(4, 5)
        attrs = f"transpose_lhs = {str(ta).lower()}, transpose_rhs = {str(tb).lower()}"
        check(c, f"matmul ta={ta} tb={tb}", "matmul", [("a", a), ("b", b)], [(3, 5)], attrs)
check(c, "batch_matmul", "batch_matmul", [("a", r(2, 4, 3)), ("b", r(2, 5, 4))], [(2, 3, 5)],
      "transpose_lhs = true, transpose_rhs = true")
check(c, "batch_norm 4-d (all five results)", "batch_norm",
      [("x", r(4, 3, 2, 2)), ("g", r(3)), ("b", r(3)), ("rm", r(3)), ("rv", pos(3))],
      [(4, 3, 2, 2), (3,), (3,), (3,), (3,)], "momentum = 2.000000e-01 : f64")
check(c, "batch_norm 2-d", "batch_norm",
      [("x", r(5, 3)), ("g", r(3)), ("b", r(3)), ("rm", r(3)), ("rv", pos(3))],
      [(5, 3), (3,), (3,), (3,), (3,)])
check(c, "batch_norm_inference", "batch_norm_inference",
      [("x", r(4, 3, 2, 2)), ("g", r(3)), ("b", r(3)), ("rm", r(3)), ("rv", pos(3))], [(4, 3, 2, 2)])
check(c, "max_pool2d", "max_pool2d", [("x", r(2, 3, 6, 6))], [(2, 3, 3, 3)],
      ", ".join([arr("kernel_size", (3, 3)), arr("stride", (2, 2)), arr("padding", (1, 1))]))
check(c, "avg_pool2d", "avg_pool2d", [("x", r(2, 3, 6, 6))], [(2, 3, 3, 3)], arr("kernel_size", (2, 2)))
check(c, "avg_pool2d padded, count_include_pad=false", "avg_pool2d", [("x", r(2, 3, 6, 6))], [(2, 3, 3, 3)],
      ", ".join([arr("kernel_size", (3, 3)), arr("stride", (2, 2)), arr("padding", (1, 1)),
                 "count_include_pad = false"]))
check(c, "adaptive_avg_pool2d", "adaptive_avg_pool2d", [("x", r(2, 3, 5, 5))], [(2, 3, 2, 3)],
      arr("output_size", (2, 3)))

# Elementwise
for op in ["relu", "sigmoid", "tanh", "exp", "neg", "abs", "sign"]:
    check(c, op, op, [("x", r(3, 4))], [(3, 4)])
for op in ["log", "sqrt"]:
    check(c, op, op, [("x", pos(3, 4))], [(3, 4)])
for op in ["add", "sub", "mul", "div"]:
    for sa, sb in [((3, 4), (4,)), ((2, 1, 3), (4, 1))]:
        out = torch.broadcast_shapes(sa, sb)
        b = pos(*sb) if op == "div" else r(*sb)
        check(c, f"{op} {list(sa)} {list(sb)}", op, [("a", r(*sa)), ("b", b)], [tuple(out)])
check(c, "dropout", "dropout", [("x", r(5, 6)), ("seed", torch.tensor(7, dtype=torch.int64))], [(5, 6)],
      "p = 4.000000e-01 : f64, salt = 2")

# Data movement and reductions
x = r(2, 3, 4)
check(c, "flatten", "flatten", [("x", x)], [(2, 12)])
check(c, "reshape", "reshape", [("x", x)], [(4, 6)], arr("shape", (4, -1)))
check(c, "transpose", "transpose", [("x", x)], [(4, 2, 3)], arr("permutation", (2, 0, 1)))
check(c, "concat", "concat", [("a", x), ("b", r(2, 1, 4)), ("c", r(2, 2, 4))], [(2, 6, 4)], "dim = 1")
check(c, "slice", "slice", [("x", r(3, 10))], [(3, 4)], "dim = 1, start = -9, end = 9, step = 2")
check(c, "broadcast_to", "broadcast_to", [("x", r(3, 1))], [(2, 3, 4)], arr("shape", (2, 3, 4)))
check(c, "sum", "sum", [("x", x)], [(2, 1, 4)], arr("dims", (1,)) + ", keepdim = true")
check(c, "mean", "mean", [("x", x)], [(3,)], arr("dims", (0, 2)))
check(c, "softmax", "softmax", [("x", r(3, 5))], [(3, 5)], "dim = 1")
check(c, "log_softmax", "log_softmax", [("x", r(3, 5))], [(3, 5)], "dim = -1")
check(c, "embedding (table)", "embedding", [("i", torch.tensor([[3, 0, 3], [1, 4, 2]])), ("w", r(5, 4))],
      [(2, 3, 4)])
check(c, "embedding_backward", "embedding_backward",
      [("g", r(2, 3, 4)), ("i", torch.tensor([[3, 0, 3], [1, 4, 2]]))], [(6, 4)],
      "num_embeddings = 6")
check(c, "masked_softmax [B]", "masked_softmax", [("x", r(2, 3, 5)), ("v", torch.tensor([2, 5]))],
      [(2, 3, 5)])
check(c, "masked_softmax [B, Q]", "masked_softmax",
      [("x", r(2, 3, 4)), ("v", torch.tensor([[1, 2, 4], [3, 0, 2]]))], [(2, 3, 4)])
# Its y is masked_softmax's output: zero past each valid length.
ym = torch.softmax(r(2, 3, 5), -1) * (torch.arange(5) < torch.tensor([2, 5])[:, None, None])
check(c, "masked_softmax_backward", "masked_softmax_backward",
      [("g", r(2, 3, 5)), ("y", ym / ym.sum(-1, keepdim=True)), ("v", torch.tensor([2, 5]))],
      [(2, 3, 5)], wrt=["g"])
check(c, "cross_entropy", "cross_entropy", [("x", r(6, 5)), ("y", torch.randint(0, 5, (6,)))], [()])
check(c, "cross_entropy per pixel", "cross_entropy",
      [("x", r(2, 4, 3, 3)), ("y", torch.randint(0, 4, (2, 3, 3)))], [()])
check(c, "mse_loss", "mse_loss", [("a", r(4, 3)), ("b", r(4, 3))], [()])

# Gradient ops (their derivatives give second order)
y = torch.rand(3, 4) * 0.8 + 0.1
check(c, "relu_backward", "relu_backward", [("g", r(3, 4)), ("y", r(3, 4))], [(3, 4)])
check(c, "sigmoid_backward", "sigmoid_backward", [("g", r(3, 4)), ("y", y)], [(3, 4)])
check(c, "tanh_backward", "tanh_backward", [("g", r(3, 4)), ("y", y)], [(3, 4)])
p = torch.softmax(r(3, 5), 1)
check(c, "softmax_backward", "softmax_backward", [("g", r(3, 5)), ("y", p)], [(3, 5)], "dim = 1")
check(c, "log_softmax_backward", "log_softmax_backward", [("g", r(3, 5)), ("y", p.log())], [(3, 5)], "dim = 1")
check(c, "cross_entropy_backward", "cross_entropy_backward",
      [("gl", torch.tensor(0.7)), ("x", r(6, 5)), ("y", torch.randint(0, 5, (6,)))], [(6, 5)])
check(c, "conv2d_backward_input", "conv2d_backward_input", [("g", r(2, 6, 4, 4)), ("w", r(6, 2, 3, 3))],
      [(2, 4, 7, 7)], ", ".join([arr("input_shape", (2, 4, 7, 7)), arr("stride", (2, 2)),
                                 arr("padding", (1, 1)), "groups = 2"]))
check(c, "conv2d_backward_filter", "conv2d_backward_filter", [("x", r(2, 4, 7, 7)), ("g", r(2, 6, 4, 4))],
      [(6, 2, 3, 3)], ", ".join([arr("kernel_size", (3, 3)), arr("stride", (2, 2)),
                                 arr("padding", (1, 1)), "groups = 2"]))
pool = ", ".join([arr("kernel_size", (3, 3)), arr("stride", (2, 2)), arr("padding", (1, 1))])
check(c, "max_pool2d_backward", "max_pool2d_backward", [("g", r(2, 3, 3, 3)), ("x", r(2, 3, 6, 6))],
      [(2, 3, 6, 6)], pool)
check(c, "max_pool2d_select", "max_pool2d_select", [("x", r(2, 3, 6, 6)), ("v", r(2, 3, 6, 6))],
      [(2, 3, 3, 3)], pool)
check(c, "avg_pool2d_backward", "avg_pool2d_backward", [("g", r(2, 3, 3, 3))], [(2, 3, 6, 6)],
      pool + ", " + arr("input_shape", (2, 3, 6, 6)) + ", count_include_pad = false")
check(c, "adaptive_avg_pool2d_backward", "adaptive_avg_pool2d_backward", [("g", r(2, 3, 2, 3))],
      [(2, 3, 5, 5)], arr("input_shape", (2, 3, 5, 5)))
check(c, "batch_norm_backward", "batch_norm_backward",
      [("g", r(4, 3, 2, 2)), ("x", r(4, 3, 2, 2)), ("w", r(3)), ("m", r(3)), ("s", pos(3))],
      [(4, 3, 2, 2), (3,), (3,)])
check(c, "layer_norm (all three results)", "layer_norm", [("x", r(2, 3, 5)), ("g", r(5)), ("b", r(5))],
      [(2, 3, 5), (2, 3), (2, 3)], "eps = 1.000000e-02 : f64")
check(c, "layer_norm_backward", "layer_norm_backward",
      [("g", r(2, 3, 5)), ("x", r(2, 3, 5)), ("w", r(5)), ("m", r(2, 3)), ("s", pos(2, 3))],
      [(2, 3, 5), (5,), (5,)])
check(c, "slice_backward", "slice_backward", [("g", r(3, 4))], [(3, 10)],
      arr("input_shape", (3, 10)) + ", dim = 1, start = 1, step = 2")
c.finish()
