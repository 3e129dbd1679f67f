# RUN: %python %s %models
# models/transformer_block.mlir against the book's TransformerEncoderBlock
# (11.7: MultiHeadAttention with scaled dot products and 4 heads, AddNorm
# with LayerNorm, PositionWiseFFN), written here as the book writes it:
#  - the same state_dict names and shapes;
#  - @forward (eval mode) on the host backend, relative 1e-5;
#  - @train_step with a squared loss and dropout set to 0 in the model text
#    (so that both sides are deterministic) on the host backend: loss and
#    every gradient, relative 1e-4.
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F
from d2lmodels import EncoderBlock
from d2ltest import Checker, run_compiled, run_tool, tool

models_dir = sys.argv[1]
c = Checker()
tmp = tempfile.mkdtemp()


src = os.path.join(models_dir, "transformer_block.mlir")
text = open(src).read()
torch.manual_seed(0)
block = EncoderBlock(32, 32, 32, 32, [32], 32, 64, 4, 0.0)
with torch.no_grad():  # non-trivial LayerNorm parameters
    for ln in (block.addnorm1.ln, block.addnorm2.ln):
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.5, 0.5)
state = {"0." + k: v.clone() for k, v in block.state_dict().items()}
args = {m.group(2): tuple(int(d) for d in m.group(1).split("x"))
        for m in re.finditer(r'tensor<([0-9x]+)xf32> \{d2l\.init = "[^"]+", d2l\.param = "([^"]+)"\}', text)}
c.true("parameter names and shapes are the book's",
       args == {k: tuple(v.shape) for k, v in state.items()}, str(sorted(args)))

g = torch.Generator().manual_seed(1)
x = torch.randn(64, 10, 32, generator=g)
target = torch.randn(64, 10, 32, generator=g)



fwd = os.path.join(tmp, "block.cu")
run_tool([tool("d2lc"), src, "-o", fwd])
block.eval()
with torch.no_grad():
    ref = block(x, None)
c.close("forward (eval mode)", run_compiled(fwd, "forward", dict(state, X=x))["Y"], ref, 1e-5)

# Training: dropout 0 on both sides.
nodrop = os.path.join(tmp, "block-nodrop.mlir")
open(nodrop, "w").write(text.replace("p = 1.000000e-01 : f64", "p = 0.000000e+00 : f64"))
train = os.path.join(tmp, "block-train.cu")
run_tool([tool("d2lc"), nodrop, "--train", "--loss", "mse", "--emit-grads", "-o", train])
ours = run_compiled(train, "train_step", dict(state, X=x, labels=target, lr=torch.tensor(0.1),
                    seed=torch.tensor(3, dtype=torch.int64)))
block.train()
loss = F.mse_loss(block(x, None), target)
block.zero_grad()
loss.backward()
c.close("train_step loss", ours["loss"], loss.detach(), 1e-5)
for k, p in block.named_parameters():
    c.close(f"grad.0.{k}", ours["grad.0." + k], p.grad, 1e-4)
c.finish()
