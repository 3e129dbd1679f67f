# RUN: %python %s
# Unary and broadcasting binary ops against PyTorch (f32, rel 1e-5), and
# dropout against an independent Python implementation of Philox4x32-10
# (checked first against the Random123 known-answer vectors).
import torch
from d2ltest import Checker, check_op, evaluate, single_op

torch.manual_seed(4)
c = Checker()

x = torch.randn(4, 5, 6) * 3
pos = torch.rand(4, 5, 6) * 5 + 0.01
for op, fn, arg in [("relu", torch.relu, x), ("sigmoid", torch.sigmoid, x),
                    ("tanh", torch.tanh, x), ("exp", torch.exp, x),
                    ("log", torch.log, pos), ("sqrt", torch.sqrt, pos), ("neg", torch.neg, x)]:
    for shape in [(4, 5, 6), (7,), ()]:
        a = arg.flatten()[:max(1, torch.Size(shape).numel())].reshape(shape).clone()
        check_op(c, f"{op} {list(shape)}", op, [("x", a)], fn(a))

# sigmoid stays accurate far out in both tails
big = torch.tensor([-100.0, -30.0, 30.0, 100.0])
check_op(c, "sigmoid tails", "sigmoid", [("x", big)], torch.sigmoid(big))

shapes = [((4, 3), (4, 3)), ((4, 3), (3,)), ((2, 1, 5), (3, 1)), ((), (2, 3)), ((1, 6, 1, 1), (2, 6, 3, 3))]
for op, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div)]:
    for sa, sb in shapes:
        a, b = torch.randn(sa), torch.randn(sb)
        if op == "div":
            b = b.sign() * (b.abs() + 0.5)
        check_op(c, f"{op} {list(sa)} {list(sb)}", op, [("a", a), ("b", b)], fn(a, b))


# --- Philox4x32-10 in Python, and its known-answer vectors (Random123 kat_vectors).
M = 0xFFFFFFFF


def philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & M, (k1 + 0xBB67AE85) & M
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M, p1 & M, ((p0 >> 32) ^ c3 ^ k1) & M, p0 & M
    return c0, c1, c2, c3


kats = [((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
        ((M, M, M, M), (M, M), (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
        ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
         (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]
for ctr, key, want in kats:
    c.true(f"python philox KAT {ctr[0]:#x}", philox(ctr, key) == want)


def dropout_ref(x, seed, p, salt):
    flat = x.flatten().double()
    out = torch.zeros_like(flat)
    for i in range(flat.numel()):
        r = philox((i & M, i >> 32, salt, 0), (seed & M, seed >> 32))
        if (r[0] >> 8) / 16777216.0 >= p:
            out[i] = flat[i] / (1 - p)
    return out.reshape(x.shape).to(x.dtype)


seed = torch.tensor(123456789012345, dtype=torch.int64)
for p, salt, shape in [(0.5, 0, (16, 32)), (0.2, 1, (3, 4, 5)), (0.9, 7, (200,))]:
    x = torch.randn(*shape)
    attrs = f"p = {p} : f64, salt = {salt}"
    check_op(c, f"dropout p={p} salt={salt}", "dropout", [("x", x), ("seed", seed)],
             dropout_ref(x, int(seed), p, salt), attrs)

# Statistics of a large mask: the kept fraction is 1 - p within 5 sigma, and
# the mean is preserved in expectation.
n, p = 200000, 0.3
x = torch.ones(n)
out = evaluate(single_op("dropout", [("x", x), ("seed", seed)], [x], f"p = {p} : f64"),
               {"x": x, "seed": seed}, entry="f")["r0"]
kept = (out != 0).double().mean().item()
sigma = (p * (1 - p) / n) ** 0.5
c.true("dropout keeps 1-p of the elements", abs(kept - (1 - p)) < 5 * sigma,
       f"kept {kept:.4f}, expected {1 - p:.4f} +- {5 * sigma:.4f}")
c.true("dropout scales kept elements by 1/(1-p)",
       torch.allclose(out[out != 0], torch.full_like(out[out != 0], 1 / (1 - p))))
# Inference form: identity.
check_op(c, "dropout without seed is the identity", "dropout", [("x", x[:100])], x[:100], "p = 0.5 : f64")
c.finish()
