"""One training step of the reference MLP (784→128→10, batch 64, cross-entropy, Adam 1e-3) in PyTorch, data
preloaded, on `threads` threads; prints one JSON line of results (the same fields as the other peers) and what BLAS
PyTorch runs on. The batches are the tsgrad bench's: the same LCG over [0, 1) pixels and labels 0-9.

Usage: /usr/bin/python3 bench/peers/torch_step.py THREADS [STEPS]
"""
import ctypes
import json
import resource
import statistics
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
torch.set_num_threads(threads)
torch.manual_seed(0)
B, IN, H, OUT, POOL = 64, 784, 128, 10, 16

state = 12345


def lcg():
    """The bench's LCG: s = s·1664525 + 1013904223 (int32), value (s >>> 8) / 2^24."""
    global state
    state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
    return (state >> 8) / 16777216


xs, ys = [], []
for _ in range(POOL):
    xs.append(torch.tensor([lcg() for _ in range(B * IN)], dtype=torch.float32).reshape(B, IN))
    ys.append(torch.tensor([int(lcg() * 10) for _ in range(B)], dtype=torch.int64))

model = torch.nn.Sequential(torch.nn.Linear(IN, H), torch.nn.ReLU(), torch.nn.Linear(H, OUT))
loss_fn = torch.nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def step(i):
    opt.zero_grad()
    loss = loss_fn(model(xs[i % POOL]), ys[i % POOL])
    loss.backward()
    opt.step()
    return loss.item()


def gflops(m, n, k, trans_a, trans_b):
    a = torch.rand(k, m) if trans_a else torch.rand(m, k)
    b = torch.rand(n, k) if trans_b else torch.rand(k, n)
    op_a = a.t() if trans_a else a
    op_b = b.t() if trans_b else b
    for _ in range(20):
        torch.mm(op_a, op_b)
    times = []
    for _ in range(31):
        t0 = time.perf_counter()
        for _ in range(3):
            torch.mm(op_a, op_b)
        times.append((time.perf_counter() - t0) / 3)
    return 2 * m * n * k / (statistics.median(times) * 1e9)


def blas():
    """The BLAS library PyTorch's matrix products run on (libblas.so.3, the Debian alternative), and its core."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return f"{lib.openblas_get_config().decode()} (core {lib.openblas_get_corename().decode()})"
    except OSError:
        return "not OpenBLAS (libopenblas.so.0 is not loaded: the reference BLAS is slow, see the README)"


warmup = min(100, steps // 4)
for i in range(warmup):
    step(i)
times = []
for i in range(steps):
    t0 = time.perf_counter()
    step(i)
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({
    "system": f"pytorch-{threads}t",
    "msPerStep": statistics.median(times),
    "steps": steps,
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "gcPauses": 0,
    "gcShare": 0,
    "gflops": {
        "forward": gflops(B, H, IN, False, True),  # x·W1ᵀ, W1 stored [128, 784]
        "gradInput": gflops(B, IN, H, False, False),  # dY·W1
        "gradWeight": gflops(H, IN, B, True, False),  # dW1 = dYᵀ·x
    },
    "torch": torch.__version__,
    "blas": blas(),
    "threads": torch.get_num_threads(),
}))
