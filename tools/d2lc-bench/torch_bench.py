#!/usr/bin/python3
"""The PyTorch side of d2lc-bench: times the same work in PyTorch and prints
one line "median_seconds <s>" (and "compiled_median_seconds <s>" when
torch.compile is measured).

  torch_bench.py matmul M K N DEVICE REPEATS
  torch_bench.py step MODEL BATCH DEVICE REPEATS LR [--compile]
  torch_bench.py saved MODEL BATCH
"""

import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "lib"))


def timed(fn, device, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    # As many threads as the host backend's workers (one per core); Debian's
    # torch otherwise starts with one here.
    torch.set_num_threads(os.cpu_count() or 1)
    print("threads", torch.get_num_threads())
    kind = sys.argv[1]
    if kind == "matmul":
        m, k, n, device, repeats = (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                                    sys.argv[5], int(sys.argv[6]))
        a = torch.randn(m, k, device=device)
        b = torch.randn(k, n, device=device)
        print("median_seconds", timed(lambda: torch.matmul(a, b), device, repeats))
        return
    if kind == "step":
        from d2lmodels import CNN_MODELS, MODELS
        name, batch, device, repeats, lr = (sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                            int(sys.argv[5]), float(sys.argv[6]))
        make, shape = {**MODELS, **CNN_MODELS}[name]
        net = make().to(device).train()
        x = torch.rand((batch,) + tuple(shape[1:]), device=device)
        mse = name == "linear_regression"
        y = (torch.randn(batch, 1, device=device) if mse
             else torch.randint(0, 10, (batch,), device=device))
        opt = torch.optim.SGD(net.parameters(), lr=lr)

        def step(model):
            out = model(x)
            loss = F.mse_loss(out, y) if mse else F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        print("median_seconds", timed(lambda: step(net), device, repeats))
        if "--compile" in sys.argv and hasattr(torch, "compile"):
            compiled = torch.compile(net)
            print("compiled_median_seconds", timed(lambda: step(compiled), device, repeats))
        return
    if kind == "saved":
        # Bytes PyTorch keeps for the backward pass of one training step:
        # every tensor autograd saves, counted once per storage, without the
        # parameters and the input (d2lc counts neither as saved).
        from d2lmodels import CNN_MODELS, MODELS
        name, batch = sys.argv[2], int(sys.argv[3])
        make, shape = {**MODELS, **CNN_MODELS}[name]
        net = make().train()
        x = torch.rand((batch,) + tuple(shape[1:]))
        mse = name == "linear_regression"
        y = torch.randn(batch, 1) if mse else torch.randint(0, 10, (batch,))
        skip = {p.data_ptr() for p in net.parameters()} | {x.data_ptr()}
        seen = {}

        def storage(t):
            return t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()

        def pack(t):
            st = storage(t)
            if st.data_ptr() not in skip:
                seen[st.data_ptr()] = st.nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = net(x)
            loss = F.mse_loss(out, y) if mse else F.cross_entropy(out, y)
        print("saved_bytes", sum(seen.values()))
        return
    raise SystemExit("unknown benchmark " + kind)


if __name__ == "__main__":
    main()
