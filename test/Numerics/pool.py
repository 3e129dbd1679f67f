# RUN: %python %s
# max_pool2d, avg_pool2d (count_include_pad both ways) and adaptive_avg_pool2d
# against PyTorch, f32 (rel 1e-5), over kernels, strides and padding.
import torch
import torch.nn.functional as F
from d2ltest import Checker, check_op

torch.manual_seed(3)
c = Checker()


def arr(name, v):
    return f"{name} = array<i64: {v[0]}, {v[1]}>"


configs = [  # (shape, kernel, stride, padding)
    ((2, 3, 28, 28), (2, 2), (2, 2), (0, 0)),   # LeNet
    ((2, 4, 13, 13), (3, 3), (2, 2), (0, 0)),   # AlexNet
    ((2, 4, 12, 12), (3, 3), (2, 2), (1, 1)),   # GoogLeNet, ResNet
    ((1, 2, 9, 8), (3, 2), (1, 3), (1, 1)),
    ((3, 2, 7, 7), (3, 3), (1, 1), (1, 1)),     # Inception's pool path
]
for i, (shape, k, s, p) in enumerate(configs):
    x = torch.randn(*shape)
    attrs = ", ".join([arr("kernel_size", k), arr("stride", s), arr("padding", p)])
    check_op(c, f"max_pool2d #{i}", "max_pool2d", [("x", x)], F.max_pool2d(x, k, s, p), attrs)
    for cip in (True, False):
        check_op(c, f"avg_pool2d #{i} count_include_pad={cip}", "avg_pool2d", [("x", x)],
                 F.avg_pool2d(x, k, s, p, count_include_pad=cip),
                 attrs + f", count_include_pad = {str(cip).lower()}")

# The default stride is the kernel size.
x = torch.randn(2, 3, 8, 8)
check_op(c, "max_pool2d default stride", "max_pool2d", [("x", x)], F.max_pool2d(x, 2),
         arr("kernel_size", (2, 2)))

for i, (shape, out) in enumerate([((2, 3, 7, 7), (1, 1)), ((2, 3, 7, 5), (3, 2)),
                                  ((1, 2, 5, 9), (4, 4)), ((1, 2, 3, 3), (6, 6))]):
    x = torch.randn(*shape)
    check_op(c, f"adaptive_avg_pool2d #{i} {list(shape)}->{list(out)}", "adaptive_avg_pool2d",
             [("x", x)], F.adaptive_avg_pool2d(x, out), arr("output_size", out))
c.finish()
