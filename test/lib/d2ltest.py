"""Helpers of the d2lc numerical tests: safetensors I/O, running the d2lc
tools, and comparing against PyTorch (the independent truth).

Run with /usr/bin/python3 (Debian's python3-torch). Relative error is
max|ours - ref| / max(max|ref|, tiny): the error measured against the scale of
the reference, which does not blow up on elements that are close to zero.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

_DTYPES = {
    "F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
    "U8": np.uint8, "F16": np.float16,
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def save_safetensors(path, tensors):
    """Writes a dict of name -> torch.Tensor / np.ndarray as .safetensors."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.array(a, order="C", copy=True)  # (ascontiguousarray makes 0-d arrays 1-d)
        raw = a.tobytes()
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Reads a .safetensors file into a dict of name -> torch.Tensor."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        a = np.frombuffer(data[8 + n + b:8 + n + end], dtype=_DTYPES[e["dtype"]])
        out[name] = torch.from_numpy(a.reshape(e["shape"]).copy())
    return out


def tool(name):
    """The path of a d2lc tool (lit puts the build's bin/ on PATH)."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    raise SystemExit(f"{name} not found on PATH")


def run_tool(args, expect_ok=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if expect_ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r


def run_compiled(cu, entry, feed):
    """Runs `entry` of a compiled model.cu with d2lc-run on the host backend
    with the named tensors of `feed`; returns the named results."""
    d = tempfile.mkdtemp()
    inp, out = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
    save_safetensors(inp, feed)
    run_tool([tool("d2lc-run"), cu, "--backend", "host", "--entry", entry, "--inputs", inp,
              "-o", out])
    return load_safetensors(out)


def evaluate(model, inputs, entry="forward", f64=False, seed=0, extra=()):
    """Runs `entry` of `model` (a path, or MLIR text) with the reference
    evaluator on the named `inputs`; returns the named results."""
    with tempfile.TemporaryDirectory() as tmp:
        if "\n" in model or model.lstrip().startswith(("func.func", "module")):
            path = os.path.join(tmp, "model.mlir")
            with open(path, "w") as f:
                f.write(model)
        else:
            path = model
        inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
        save_safetensors(inp, inputs)
        args = [tool("d2lc-run"), "--backend=eval", path, "--entry", entry,
                "--inputs", inp, "-o", out, "--seed", str(seed)]
        if f64:
            args.append("--f64")
        run_tool(args + list(extra))
        return load_safetensors(out)


def rel_err(ours, ref):
    ours = torch.as_tensor(ours).double()
    ref = torch.as_tensor(ref).double()
    if ours.shape != ref.shape:
        return float("inf")
    scale = max(ref.abs().max().item() if ref.numel() else 0.0, 1e-30)
    return (ours - ref).abs().max().item() / scale if ref.numel() else 0.0


class Checker:
    """Collects comparisons, prints one line each, exits non-zero on failure."""

    def __init__(self):
        self.failures = 0
        self.count = 0

    def close(self, what, ours, ref, tol):
        self.count += 1
        err = rel_err(ours, ref)
        ok = err <= tol
        shape = tuple(torch.as_tensor(ref).shape)
        print(f"{'ok  ' if ok else 'FAIL'} {what}: rel err {err:.2e} (tol {tol:.0e}) shape {shape}"
              + ("" if torch.as_tensor(ours).shape == torch.as_tensor(ref).shape
                 else f" ours {tuple(torch.as_tensor(ours).shape)}"))
        if not ok:
            self.failures += 1
        return ok

    def true(self, what, cond, detail=""):
        self.count += 1
        print(f"{'ok  ' if cond else 'FAIL'} {what}{': ' + detail if detail else ''}")
        if not cond:
            self.failures += 1
        return cond

    def finish(self):
        print(f"{self.count - self.failures} of {self.count} checks passed")
        sys.exit(1 if self.failures else 0)


def mlir_type(t):
    """MLIR tensor type of a torch tensor."""
    et = {torch.float32: "f32", torch.float64: "f64", torch.int64: "i64",
          torch.int32: "i32"}[t.dtype]
    return "tensor<" + "".join(f"{d}x" for d in t.shape) + et + ">"


UNARY_OPS = {"relu", "sigmoid", "tanh", "exp", "log", "sqrt", "neg", "abs", "sign"}
# Ops printed with one type (SameOperandsAndResultType with two operands).
SAME_TYPE_BINARY_OPS = {"relu_backward", "sigmoid_backward", "tanh_backward"}


def single_op(op, operands, results, attrs="", result_names=None):
    """A function `@f` applying one op (`d2l.<op>`) to named inputs.

    operands: list of (name, tensor); results: list of reference tensors (for
    the result types); attrs: the attribute dictionary text, without braces.
    """
    args = ", ".join(f"%{n}: {mlir_type(t)} {{d2l.input = \"{n}\"}}" for n, t in operands)
    names = result_names or [f"r{i}" for i in range(len(results))]
    rtypes = ", ".join(f"{mlir_type(t)} {{d2l.output = \"{n}\"}}" for n, t in zip(names, results))
    vals = ", ".join(f"%{n}" for n, _ in operands)
    lhs = ", ".join(f"%o{i}" for i in range(len(results)))
    ftype = f"({', '.join(mlir_type(t) for _, t in operands)}) -> " + (
        mlir_type(results[0]) if len(results) == 1 else
        "(" + ", ".join(mlir_type(t) for t in results) + ")")
    attr = f" {{{attrs}}}" if attrs else ""
    if op in UNARY_OPS or op in SAME_TYPE_BINARY_OPS:
        ftype = mlir_type(operands[0][1])
    ret_types = ", ".join(mlir_type(t) for t in results)
    return (f"func.func @f({args}) -> ({rtypes}) {{\n"
            f"  {lhs} = d2l.{op} {vals}{attr} : {ftype}\n"
            f"  return {lhs} : {ret_types}\n}}\n")


def check_op(checker, what, op, operands, refs, attrs="", tol=1e-5, f64=False):
    """Evaluates one op on `operands` and compares every result with `refs`."""
    refs = refs if isinstance(refs, (list, tuple)) else [refs]
    text = single_op(op, operands, refs, attrs)
    out = evaluate(text, dict(operands), entry="f", f64=f64)
    for i, ref in enumerate(refs):
        checker.close(f"{what} result {i}" if len(refs) > 1 else what, out[f"r{i}"], ref, tol)
    return out


def philox4x32(ctr, key):
    """Philox4x32-10 on numpy arrays of counters (4 x uint32 arrays) and a key
    (2 ints): an independent implementation of runtime/include/d2lrt/Philox.h."""
    m32 = np.uint64(0xFFFFFFFF)
    c = [np.asarray(x, dtype=np.uint64) & m32 for x in ctr]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(0x9E3779B9)) & m32
            k1 = (k1 + np.uint64(0xBB67AE85)) & m32
        p0 = np.uint64(0xD2511F53) * c[0]
        p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ k0) & m32, p1 & m32,
             ((p0 >> np.uint64(32)) ^ c[3] ^ k1) & m32, p0 & m32]
    return c


def dropout_keep(shape, seed, p, salt):
    """The keep-mask d2l.dropout draws for a tensor of `shape`."""
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n, dtype=np.uint64)
    r = philox4x32([i & np.uint64(0xFFFFFFFF), i >> np.uint64(32),
                    np.full(n, salt, dtype=np.uint64), np.zeros(n, dtype=np.uint64)],
                   (seed & 0xFFFFFFFF, seed >> 32))
    u = (r[0] >> np.uint64(8)).astype(np.float64) / 16777216.0
    return torch.from_numpy((u >= p).reshape(shape))
