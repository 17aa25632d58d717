"""PyTorch twin of bench/src/cnn-step.ts: one training step of pytorch/examples' MNIST CNN (batch 64, nll_loss,
Adadelta lr 1.0, dropout in training mode), median ms after warm-up, and optionally PyTorch's own per-op profile.
Prints one JSON line. Usage (Debian: apt-get install python3-torch; OpenBLAS: libopenblas0-openmp):
    /usr/bin/python3 bench/peers/torch-cnn-step.py [threads] [steps] [--profile]
"""
import json
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
profile = "--profile" in sys.argv
torch.set_num_threads(threads)
torch.manual_seed(1)
B, POOL = 64, 8


class Net(nn.Module):
    """pytorch/examples mnist/main.py's Net, as it is there."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


# The same synthetic data as cnn-step.ts: an LCG over [0, 1) pixels, normalised, and labels 0-9.
state = 12345


def nxt():
    global state
    state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
    return (state >> 8) / 16777216


xs, ys = [], []
for _ in range(POOL):
    xs.append(torch.tensor([(nxt() - 0.1307) / 0.3081 for _ in range(B * 784)], dtype=torch.float32).reshape(B, 1, 28, 28))
    ys.append(torch.tensor([int(nxt() * 10) for _ in range(B)], dtype=torch.int64))

model = Net()
opt = torch.optim.Adadelta(model.parameters(), lr=1.0)


def step(i):
    opt.zero_grad()
    loss = F.nll_loss(model(xs[i % POOL]), ys[i % POOL])
    loss.backward()
    opt.step()
    return loss.item()


for i in range(min(5, steps // 3)):
    step(i)
times = []
loss = 0.0
for i in range(steps):
    t0 = time.perf_counter()
    loss = step(i)
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
n = len(times)
result = {
    "system": f"pytorch-{torch.__version__}-{threads}t",
    "msPerStep": times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2,
    "minMsPerStep": times[0],
    "steps": steps,
    "lastLoss": loss,
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}
if profile:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(10):
            step(i)
    result["profile"] = {e.key: e.self_cpu_time_total / 10 / 1e3 for e in prof.key_averages()
                         if e.self_cpu_time_total / 10 / 1e3 >= 0.2}
print(json.dumps(result))
