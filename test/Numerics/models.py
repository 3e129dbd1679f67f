# RUN: %python %s %models
# The logits of every model in models/ with the weights of the book's own
# PyTorch definition (moved by state_dict name through safetensors) on a real
# Fashion-MNIST batch, in inference mode: f32 rel 1e-5, f64 rel 1e-12.
import os
import subprocess
import sys
import tempfile

import torch
from d2lmodels import MODELS, randomize, state_tensors
from d2ltest import Checker, evaluate, load_safetensors, tool

models_dir = sys.argv[1]
c = Checker()
with tempfile.TemporaryDirectory() as tmp:
    batch_path = os.path.join(tmp, "batch.safetensors")
    subprocess.run([tool("d2lc-data"), "--split", "test", "--count", "256", "-o", batch_path],
                   check=True)
    batch = load_safetensors(batch_path)

for name, (make, shape) in MODELS.items():
    net = randomize(make(), seed=len(name)).eval()
    if shape[1:] == (1, 28, 28):
        x = batch["X"]
    else:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    path = os.path.join(models_dir, name + ".mlir")
    inputs = dict(state_tensors(net), X=x)
    out_name = "y_hat" if name == "linear_regression" else "logits"
    with torch.no_grad():
        ref = net(x)
    out = evaluate(path, inputs)
    c.close(f"{name} logits f32", out[out_name], ref, 1e-5)
    with torch.no_grad():
        ref64 = net.double()(x.double())
    inputs64 = {k: v.double() for k, v in inputs.items()}
    out64 = evaluate(path, inputs64, f64=True)
    c.close(f"{name} logits f64", out64[out_name], ref64, 1e-12)
    n_params = sum(p.numel() for p in net.parameters())
    text = open(path).read()
    c.true(f"{name} parameter count {n_params} in the model header",
           f"// {n_params} trainable parameters" in text)
c.finish()
