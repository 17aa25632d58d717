"""Proves that tsgrad's checkpoints of pytorch/examples' MNIST CNN load into PyTorch as they are: bundles and runs
bench/src/cnn-checkpoint.ts (which trains the CNN two Adadelta steps in tsgrad and saves it with saveSafetensors),
loads each file into the PyTorch module with load_state_dict(strict=True) and compares PyTorch's log-probabilities on
tsgrad's input batch with tsgrad's. Two layouts: main.py's Net (conv1.weight, ...) and nn.Sequential (0.weight, ...).
The safetensors files are read by this script's own few lines (no safetensors package needed). Exits 1 on a mismatch.

Usage (from the repository root, after pnpm install; Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/cnn_checkpoint_check.py
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def sequential():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10), nn.LogSoftmax(dim=1))


def load_safetensors(path):
    """The tensors of a safetensors file (F32 only, which is what tsgrad writes), in file order."""
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    header.pop("__metadata__", None)
    base = 8 + size
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start:base + end], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "cnn-checkpoint.mjs")
        subprocess.run([os.path.join(ROOT, "node_modules", ".bin", "esbuild"), os.path.join(ROOT, "bench", "src", "cnn-checkpoint.ts"),
                        "--bundle", "--platform=node", "--format=esm", "--log-level=warning", f"--outfile={bundle}"], check=True)
        subprocess.run(["node", bundle, tmp], check=True)
        io = load_safetensors(os.path.join(tmp, "io.safetensors"))
        ok = True
        for label, module, file, key in [("main.py's Net", Net(), "net.safetensors", "netOutput"),
                                          ("nn.Sequential", sequential(), "sequential.safetensors", "sequentialOutput")]:
            state = load_safetensors(os.path.join(tmp, file))
            result = module.load_state_dict(state, strict=True)
            module.eval()
            with torch.no_grad():
                out = module(io["input"])
            diff = (out - io[key]).abs().max().item()
            keys = ", ".join(f"{k} {list(t.shape)}" for k, t in state.items())
            print(f"{label}: load_state_dict(strict=True) -> {result}; keys: {keys}")
            print(f"  max |PyTorch - tsgrad| over the log-probabilities of 4 images: {diff:.3g}")
            ok = ok and diff <= 1e-4
        print("OK: both checkpoints load with strict=True and give tsgrad's outputs" if ok else "MISMATCH")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
