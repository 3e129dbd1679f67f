# RUN: %python %s %models
# d2lc-train's segmentation task with the book's FCN (models/fcn.mlir, here
# at batch 2 on the host backend): Fashion-MNIST upsampled to 96x96, each
# pixel brighter than 0.5 labelled with the item's class and the others with
# the background (class 10). After two steps (the second batch padded), the
# checkpoint loads into the book's FCN (test/lib/d2lmodels.py) with
# strict=True, and PyTorch computes from it the per-pixel test accuracy that
# d2lc-train printed, with labels built independently here.
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from d2lmodels import fcn
from d2ltest import Checker, load_safetensors, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()
cu, ck = os.path.join(tmp, "fcn.cu"), os.path.join(tmp, "fcn.safetensors")
run_tool([tool("d2lc"), os.path.join(models_dir, "fcn.mlir"), "--train", "--batch", "2", "-o", cu])
r = run_tool([tool("d2lc-train"), cu, "--resize", "96", "--epochs", "1", "--lr", "0.01",
              "--limit", "3", "--test-limit", "4", "--no-shuffle", "--checkpoint", ck])
print(r.stdout, end="")
m = re.search(r"epoch 1: loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+) \(per pixel\)", r.stdout)
c.true("the epoch line, per pixel", m is not None, r.stdout)

net = fcn()
net.load_state_dict(load_safetensors(ck), strict=True)
net.eval()
out = os.path.join(tmp, "test.safetensors")
run_tool([tool("d2lc-data"), "--split", "test", "--count", "4", "-o", out])
batch = load_safetensors(out)
x = F.interpolate(batch["X"], size=(96, 96), mode="bilinear", align_corners=False)
y = torch.where(x[:, 0] > 0.5, batch["labels"].view(-1, 1, 1), torch.tensor(10))
with torch.no_grad():
    logits = net(x)
c.true("logits are [4, 11, 96, 96]", tuple(logits.shape) == (4, 11, 96, 96))
acc = (logits.argmax(1) == y).double().mean().item()
c.true("the printed test accuracy is PyTorch's per-pixel accuracy of the checkpoint",
       m is not None and abs(acc - float(m.group(3))) <= 5e-4, f"{acc:.4f} vs {m and m.group(3)}")
c.true("labels have foreground and background", 0 < (y != 10).double().mean().item() < 1)
c.finish()
