# RUN: %python %s %models
# Bad input to d2lc-run: each case exits non-zero with a clear message that
# names the problem, and never crashes.
import os
import struct
import sys
import tempfile

import torch
from d2ltest import Checker, run_tool, save_safetensors, tool

models = sys.argv[1]
lenet = os.path.join(models, "lenet.mlir")
c = Checker()
tmp = tempfile.mkdtemp()


def path(name):
    return os.path.join(tmp, name)


def expect_error(what, args, message):
    r = run_tool([tool("d2lc-run")] + args, expect_ok=False)
    crashed = r.returncode < 0 or "Stack dump" in r.stderr or "PLEASE submit" in r.stderr
    ok = r.returncode == 1 and not crashed and message in r.stderr
    c.true(what, ok, f"exit {r.returncode}, stderr: {r.stderr.strip()[:300]}")


good = path("good.safetensors")
save_safetensors(good, {"X": torch.zeros(256, 1, 28, 28)})

expect_error("missing model file", ["/nonexistent/model.mlir"], "/nonexistent/model.mlir")
expect_error("unknown entry", [lenet, "--entry", "train"],
             "no function @train in " + lenet + " (functions: @forward)")
expect_error("unknown backend", ["--backend=tpu", lenet], "unknown backend 'tpu'")
expect_error("missing inputs file", [lenet, "--inputs", path("none.safetensors")],
             "none.safetensors: cannot open")
expect_error("missing input tensor", [lenet],
             "missing input tensor 'X' (tensor<256x1x28x28xf32>)")

save_safetensors(path("shape.safetensors"), {"X": torch.zeros(256, 28, 28)})
expect_error("wrong shape", [lenet, "--inputs", path("shape.safetensors")],
             "tensor 'X' has shape [256, 28, 28] but the model expects tensor<256x1x28x28xf32>")
save_safetensors(path("dtype.safetensors"), {"X": torch.zeros(256, 1, 28, 28, dtype=torch.float64)})
expect_error("wrong dtype", [lenet, "--inputs", path("dtype.safetensors")],
             "tensor 'X' has dtype F64 but the model expects F32")
save_safetensors(path("w.safetensors"), {"X": torch.zeros(256, 1, 28, 28), "0.weight": torch.zeros(6, 1, 3, 3)})
expect_error("wrong parameter shape", [lenet, "--inputs", path("w.safetensors")],
             "tensor '0.weight' has shape [6, 1, 3, 3] but the model expects tensor<6x1x5x5xf32>")

data = open(good, "rb").read()
open(path("trunc.safetensors"), "wb").write(data[:len(data) // 2])
expect_error("truncated file", [lenet, "--inputs", path("trunc.safetensors")],
             "outside the")
open(path("short.safetensors"), "wb").write(b"\x01\x02")
expect_error("file shorter than its header length", [lenet, "--inputs", path("short.safetensors")],
             "fewer than the 8-byte header length")
open(path("huge.safetensors"), "wb").write(struct.pack("<Q", 1 << 40) + b"{}")
expect_error("header length beyond the file", [lenet, "--inputs", path("huge.safetensors")],
             "exceeds the file")
hdr = b"{not json"
open(path("json.safetensors"), "wb").write(struct.pack("<Q", len(hdr)) + hdr)
expect_error("malformed JSON header", [lenet, "--inputs", path("json.safetensors")],
             "the header is not a JSON object")
hdr = b'{"X":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'
open(path("size.safetensors"), "wb").write(struct.pack("<Q", len(hdr)) + hdr + b"\0" * 4)
expect_error("data size disagrees with shape", [lenet, "--inputs", path("size.safetensors")],
             "tensor 'X' has 4 data bytes but its dtype and shape need 8")
hdr = b'{"X":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}'
open(path("dt.safetensors"), "wb").write(struct.pack("<Q", len(hdr)) + hdr + b"\0")
expect_error("unknown dtype", [lenet, "--inputs", path("dt.safetensors")],
             "tensor 'X' has unsupported dtype 'Q8'")
hdr = b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}'
open(path("overlap.safetensors"), "wb").write(struct.pack("<Q", len(hdr)) + hdr + b"\0" * 3)
expect_error("overlapping tensors", [lenet, "--inputs", path("overlap.safetensors")],
             "two tensors overlap")

open(path("bad.mlir"), "w").write("func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                                  "  %0 = d2l.relu %x : tensor<5xf32>\n  return %0 : tensor<4xf32>\n}\n")
expect_error("model that does not verify", [path("bad.mlir")], "bad.mlir:2:")

# An unwritable output is an error, and an existing output is never left
# half-written: writes go to a temporary file that is renamed into place.
expect_error("unwritable output", [lenet, "--inputs", good, "-o", "/nonexistent/dir/out.safetensors"],
             "/nonexistent/dir/out.safetensors")
c.finish()
