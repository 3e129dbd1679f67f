# RUN: %python %s
# batch_norm (training: output, batch statistics, running statistics exactly
# as PyTorch's training mode) and batch_norm_inference, f32 (rel 1e-5).
import torch
import torch.nn.functional as F
from d2ltest import Checker, check_op

torch.manual_seed(2)
c = Checker()

for i, (shape, eps, momentum) in enumerate([((256, 120), 1e-5, 0.1), ((8, 6, 24, 24), 1e-5, 0.1),
                                             ((4, 5, 7), 1e-3, 0.3), ((2, 3, 1, 1), 1e-5, 1.0)]):
    ch = shape[1]
    x = torch.randn(*shape) * 3 + 1.5
    g, b = torch.randn(ch), torch.randn(ch)
    rm, rv = torch.randn(ch), torch.rand(ch) + 0.5
    # PyTorch updates running statistics in place (unbiased variance).
    rm2, rv2 = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm2, rv2, g, b, training=True, momentum=momentum, eps=eps)
    dims = [d for d in range(len(shape)) if d != 1]
    mean = x.mean(dim=dims)
    invstd = 1 / torch.sqrt(x.var(dim=dims, unbiased=False) + eps)
    ops = [("x", x), ("g", g), ("b", b), ("rm", rm), ("rv", rv)]
    attrs = f"eps = {eps:.6e} : f64, momentum = {momentum:.6e} : f64"
    check_op(c, f"batch_norm #{i} {list(shape)}", "batch_norm", ops,
             [y, mean, invstd, rm2, rv2], attrs)
    yi = F.batch_norm(x, rm, rv, g, b, training=False, eps=eps)
    check_op(c, f"batch_norm_inference #{i} {list(shape)}", "batch_norm_inference", ops, yi,
             f"eps = {eps:.6e} : f64")

# layer_norm: torch.native_layer_norm's output, mean and rstd (PyTorch keeps
# the statistics as [..., 1]; d2l drops the normalised dimension).
for i, (shape, eps) in enumerate([((64, 10, 32), 1e-5), ((5, 7), 1e-3), ((3,), 1e-5)]):
    d = shape[-1]
    x = torch.randn(*shape) * 3 + 1.5
    g, b = torch.randn(d), torch.randn(d)
    y, mean, rstd = torch.native_layer_norm(x, [d], g, b, eps)
    c.close(f"layer_norm #{i}: F.layer_norm is native_layer_norm's output", y,
            F.layer_norm(x, [d], g, b, eps), 0)
    check_op(c, f"layer_norm #{i} {list(shape)}", "layer_norm", [("x", x), ("g", g), ("b", b)],
             [y, mean.reshape(shape[:-1]), rstd.reshape(shape[:-1])], f"eps = {eps:.6e} : f64")
c.finish()
