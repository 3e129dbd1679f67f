# RUN: %python %s %src_root
# torch-import turns the book's own PyTorch code, pasted as a reader would,
# into d2l models with the same parameter names: LeNet (nn.Sequential,
# tools/torch-import/book_lenet.py),
# NiN's nin_block, GoogLeNet's Inception and ResNet's Residual (nn.Module
# classes with forward methods, F.relu, torch.cat, Y += X). For each, with
# the module's own weights (--weights): the logits of @forward (eval mode)
# and the loss and every gradient of @train_step (train mode: batch
# statistics; the conv biases right before a BatchNorm, whose exact
# gradient is zero, excepted) through the reference evaluator, against
# PyTorch, f32 relative 1e-5 / 1e-4. And bad input is an error naming the
# problem, with exit status 1 and no output file.
import os
import sys
import tempfile
import textwrap

import torch
import torch.nn.functional as F
from d2ltest import Checker, load_safetensors, rel_err, run_tool, save_safetensors, tool

c = Checker()
tmp = tempfile.mkdtemp()
HEAD = "import torch\nfrom torch import nn\nfrom torch.nn import functional as F\n\n"

# LeNet: the example the README imports.
LENET = open(os.path.join(sys.argv[1], "tools", "torch-import", "book_lenet.py")).read()

NIN = """
def nin_block(in_channels, out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())

net = nn.Sequential(
    nin_block(1, 8, kernel_size=5, strides=2, padding=0),
    nn.MaxPool2d(3, stride=2),
    nin_block(8, 10, kernel_size=3, strides=1, padding=1),
    nn.AdaptiveAvgPool2d((1, 1)),
    nn.Flatten())
"""

INCEPTION = """
class Inception(nn.Module):
    # c1--c4是每条路径的输出通道数
    def __init__(self, in_channels, c1, c2, c3, c4, **kwargs):
        super(Inception, self).__init__(**kwargs)
        # 线路1，单1x1卷积层
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        # 线路2，1x1卷积层后接3x3卷积层
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        # 线路3，1x1卷积层后接5x5卷积层
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        # 线路4，3x3最大汇聚层后接1x1卷积层
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x):
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        # 在通道维度上连结输出
        return torch.cat((p1, p2, p3, p4), dim=1)

net = nn.Sequential(Inception(4, 2, (3, 4), (2, 3), 2),
                    nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(11, 10))
"""

RESIDUAL = """
class Residual(nn.Module):  #@save
    def __init__(self, input_channels, num_channels,
                 use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels,
                               kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels,
                               kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.Conv2d(input_channels, num_channels,
                                   kernel_size=1, stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)

def net():
    return nn.Sequential(Residual(3, 6, use_1x1conv=True, strides=2),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(6, 10))
"""

CASES = [("lenet", LENET, (4, 1, 28, 28)), ("nin", NIN, (2, 1, 32, 32)),
         ("inception", INCEPTION, (2, 4, 12, 12)), ("residual", RESIDUAL, (4, 3, 12, 12))]


def write(name, body):
    path = os.path.join(tmp, name + ".py")
    with open(path, "w") as f:
        f.write(HEAD + textwrap.dedent(body))
    return path


def run(model, entry, inputs):
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    save_safetensors(inp, inputs)
    run_tool([tool("d2lc-run"), "--backend=eval", model, "--entry", entry, "--inputs", inp,
              "-o", out])
    return load_safetensors(out)


for name, body, shape in CASES:
    src = write(name, body)
    mlir, weights = os.path.join(tmp, name + ".mlir"), os.path.join(tmp, name + ".safetensors")
    torch.manual_seed(len(name))
    run_tool([tool("torch-import"), f"{src}:net", "--input-shape", "x".join(map(str, shape)),
              "-o", mlir, "--weights", weights])
    w = load_safetensors(weights)
    scope = {}
    exec(compile(HEAD + textwrap.dedent(body), src, "exec"), scope)
    net = scope["net"] if isinstance(scope["net"], torch.nn.Module) else scope["net"]()
    net.load_state_dict(w, strict=False)  # the same weights (no num_batches_tracked)
    # Non-trivial BatchNorm statistics, so that inference mode is checked.
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    w = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    text = open(mlir).read()
    c.true(f"{name}: every state_dict name is an argument",
           all(f'"{k}"' in text for k in w), ", ".join(k for k in w if f'"{k}"' not in text))
    g = torch.Generator().manual_seed(1)
    x = torch.rand(shape, generator=g)
    y = torch.randint(0, 10, (shape[0],), generator=g)

    net.eval()
    with torch.no_grad():
        ref = net(x)
    ours = run(mlir, "forward", dict(w, X=x))
    c.close(f"{name}: logits (eval mode)", ours["logits"], ref, 1e-5)

    train = os.path.join(tmp, name + "-train.mlir")
    run_tool([tool("d2lc"), mlir, "--train", "--emit-grads", "--emit-mlir", "-o", train])
    ours = run(train, "train_step", dict(w, X=x, labels=y, lr=torch.tensor(0.1)))
    net.train()
    loss = F.cross_entropy(net(x), y)
    net.zero_grad()
    loss.backward()
    c.close(f"{name}: train_step loss", ours["loss"], loss.detach(), 1e-5)
    errs = sorted((rel_err(ours["grad." + k], p.grad), k) for k, p in net.named_parameters()
                  if not (name == "residual" and k in ("0.conv1.bias", "0.conv2.bias")))
    c.true(f"{name}: {len(errs)} gradients", errs[-1][0] <= 1e-4, "worst %.1e (%s)" % errs[-1])


# --- Bad input: an error naming the problem, exit status 1, no output file.
def expect_error(what, args, message):
    out = os.path.join(tmp, "bad.mlir")
    if os.path.exists(out):
        os.unlink(out)
    r = run_tool([tool("torch-import")] + args + ["-o", out], expect_ok=False)
    c.true(what, r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr
           and not os.path.exists(out), f"rc {r.returncode}: {r.stderr.strip()}")


gelu = write("gelu", "net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))\n")
expect_error("an unsupported layer is named", [f"{gelu}:net", "--input-shape", "2x4"],
             "unsupported layer '1' (GELU)")
expect_error("a missing name", [f"{gelu}:model", "--input-shape", "2x4"], "defines no 'model'")
expect_error("a missing file", [os.path.join(tmp, "none.py") + ":net", "--input-shape", "2x4"],
             "none.py: no such file")
expect_error("no NAME", [gelu, "--input-shape", "2x4"], "expected FILE.py:NAME")
expect_error("a bad --input-shape", [f"{gelu}:net", "--input-shape", "2xfour"],
             "--input-shape '2xfour'")
expect_error("a shape the module cannot take", [f"{gelu}:net", "--input-shape", "2x5"],
             "does not run on an input of shape 2x5")
broken = write("broken", "raise RuntimeError('oops')\n")
expect_error("a script that fails", [f"{broken}:net", "--input-shape", "2x4"],
             "running it failed: RuntimeError: oops")
notmod = write("notmod", "net = 3\n")
expect_error("not a module", [f"{notmod}:net", "--input-shape", "2x4"], "is not an nn.Module")
ceil = write("ceil", "net = nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), nn.Flatten())\n")
expect_error("an unsupported option", [f"{ceil}:net", "--input-shape", "1x1x8x8"],
             "'0' (MaxPool2d): ceil_mode=True is not supported")
c.finish()
