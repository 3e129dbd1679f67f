# RUN: %python %s %models
# d2lc-train on the real Fashion-MNIST, host backend, checked against
# PyTorch:
#  - exact steps: from weights PyTorch wrote, 40 unshuffled examples at
#    batch 32 (a full batch, then 8 real rows and 24 padding rows) give the
#    parameters of PyTorch's two SGD steps (batch 32, then batch 8), the
#    printed loss and the test accuracy;
#  - the book's MLP for one epoch (batch 32, lr 0.1) reaches test accuracy
#    >= 0.80, and its checkpoint loads into the book's nn.Sequential with
#    strict=True and gives the printed test accuracy in PyTorch;
#  - --resume continues where a checkpoint stopped (same weights as one
#    uninterrupted run, with momentum and Adam too: their states are saved
#    beside the checkpoint) and --plot draws every epoch;
#  - d2lc-data --resize matches F.interpolate(bilinear) (the resize of
#    d2lc-train for 96 and 224 pixel models);
#  - bad input is a clear error.
import gzip
import os
import re
import shutil
import struct
import sys
import tempfile
import xml.etree.ElementTree as ET

import torch
import torch.nn.functional as F
from d2lmodels import mlp
from d2ltest import Checker, load_safetensors, run_tool, save_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)


train_x = read_idx("train-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
train_y = read_idx("train-labels-idx1-ubyte.gz").long()
test_x = read_idx("t10k-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
test_y = read_idx("t10k-labels-idx1-ubyte.gz").long()


def accuracy(net, x, y):
    with torch.no_grad():
        return (net(x).argmax(1) == y).float().mean().item()


def train(args, expect_ok=True):
    return run_tool([tool("d2lc-train")] + args, expect_ok)


def epoch_lines(out):
    return [tuple(float(v) for v in m) for m in
            re.findall(r"epoch \d+: loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)", out)]


model = os.path.join(tmp, "mlp32.cu")
run_tool([tool("d2lc"), os.path.join(models_dir, "mlp.mlir"), "--train", "--batch", "32",
          "-o", model])

# --- Two exact steps against PyTorch, the second one padded.
torch.manual_seed(0)
net = mlp()
init = os.path.join(tmp, "init.safetensors")
save_safetensors(init, net.state_dict())
ck = os.path.join(tmp, "exact.safetensors")
r = train([model, "--resume", init, "--epochs", "1", "--lr", "0.1", "--no-shuffle",
           "--limit", "40", "--test-limit", "100", "--checkpoint", ck])
opt = torch.optim.SGD(net.parameters(), lr=0.1)
losses = []
for lo, hi in [(0, 32), (32, 40)]:
    opt.zero_grad()
    loss = F.cross_entropy(net(train_x[lo:hi]), train_y[lo:hi])
    loss.backward()
    opt.step()
    losses.append(loss.item() * (hi - lo))
ours = load_safetensors(ck)
for name, ref in net.state_dict().items():
    c.close(f"two steps (32 + 8 of 32 rows): {name}", ours[name], ref, 1e-5)
(loss, _, test_acc), = epoch_lines(r.stdout)
c.true("printed loss is the mean over the 40 real rows",
       abs(loss - sum(losses) / 40) < 6e-4, f"{loss} vs {sum(losses) / 40:.4f}")
c.true("printed test accuracy (100 examples) is PyTorch's",
       abs(test_acc - accuracy(net, test_x[:100], test_y[:100])) < 1e-6,
       f"{test_acc} vs {accuracy(net, test_x[:100], test_y[:100])}")
c.true("examples/sec line", re.search(r"^[\d.]+ examples/sec on host", r.stdout, re.M) is not None,
       r.stdout)

# --- The book's MLP, one epoch at batch 32: test accuracy >= 0.80.
ck = os.path.join(tmp, "mlp.safetensors")
plot = os.path.join(tmp, "curves.svg")
r = train([model, "--epochs", "1", "--lr", "0.1", "--seed", "0", "--checkpoint", ck,
           "--plot", plot])
print(r.stdout, end="")
(loss, train_acc, test_acc), = epoch_lines(r.stdout)
c.true("one epoch: test accuracy >= 0.80", test_acc >= 0.80, str(test_acc))
c.true("one epoch: train loss below ln(10)", loss < 0.9, str(loss))
net = mlp()
state = load_safetensors(ck)
net.load_state_dict(state, strict=True)
c.true("checkpoint: load_state_dict(strict=True), printed test accuracy",
       abs(accuracy(net, test_x, test_y) - test_acc) <= 5e-4,
       f"PyTorch {accuracy(net, test_x, test_y):.4f}, d2lc-train {test_acc}")
c.true("plot: an SVG with loss, train acc and test acc",
       len(ET.parse(plot).getroot().findall("{http://www.w3.org/2000/svg}polyline")) == 3)

# --- Resume: 2 epochs straight equal 1 epoch, then --resume for the 2nd.
straight = os.path.join(tmp, "straight.safetensors")
half = os.path.join(tmp, "half.safetensors")
resumed = os.path.join(tmp, "resumed.safetensors")
common = [model, "--lr", "0.1", "--seed", "7", "--limit", "1000", "--test-limit", "500"]
r2 = train(common + ["--epochs", "2", "--checkpoint", straight, "--plot", plot])
train(common + ["--epochs", "1", "--checkpoint", half])
r = train(common + ["--epochs", "2", "--resume", half, "--checkpoint", resumed, "--plot", plot])
a, b = load_safetensors(straight), load_safetensors(resumed)
c.true("resume: the same weights as an uninterrupted run",
       all(torch.equal(a[k], b[k]) for k in a) and a.keys() == b.keys())
c.true("resume: starts at epoch 2 and prints what the uninterrupted run did",
       r.stdout.startswith("epoch 2:") and epoch_lines(r.stdout) == epoch_lines(r2.stdout)[1:],
       r.stdout)
points = ET.parse(plot).getroot().find("{http://www.w3.org/2000/svg}polyline").get("points")
c.true("resume: the plot has both epochs", len(points.split()) == 2, points)

# --- Resume with an optimizer's states: momentum's velocity buffers, and
# Adam's moments and step count, are saved beside the checkpoint
# (CK.optimizer.safetensors, of the same epoch and step), so the resumed run
# equals the uninterrupted one bit for bit; the checkpoint itself stays a
# strict state_dict. Without that file the buffers restart at zero (a note
# says so) and the weights differ; with another epoch's file the run stops.
params = set(mlp().state_dict())
for opt_name, flags, lr, states in [
        ("momentum", ["--momentum", "0.9"], "0.05", {"momentum." + k for k in params}),
        ("adam", ["--optimizer", "adam"], "0.001",
         {f"adam.{m}.{k}" for m in ("exp_avg", "exp_avg_sq") for k in params} | {"adam.step"})]:
    cu = os.path.join(tmp, f"mlp32-{opt_name}.cu")
    run_tool([tool("d2lc"), os.path.join(models_dir, "mlp.mlir"), "--train", "--batch", "32"]
             + flags + ["-o", cu])
    common = [cu, "--lr", lr, "--seed", "3", "--limit", "640", "--test-limit", "100"]
    cks = {t: os.path.join(tmp, f"{opt_name}-{t}.safetensors") for t in ("straight", "half", "resumed")}
    train(common + ["--epochs", "2", "--checkpoint", cks["straight"]])
    train(common + ["--epochs", "1", "--checkpoint", cks["half"]])
    opt_state = load_safetensors(os.path.join(tmp, f"{opt_name}-half.optimizer.safetensors"))
    c.true(f"{opt_name}: the optimizer's states beside the checkpoint",
           set(opt_state) == states and all(v.abs().max() > 0 for v in opt_state.values()),
           str(sorted(opt_state)))
    c.true(f"{opt_name}: the checkpoint is a strict state_dict",
           set(load_safetensors(cks["half"])) == params)
    train(common + ["--epochs", "2", "--resume", cks["half"], "--checkpoint", cks["resumed"]])
    a, b = load_safetensors(cks["straight"]), load_safetensors(cks["resumed"])
    c.true(f"{opt_name}: resume gives the same weights as an uninterrupted run",
           all(torch.equal(a[k], b[k]) for k in a) and a.keys() == b.keys())
    sa = load_safetensors(os.path.join(tmp, f"{opt_name}-straight.optimizer.safetensors"))
    sb = load_safetensors(os.path.join(tmp, f"{opt_name}-resumed.optimizer.safetensors"))
    c.true(f"{opt_name}: ... and the same optimizer states",
           sa.keys() == sb.keys() and all(torch.equal(v, sb[k]) for k, v in sa.items()))
# Momentum's checkpoint without its states, and with another epoch's.
common = [os.path.join(tmp, "mlp32-momentum.cu"), "--lr", "0.05", "--seed", "3", "--limit", "640",
          "--test-limit", "100"]
straight = os.path.join(tmp, "momentum-straight.safetensors")
half = os.path.join(tmp, "momentum-half.safetensors")
half_opt = os.path.join(tmp, "momentum-half.optimizer.safetensors")
resumed = os.path.join(tmp, "momentum-resumed.safetensors")
a = load_safetensors(straight)
bare = os.path.join(tmp, "m-bare.safetensors")
shutil.copy(half, bare)
r = train(common + ["--epochs", "2", "--resume", bare, "--checkpoint", resumed])
b = load_safetensors(resumed)
c.true("momentum: without the states' file a note, and velocities from zero",
       "m-bare.optimizer.safetensors: the optimizer's states start at zero" in r.stderr and
       any(not torch.equal(a[k], b[k]) for k in a), r.stderr)
shutil.copy(straight, bare)
shutil.copy(half_opt, os.path.join(tmp, "m-bare.optimizer.safetensors"))
r = train(common + ["--epochs", "3", "--resume", bare], expect_ok=False)
c.true("momentum: another epoch's states are an error",
       r.returncode != 0 and "m-bare.optimizer.safetensors is of epoch 1 but" in r.stderr and
       "do not belong to that checkpoint (move it away" in r.stderr, r.stderr)

# --- Bilinear resize as torchvision / F.interpolate.
out = os.path.join(tmp, "r.safetensors")
for size in [96, 224]:
    run_tool([tool("d2lc-data"), "--split", "test", "--count", "3", "--resize", str(size), "-o", out])
    ref = F.interpolate(test_x[:3], size=(size, size), mode="bilinear", align_corners=False)
    c.close(f"d2lc-data --resize {size} = F.interpolate bilinear", load_safetensors(out)["X"], ref, 1e-5)


# --- Bad input.
def expect_error(what, args, message):
    r = train(args, expect_ok=False)
    c.true(what, r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr,
           f"rc {r.returncode}: {r.stderr.strip()}")


expect_error("wrong --batch", [model, "--batch", "256", "--epochs", "1"],
             "was compiled for batch 32 (recompile with d2lc --batch 256)")
expect_error("no such model", [os.path.join(tmp, "none.cu"), "--epochs", "1"], "none.cu")
fwd = os.path.join(tmp, "fwd.cu")
run_tool([tool("d2lc"), os.path.join(models_dir, "mlp.mlir"), "-o", fwd])
expect_error("a model compiled without --train", [fwd, "--epochs", "1"],
             "has no @train_step and @eval_step: compile it with d2lc --train")
expect_error("missing data directory", [model, "--data", os.path.join(tmp, "nodata")],
             "nodata")
bad = os.path.join(tmp, "bad-data")
shutil.copytree(DATA, bad)
with gzip.open(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")) as f:
    labels = f.read()
with gzip.open(os.path.join(bad, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
    f.write(labels[:5000])
expect_error("truncated IDX file", [model, "--data", bad, "--limit", "64"],
             "t10k-labels-idx1-ubyte.gz")
expect_error("--resume of an already finished run", [model, "--resume", ck, "--epochs", "1"],
             "is already at epoch 1: pass --epochs greater than that")
other = {k: v for k, v in mlp().state_dict().items() if k != "3.bias"}
save_safetensors(init, other)
expect_error("--resume of a checkpoint without a parameter", [model, "--resume", init],
             "has no tensor '3.bias'")
wrong = dict(mlp().state_dict())
wrong["3.weight"] = torch.zeros(10, 255)
save_safetensors(init, wrong)
expect_error("--resume with a wrong shape", [model, "--resume", init], "3.weight")
before = open(ck, "rb").read()
expect_error("--checkpoint into a missing directory",
             [model, "--epochs", "1", "--limit", "64", "--test-limit", "64", "--checkpoint",
              os.path.join(tmp, "no", "dir", "ck.safetensors")], "ck.safetensors")
r = train([model, "--lr", "-1"], expect_ok=False)
c.true("a negative --lr is a usage error", r.returncode == 2 and "usage: d2lc-train" in r.stderr)
expect_error("a diverging run stops", [model, "--resume", ck, "--epochs", "2", "--lr", "1e30",
                                       "--limit", "640", "--checkpoint", ck],
             ": lower --lr")
c.true("... and leaves the checkpoint as it was", open(ck, "rb").read() == before)
c.finish()
