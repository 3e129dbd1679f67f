# RUN: %python %s
# Every op's kernel (forward and gradient ops, strided, padded, dilated and
# grouped convolutions, pooling with padding, reductions in both strategies)
# compiled by d2lc into one model.cu and run on the host backend, against the
# reference evaluator: f32, relative 1e-5 (data movement exact).
import os
import tempfile

import torch
from d2ltest import Checker, evaluate, load_safetensors, mlir_type, run_tool, \
    save_safetensors, single_op, tool

torch.manual_seed(21)
c = Checker()
r = lambda *s: torch.randn(s)
pos = lambda *s: torch.rand(s) + 0.5


def arr(name, v):
    return f"{name} = array<i64: " + ", ".join(map(str, v)) + ">"


conv = lambda s, p, d, g: ", ".join([arr("stride", s), arr("padding", p), arr("dilation", d),
                                     f"groups = {g}"])
pool = lambda k, s, p: ", ".join([arr("kernel_size", k), arr("stride", s), arr("padding", p)])
p = torch.softmax(r(6, 5), 1)
cases = [
    ("conv2d", [("x", r(2, 4, 9, 9)), ("w", r(6, 2, 3, 3)), ("b", r(6))], [(2, 6, 5, 5)],
     conv((2, 2), (1, 1), (1, 1), 2)),
    ("conv2d", [("x", r(1, 3, 10, 8)), ("w", r(5, 3, 3, 2))], [(1, 5, 3, 8)],
     conv((2, 1), (0, 1), (2, 2), 1)),
    ("conv2d", [("x", r(3, 1, 28, 28)), ("w", r(6, 1, 5, 5)), ("b", r(6))], [(3, 6, 28, 28)],
     conv((1, 1), (2, 2), (1, 1), 1)),
    ("conv_transpose2d", [("x", r(2, 4, 5, 5)), ("w", r(4, 3, 3, 3)), ("b", r(3))], [(2, 3, 10, 10)],
     ", ".join([arr("stride", (2, 2)), arr("padding", (1, 1)), arr("output_padding", (1, 1))])),
    ("conv_transpose2d", [("x", r(1, 4, 3, 4)), ("w", r(4, 3, 2, 3))], [(1, 6, 12, 10)],
     ", ".join([arr("stride", (3, 2)), arr("padding", (0, 1)), arr("output_padding", (2, 1)),
                arr("dilation", (3, 2)), "groups = 2"])),
    # Large strides take the direct kernel (a thread per output, only the
    # taps that land on it), as FCN's x32 upsampling.
    ("conv_transpose2d", [("x", r(2, 4, 3, 3)), ("w", r(4, 3, 8, 8)), ("b", r(3))], [(2, 3, 12, 12)],
     ", ".join([arr("stride", (4, 4)), arr("padding", (2, 2))])),
    ("conv_transpose2d", [("x", r(1, 4, 3, 2)), ("w", r(4, 2, 5, 7))], [(1, 4, 10, 13)],
     ", ".join([arr("stride", (3, 4)), arr("padding", (1, 0)), arr("output_padding", (1, 2)),
                "groups = 2"])),
    ("conv2d_backward_input", [("g", r(2, 6, 3, 3)), ("w", r(6, 2, 5, 5))], [(2, 4, 11, 11)],
     arr("input_shape", (2, 4, 11, 11)) + ", " + conv((3, 3), (1, 1), (1, 1), 2)),
    ("conv2d_backward_input", [("g", r(2, 6, 5, 5)), ("w", r(6, 2, 3, 3))], [(2, 4, 9, 9)],
     arr("input_shape", (2, 4, 9, 9)) + ", " + conv((2, 2), (1, 1), (1, 1), 2)),
    ("conv2d_backward_filter", [("x", r(2, 4, 9, 9)), ("g", r(2, 6, 5, 5))], [(6, 2, 3, 3)],
     arr("kernel_size", (3, 3)) + ", " + conv((2, 2), (1, 1), (1, 1), 2)),
    ("conv2d_backward_filter", [("x", r(64, 3, 12, 12)), ("g", r(64, 8, 12, 12))], [(8, 3, 3, 3)],
     arr("kernel_size", (3, 3)) + ", " + conv((1, 1), (1, 1), (1, 1), 1)),
    ("linear", [("x", r(5, 7)), ("w", r(3, 7)), ("b", r(3))], [(5, 3)], ""),
    ("linear", [("x", r(2, 3, 7)), ("w", r(70, 7))], [(2, 3, 70)], ""),
    ("matmul", [("a", r(37, 19)), ("b", r(19, 45))], [(37, 45)], ""),
    ("matmul", [("a", r(19, 37)), ("b", r(45, 19))], [(37, 45)],
     "transpose_lhs = true, transpose_rhs = true"),
    ("batch_matmul", [("a", r(3, 8, 5)), ("b", r(3, 6, 5))], [(3, 8, 6)], "transpose_rhs = true"),
    ("batch_norm", [("x", r(4, 3, 5, 5) * 2 + 1), ("g", r(3)), ("b", r(3)), ("m", r(3)), ("v", pos(3))],
     [(4, 3, 5, 5), (3,), (3,), (3,), (3,)], "momentum = 2.000000e-01 : f64"),
    ("batch_norm", [("x", r(300, 7)), ("g", r(7)), ("b", r(7)), ("m", r(7)), ("v", pos(7))],
     [(300, 7), (7,), (7,), (7,), (7,)], ""),
    ("batch_norm_inference", [("x", r(4, 3, 5, 5)), ("g", r(3)), ("b", r(3)), ("m", r(3)), ("v", pos(3))],
     [(4, 3, 5, 5)], ""),
    ("batch_norm_backward", [("g", r(4, 3, 5, 5)), ("x", r(4, 3, 5, 5)), ("w", r(3)), ("m", r(3)),
                             ("s", pos(3))], [(4, 3, 5, 5), (3,), (3,)], ""),
    ("conv2d_batch_stats", [("x", r(2, 4, 9, 9)), ("w", r(6, 2, 3, 3)), ("m", r(6)),
                            ("v", pos(6)), ("b", r(6))],
     [(2, 6, 5, 5), (6,), (6,), (6,), (6,)],
     conv((2, 2), (1, 1), (1, 1), 2) + ", momentum = 2.000000e-01 : f64"),
    ("conv2d_batch_stats", [("x", r(8, 32, 6, 6)), ("w", r(80, 32, 3, 3)), ("m", r(80)),
                            ("v", pos(80))],
     [(8, 80, 3, 3), (80,), (80,), (80,), (80,)], conv((2, 2), (1, 1), (1, 1), 1)),
    ("batch_norm_act_backward", [("g", r(4, 3, 5, 5)), ("x", r(4, 3, 5, 5)), ("w", r(3)),
                                 ("b", r(3)), ("m", r(3)), ("s", pos(3))],
     [(4, 3, 5, 5), (3,), (3,)], 'activation = "relu"'),
    ("batch_norm_act_backward", [("g", r(8, 70, 3, 3)), ("x", r(8, 70, 3, 3)), ("w", r(70)),
                                 ("b", r(70)), ("m", r(70)), ("s", pos(70))],
     [(8, 70, 3, 3), (70,), (70,)], 'activation = "sigmoid"'),
    ("batch_norm_act_backward", [("g", r(300, 7)), ("x", r(300, 7)), ("w", r(7)), ("b", r(7)),
                                 ("m", r(7)), ("s", pos(7))],
     [(300, 7), (7,), (7,)], 'activation = "tanh"'),
    ("batch_norm_act_backward", [("g", r(2, 5, 4, 4)), ("x", r(2, 5, 4, 4)), ("w", r(5)),
                                 ("b", r(5)), ("m", r(5)), ("s", pos(5))],
     [(2, 5, 4, 4), (5,), (5,)], 'activation = "none"'),
    ("max_pool2d", [("x", r(2, 3, 13, 13))], [(2, 3, 7, 7)], pool((3, 3), (2, 2), (1, 1))),
    ("avg_pool2d", [("x", r(2, 3, 13, 13))], [(2, 3, 7, 7)],
     pool((3, 3), (2, 2), (1, 1)) + ", count_include_pad = false"),
    ("avg_pool2d", [("x", r(2, 3, 8, 8))], [(2, 3, 4, 4)], arr("kernel_size", (2, 2))),
    ("adaptive_avg_pool2d", [("x", r(2, 3, 7, 5))], [(2, 3, 3, 2)], arr("output_size", (3, 2))),
    ("max_pool2d_backward", [("g", r(2, 3, 7, 7)), ("x", r(2, 3, 13, 13))], [(2, 3, 13, 13)],
     pool((3, 3), (2, 2), (1, 1))),
    ("max_pool2d_select", [("x", r(2, 3, 13, 13)), ("v", r(2, 3, 13, 13))], [(2, 3, 7, 7)],
     pool((3, 3), (2, 2), (1, 1))),
    ("avg_pool2d_backward", [("g", r(2, 3, 7, 7))], [(2, 3, 13, 13)],
     pool((3, 3), (2, 2), (1, 1)) + ", " + arr("input_shape", (2, 3, 13, 13))),
    ("adaptive_avg_pool2d_backward", [("g", r(2, 3, 3, 2))], [(2, 3, 7, 5)],
     arr("input_shape", (2, 3, 7, 5))),
    ("add", [("a", r(4, 3)), ("b", r(3))], [(4, 3)], ""),
    ("mul", [("a", r(2, 1, 5)), ("b", r(3, 1))], [(2, 3, 5)], ""),
    ("div", [("a", r(5)), ("b", pos(4, 5))], [(4, 5)], ""),
    ("sub", [("a", r()), ("b", r(6, 2))], [(6, 2)], ""),
    ("relu", [("x", r(1000))], [(1000,)], ""),
    ("sigmoid", [("x", r(3, 7) * 10)], [(3, 7)], ""),
    ("tanh", [("x", r(3, 7))], [(3, 7)], ""),
    ("exp", [("x", r(9))], [(9,)], ""),
    ("log", [("x", pos(9))], [(9,)], ""),
    ("sqrt", [("x", pos(9))], [(9,)], ""),
    ("abs", [("x", r(9))], [(9,)], ""),
    ("sign", [("x", r(9))], [(9,)], ""),
    ("neg", [("x", r(9))], [(9,)], ""),
    ("relu_backward", [("g", r(5, 6)), ("y", r(5, 6))], [(5, 6)], ""),
    ("sigmoid_backward", [("g", r(5, 6)), ("y", torch.rand(5, 6))], [(5, 6)], ""),
    ("tanh_backward", [("g", r(5, 6)), ("y", torch.rand(5, 6))], [(5, 6)], ""),
    ("dropout", [("x", r(40, 50)), ("seed", torch.tensor(123, dtype=torch.int64))], [(40, 50)],
     "p = 3.000000e-01 : f64, salt = 5"),
    ("broadcast_to", [("x", r(3, 1))], [(2, 3, 4)], arr("shape", (2, 3, 4))),
    ("sum", [("x", r(3, 4, 5))], [(4,)], arr("dims", (0, 2))),
    ("sum", [("x", r(8, 300, 5))], [(8, 1, 1)], arr("dims", (1, 2)) + ", keepdim = true"),
    ("mean", [("x", r(3, 4, 5))], [()], "dims = array<i64>"),
    ("softmax", [("x", r(4, 5, 3) * 5)], [(4, 5, 3)], "dim = 1"),
    ("log_softmax", [("x", r(4, 5) * 5)], [(4, 5)], "dim = -1"),
    ("softmax_backward", [("g", r(6, 5)), ("y", p)], [(6, 5)], "dim = 1"),
    ("log_softmax_backward", [("g", r(6, 5)), ("y", p.log())], [(6, 5)], "dim = 1"),
    ("cross_entropy", [("x", r(7, 5)), ("y", torch.randint(0, 5, (7,)))], [()], ""),
    ("cross_entropy", [("x", r(2, 4, 3, 3)), ("y", torch.randint(0, 4, (2, 3, 3)))], [()], ""),
    ("cross_entropy", [("x", r(3000, 10)), ("y", torch.randint(0, 10, (3000,)))], [()], ""),
    ("cross_entropy_backward", [("gl", torch.tensor(0.7)), ("x", r(7, 5)),
                                ("y", torch.randint(0, 5, (7,)))], [(7, 5)], ""),
    ("cross_entropy", [("x", r(6, 5)), ("y", torch.tensor([1, -1, 4, -1, 0, 2]))], [()], ""),
    ("cross_entropy_backward", [("gl", torch.tensor(0.7)), ("x", r(6, 5)),
                                ("y", torch.tensor([1, -1, 4, -1, 0, 2]))], [(6, 5)], ""),
    ("mse_loss", [("a", r(4, 3)), ("b", r(4, 3))], [()], ""),
    ("transpose", [("x", r(2, 3, 4))], [(4, 2, 3)], arr("permutation", (2, 0, 1))),
    ("slice", [("x", r(3, 10))], [(3, 4)], "dim = 1, start = -9, end = 9, step = 2"),
    ("slice_backward", [("g", r(3, 4))], [(3, 10)],
     arr("input_shape", (3, 10)) + ", dim = 1, start = 1, step = 2"),
    ("concat", [("a", r(2, 3)), ("b", r(2, 1)), ("c", r(2, 2))], [(2, 6)], "dim = 1"),
    ("embedding", [("i", torch.tensor([[3, 0, 3], [1, 4, 2]])), ("w", r(5, 4))], [(2, 3, 4)], ""),
    ("masked_softmax", [("x", r(2, 3, 5) * 3), ("v", torch.tensor([2, 0]))], [(2, 3, 5)], ""),
    ("masked_softmax", [("x", r(2, 3, 5)), ("v", torch.tensor([[1, 5, 3], [2, 4, 0]]))], [(2, 3, 5)], ""),
    ("masked_softmax_backward", [("g", r(2, 3, 5)), ("y", torch.softmax(r(2, 3, 5), -1)),
                                 ("v", torch.tensor([[1, 5, 3], [2, 4, 0]]))], [(2, 3, 5)], ""),
    ("embedding_backward", [("g", r(2, 3, 4)), ("i", torch.tensor([[3, 0, 3], [1, 4, 2]]))],
     [(6, 4)], "num_embeddings = 6"),
    ("argmax", [("x", r(4, 7, 3))], [(4, 3)], "dim = 1"),
    ("layer_norm", [("x", r(4, 3, 8) * 2 + 1), ("w", r(8)), ("b", r(8))], [(4, 3, 8), (4, 3), (4, 3)],
     "eps = 1.000000e-03 : f64"),
    ("layer_norm", [("x", r(300, 32)), ("w", r(32)), ("b", r(32))], [(300, 32), (300,), (300,)], ""),
    ("layer_norm_backward", [("g", r(4, 3, 8)), ("x", r(4, 3, 8)), ("w", r(8)), ("m", r(4, 3)),
                             ("s", pos(4, 3))], [(4, 3, 8), (8,), (8,)], ""),
    ("layer_norm_backward", [("g", r(300, 32)), ("x", r(300, 32)), ("w", r(32)), ("m", r(300)),
                             ("s", pos(300))], [(300, 32), (32,), (32,)], ""),
]

module = []
for i, (op, operands, shapes, attrs) in enumerate(cases):
    # Result types: float like the first operand, i64 for argmax.
    refs = [torch.zeros(s, dtype=torch.int64 if op == "argmax" else torch.float32) for s in shapes]
    module.append(single_op(op, operands, refs, attrs).replace("func.func @f(", f"func.func @f{i}("))
# d2lc compiles a model with @forward; this one just copies its input.
module.append('func.func @forward(%x: tensor<2xf32> {d2l.input = "x"}) -> (tensor<2xf32> {d2l.output = "y"}) {\n'
              '  %0 = d2l.neg %x : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n')
tmp = tempfile.mkdtemp()
src, cu = os.path.join(tmp, "ops.mlir"), os.path.join(tmp, "ops.cu")
open(src, "w").write("\n".join(module))
run_tool([tool("d2lc"), src, "-o", cu])
for i, (op, operands, shapes, attrs) in enumerate(cases):
    inputs = dict(operands)
    ref = evaluate(src, inputs, entry=f"f{i}")
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    save_safetensors(inp, inputs)
    run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", f"f{i}", "--inputs", inp,
              "-o", out])
    host = load_safetensors(out)
    for k in range(len(shapes)):
        tol = 0 if op in ("transpose", "slice", "slice_backward", "concat", "argmax", "embedding",
                          "broadcast_to") else 1e-5
        c.close(f"#{i} {op} result {k}", host[f"r{k}"], ref[f"r{k}"], tol)
c.finish()
