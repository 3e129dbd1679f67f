# RUN: %python %s
# d2l.conv_bn_relu_pool_backward (d2lc --fuse-stem-backward): a
# conv-BN-ReLU-max-pool stem whose input needs no gradient gets its
# parameter gradients from one kernel that recomputes every pooling window
# from the input, with no tensor of the conv output's size. Checked on the
# host backend against PyTorch (nn.Sequential of the same layers, one SGD
# step: loss, every gradient, the parameters and BatchNorm's running
# statistics, relative 1e-4; the conv bias before BatchNorm has a zero
# gradient up to rounding) and against the same step without the fusion,
# for ResNet's stem (7x7 stride 2 padding 3, max-pool 3 stride 2 padding 1,
# with a bias), a 3-channel 3x3 stem with no bias and a 2x2 pool, and a
# stem with stride 2 whose windows overrun the border, and a 128-channel
# stem over an odd batch; --mem-report shows
# the conv output no longer saved; NVRTC and ptxas compile the kernel; the
# reference evaluator runs the fused step's IR (d2lc --emit-mlir) to the
# same numbers.
import os
import re
import tempfile

import torch
from torch import nn
from d2lmodels import biases_before_bn, randomize, reference_step, state_tensors
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

c = Checker()
tmp = tempfile.mkdtemp()
LR = 0.1
PTXAS = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")


def model_mlir(batch, cin, size, cout, k, stride, pad, pool, bias, classes=3):
    """The stem + flatten + linear as a d2l @forward, PyTorch's names."""
    pk, ps, pp = pool
    y = (size + 2 * pad - k) // stride + 1
    o = (y + 2 * pp - pk) // ps + 1
    feat = cout * o * o
    f = "f32"
    x_t = f"tensor<{batch}x{cin}x{size}x{size}x{f}>"
    w_t = f"tensor<{cout}x{cin}x{k}x{k}x{f}>"
    v_t = f"tensor<{cout}x{f}>"
    y_t = f"tensor<{batch}x{cout}x{y}x{y}x{f}>"
    o_t = f"tensor<{batch}x{cout}x{o}x{o}x{f}>"
    args = [f'%x: {x_t} {{d2l.input = "X"}}',
            f'%w: {w_t} {{d2l.param = "0.weight", d2l.init = "xavier_uniform"}}']
    if bias:
        args.append(f'%b: {v_t} {{d2l.param = "0.bias", d2l.init = "zeros"}}')
    args += [f'%g: {v_t} {{d2l.param = "1.weight", d2l.init = "ones"}}',
             f'%be: {v_t} {{d2l.param = "1.bias", d2l.init = "zeros"}}',
             f'%m: {v_t} {{d2l.state = "1.running_mean", d2l.init = "zeros"}}',
             f'%v: {v_t} {{d2l.state = "1.running_var", d2l.init = "ones"}}',
             f'%fw: tensor<{classes}x{feat}x{f}> {{d2l.param = "5.weight", d2l.init = "xavier_uniform"}}',
             f'%fb: tensor<{classes}x{f}> {{d2l.param = "5.bias", d2l.init = "zeros"}}']
    conv_operands = "%x, %w, %b" if bias else "%x, %w"
    conv_types = f"{x_t}, {w_t}, {v_t}" if bias else f"{x_t}, {w_t}"
    return f"""func.func @forward({', '.join(args)}) -> (tensor<{batch}x{classes}x{f}> {{d2l.output = "logits"}}) {{
  %0 = d2l.conv2d {conv_operands} {{stride = array<i64: {stride}, {stride}>, padding = array<i64: {pad}, {pad}>}} : ({conv_types}) -> {y_t}
  %1 = d2l.batch_norm_inference %0, %g, %be, %m, %v : ({y_t}, {v_t}, {v_t}, {v_t}, {v_t}) -> {y_t}
  %2 = d2l.relu %1 : {y_t}
  %3 = d2l.max_pool2d %2 {{kernel_size = array<i64: {pk}, {pk}>, stride = array<i64: {ps}, {ps}>, padding = array<i64: {pp}, {pp}>}} : ({y_t}) -> {o_t}
  %4 = d2l.flatten %3 : ({o_t}) -> tensor<{batch}x{feat}x{f}>
  %5 = d2l.linear %4, %fw, %fb : (tensor<{batch}x{feat}x{f}>, tensor<{classes}x{feat}x{f}>, tensor<{classes}x{f}>) -> tensor<{batch}x{classes}x{f}>
  return %5 : tensor<{batch}x{classes}x{f}>
}}
""", y, o, feat


def check(tag, batch, cin, size, cout, k, stride, pad, pool, bias):
    src, y, o, feat = model_mlir(batch, cin, size, cout, k, stride, pad, pool, bias)
    path = os.path.join(tmp, f"{tag}.mlir")
    with open(path, "w") as fh:
        fh.write(src)
    net = randomize(nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, pad, bias=bias), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.MaxPool2d(pool[0], pool[1], pool[2]), nn.Flatten(), nn.Linear(feat, 3)), seed=len(tag))
    g = torch.Generator().manual_seed(batch * 7 + cin)
    x = torch.randn(batch, cin, size, size, generator=g)
    labels = torch.randint(0, 3, (batch,), generator=g)
    weights = {k_: v.clone() for k_, v in state_tensors(net).items()}
    inputs = os.path.join(tmp, f"{tag}-in.safetensors")
    save_safetensors(inputs, dict(weights, X=x, labels=labels, lr=torch.tensor(LR)))

    ref = reference_step(net, x, labels, LR)  # PyTorch: one SGD step
    noise = biases_before_bn(net)

    out = {}
    base = [tool("d2lc"), path, "--train", "--emit-grads"]
    for variant, extra in (("fused", ["--fuse-stem-backward"]), ("plain", [])):
        cu = os.path.join(tmp, f"{tag}-{variant}.cu")
        run_tool(base + extra + ["-o", cu])
        res = os.path.join(tmp, f"{tag}-{variant}.safetensors")
        run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", "train_step",
                  "--inputs", inputs, "-o", res])
        out[variant] = load_safetensors(res)
        report = run_tool(base + extra + ["--mem-report"]).stdout
        out[variant + "-saved"] = int(re.search(r"saved activations\s+(\d+)", report).group(1))
        out[variant + "-report"] = report

    # The reference evaluator on the fused step's IR (its own version of the
    # op: the unfused ops, every intermediate materialised).
    ir = os.path.join(tmp, f"{tag}-fused-ir.mlir")
    run_tool(base + ["--fuse-stem-backward", "--emit-mlir", "-o", ir])
    res = os.path.join(tmp, f"{tag}-eval.safetensors")
    run_tool([tool("d2lc-run"), ir, "--backend", "eval", "--entry", "train_step",
              "--inputs", inputs, "-o", res])
    out["eval"] = load_safetensors(res)
    fused, plain = out["fused"], out["plain"]
    c.true(f"{tag}: the fused step has the stem kernel",
           "conv_bn_relu_pool_backward" in open(os.path.join(tmp, f"{tag}-fused.cu")).read())
    conv_bytes = batch * cout * y * y * 4
    c.true(f"{tag}: the conv output ({conv_bytes} bytes) is no longer saved",
           out["plain-saved"] - out["fused-saved"] == conv_bytes,
           f"saved {out['plain-saved']} -> {out['fused-saved']}")
    for k_, v in ref.items():
        for name, ours in (("fused", fused), ("plain", plain), ("evaluator", out["eval"])):
            if k_ not in ours:
                c.true(f"{tag} {name} has {k_}", False)
                continue
            base_name = k_.split(".", 1)[1] if k_.startswith("grad.") else None
            if base_name in noise:
                scale = ref["grad." + base_name.replace("bias", "weight")].abs().max().item()
                err = (ours[k_].double() - v.double()).abs().max().item()
                c.true(f"{tag} {name} {k_} vs PyTorch (zero up to rounding)",
                       err <= 1e-4 * max(scale, 1.0), f"|diff| {err:.2e}")
            else:
                c.close(f"{tag} {name} {k_} vs PyTorch", ours[k_], v, 1e-4)
    for k_ in ("grad.0.weight", "grad.1.weight", "grad.1.bias"):
        c.close(f"{tag} fused vs plain {k_}", fused[k_], plain[k_], 1e-5)
    # The same source through NVRTC and ptxas (no GPU needed).
    for sm in ("80", "90"):
        ptx = os.path.join(tmp, f"{tag}-{sm}.ptx")
        r = run_tool([tool("d2lrt-compile"), os.path.join(tmp, f"{tag}-fused.cu"),
                      "--arch", "compute_" + sm, "-o", ptx], expect_ok=False)
        ok = r.returncode == 0
        if ok:
            r = run_tool([PTXAS, "-arch=sm_" + sm, ptx, "-o", os.devnull], expect_ok=False)
            ok = r.returncode == 0
        c.true(f"{tag}: NVRTC and ptxas sm_{sm}", ok, r.stderr.strip()[:300])


# ResNet's stem (Cin 1, 7x7 stride 2 padding 3, max-pool 3 / 2 / 1).
check("resnet-stem", 4, 1, 24, 8, 7, 2, 3, (3, 2, 1), True)
# Three channels, 3x3, no bias, a 2x2 pool over an odd size (the last row
# and column are dropped).
check("rgb-stem", 3, 3, 9, 5, 3, 1, 1, (2, 2, 0), False)
# Stride 2 conv and a 3 / 2 / 1 pool on an even 6x6 output: windows overrun
# the border.
check("border-stem", 2, 2, 11, 4, 3, 2, 1, (3, 2, 1), True)
# 128 channels (blocks) over an odd batch of 7.
check("wide-stem", 7, 1, 10, 128, 3, 1, 1, (2, 2, 0), False)
c.finish()
