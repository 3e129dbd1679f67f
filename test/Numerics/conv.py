# RUN: %python %s
# conv2d and conv_transpose2d against torch.nn.functional, f32 (rel 1e-5)
# and f64 (rel 1e-12), over strides, padding, dilation, groups and bias.
import torch
import torch.nn.functional as F
from d2ltest import Checker, check_op

torch.manual_seed(0)
c = Checker()


def arr(name, values):
    return f"{name} = array<i64: {values[0]}, {values[1]}>"


conv_configs = [
    # (N, Cin, H, W, Cout, k, stride, padding, dilation, groups, bias)
    (2, 1, 28, 28, 6, (5, 5), (1, 1), (2, 2), (1, 1), 1, True),   # LeNet conv1
    (3, 4, 11, 9, 6, (3, 3), (2, 1), (1, 0), (1, 1), 2, True),
    (2, 6, 12, 12, 6, (3, 2), (1, 2), (2, 1), (2, 3), 3, False),
    (1, 8, 7, 7, 16, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),    # 1x1 conv
    (2, 3, 15, 15, 4, (11, 11), (4, 4), (1, 1), (1, 1), 1, True), # AlexNet-like
    (2, 4, 6, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), 4, True),     # depthwise
]
for f64 in (False, True):
    dt = torch.float64 if f64 else torch.float32
    tol = 1e-12 if f64 else 1e-5
    for i, (n, cin, h, w, cout, k, s, p, d, g, bias) in enumerate(conv_configs):
        x = torch.randn(n, cin, h, w, dtype=dt)
        wt = torch.randn(cout, cin // g, *k, dtype=dt)
        b = torch.randn(cout, dtype=dt) if bias else None
        ref = F.conv2d(x, wt, b, stride=s, padding=p, dilation=d, groups=g)
        ops = [("x", x), ("w", wt)] + ([("b", b)] if bias else [])
        attrs = ", ".join([arr("stride", s), arr("padding", p), arr("dilation", d),
                           f"groups = {g}"])
        check_op(c, f"conv2d #{i} {'f64' if f64 else 'f32'}", "conv2d", ops, ref,
                 attrs, tol, f64)

tconv_configs = [
    # (N, Cin, H, W, Cout, k, stride, padding, output_padding, dilation, groups, bias)
    (2, 4, 5, 5, 3, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, True),
    (1, 6, 4, 3, 4, (4, 4), (2, 3), (1, 0), (0, 2), (1, 1), 2, False),
    (2, 3, 3, 3, 3, (64, 64), (32, 32), (16, 16), (0, 0), (1, 1), 1, True),  # FCN
    (1, 2, 5, 5, 2, (3, 3), (1, 1), (2, 2), (0, 0), (2, 2), 1, True),
    (2, 4, 3, 4, 6, (2, 3), (3, 2), (0, 1), (2, 1), (3, 2), 2, True),
]
for f64 in (False, True):
    dt = torch.float64 if f64 else torch.float32
    tol = 1e-12 if f64 else 1e-5
    for i, (n, cin, h, w, cout, k, s, p, op, d, g, bias) in enumerate(tconv_configs):
        x = torch.randn(n, cin, h, w, dtype=dt)
        wt = torch.randn(cin, cout // g, *k, dtype=dt)
        b = torch.randn(cout, dtype=dt) if bias else None
        ref = F.conv_transpose2d(x, wt, b, stride=s, padding=p, output_padding=op,
                                 groups=g, dilation=d)
        ops = [("x", x), ("w", wt)] + ([("b", b)] if bias else [])
        attrs = ", ".join([arr("stride", s), arr("padding", p), arr("output_padding", op),
                           arr("dilation", d), f"groups = {g}"])
        check_op(c, f"conv_transpose2d #{i} {'f64' if f64 else 'f32'}", "conv_transpose2d",
                 ops, ref, attrs, tol, f64)
c.finish()
