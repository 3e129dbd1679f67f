# RUN: %python %s
# d2lc-data reads the real Fashion-MNIST and rejects broken IDX files.
import gzip
import os
import struct
import tempfile

from d2ltest import Checker, load_safetensors, run_tool, tool

c = Checker()
tmp = tempfile.mkdtemp()
out = os.path.join(tmp, "b.safetensors")

r = run_tool([tool("d2lc-data"), "--split", "train", "--offset", "59990", "--count", "10", "-o", out])
b = load_safetensors(out)
c.true("real batch: images in [0, 1]", b["X"].shape == (10, 1, 28, 28)
       and 0 <= b["X"].min().item() and b["X"].max().item() <= 1 and b["X"].max().item() > 0.5)
c.true("real batch: labels in [0, 10)", b["labels"].shape == (10,) and b["labels"].max().item() < 10)

r = run_tool([tool("d2lc-data"), "--offset", "9990", "--count", "20", "-o", out], expect_ok=False)
c.true("examples past the end", r.returncode == 1 and "examples [9990, 10010) are outside the test split's 10000" in r.stderr, r.stderr)


def write_idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def expect(what, files, message):
    d = tempfile.mkdtemp(dir=tmp)
    for name, (magic, dims, payload) in files.items():
        write_idx(os.path.join(d, name), magic, dims, payload)
    r = run_tool([tool("d2lc-data"), "--dir", d, "--count", "1", "-o", out], expect_ok=False)
    c.true(what, r.returncode == 1 and message in r.stderr and "Stack dump" not in r.stderr, r.stderr.strip())


good_labels = (0x801, [2], bytes([1, 2]))
expect("wrong magic", {"t10k-images-idx3-ubyte.gz": (0x0D03, [2, 28, 28], b"\0" * 1568),
                       "t10k-labels-idx1-ubyte.gz": good_labels}, "magic 0x00000d03")
expect("truncated data", {"t10k-images-idx3-ubyte.gz": (0x803, [2, 28, 28], b"\0" * 1000),
                          "t10k-labels-idx1-ubyte.gz": good_labels},
       "truncated: 1568 data bytes expected, 1000 found")
expect("trailing bytes", {"t10k-images-idx3-ubyte.gz": (0x803, [2, 28, 28], b"\0" * 1600),
                          "t10k-labels-idx1-ubyte.gz": good_labels}, "trailing bytes")
expect("wrong image size", {"t10k-images-idx3-ubyte.gz": (0x803, [2, 32, 32], b"\0" * 2048),
                            "t10k-labels-idx1-ubyte.gz": good_labels}, "expected [N, 28, 28] images")
expect("label out of range", {"t10k-images-idx3-ubyte.gz": (0x803, [2, 28, 28], b"\0" * 1568),
                              "t10k-labels-idx1-ubyte.gz": (0x801, [2], bytes([1, 12]))},
       "label 12 at 1 is not in [0, 10)")
expect("missing files", {}, "cannot open")
c.finish()
