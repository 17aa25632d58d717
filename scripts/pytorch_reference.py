"""The reference run in PyTorch, to compare mnist-train with: Linear(784,128) -> ReLU -> Linear(128,10),
CrossEntropyLoss, Adam(lr=1e-3), batch 64, shuffled, pixels/255 (torchvision's ToTensor), on IDX files.

Usage (Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/pytorch_reference.py /usr/share/datasets/fashion-mnist --epochs 10 --seed 1
Prints one line per epoch: epoch, mean training loss, test loss, test accuracy, seconds. With --metrics PATH it also
writes one JSON record per epoch, with the fields of mnist-train's --metrics (trainLoss, testLoss, testAccuracy as a
fraction, seconds), for scripts/seed_study.py.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from torch import nn


def read_idx(folder, name):
    path = os.path.join(folder, name)
    opener = open
    if not os.path.exists(path):
        path, opener = path + ".gz", gzip.open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--metrics", help="JSON lines, one record per epoch (as mnist-train --metrics)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    x_train = torch.tensor(read_idx(args.folder, "train-images-idx3-ubyte").reshape(-1, 784), dtype=torch.float32) / 255
    y_train = torch.tensor(read_idx(args.folder, "train-labels-idx1-ubyte"), dtype=torch.int64)
    x_test = torch.tensor(read_idx(args.folder, "t10k-images-idx3-ubyte").reshape(-1, 784), dtype=torch.float32) / 255
    y_test = torch.tensor(read_idx(args.folder, "t10k-labels-idx1-ubyte"), dtype=torch.int64)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    records = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            seen += len(y)
        model.eval()
        with torch.no_grad():
            logits = model(x_test)
            test_loss = loss_fn(logits, y_test).item()
            acc = (logits.argmax(1) == y_test).sum().item() / len(y_test)
        seconds = time.perf_counter() - t0
        print(f"epoch {epoch} train loss {total / seen:.4f} test loss {test_loss:.4f} test accuracy {acc * 100:.2f}% "
              f"{seconds:.1f} s", flush=True)
        if args.metrics:
            records.append({"epoch": epoch, "trainLoss": total / seen, "testLoss": test_loss, "testAccuracy": acc,
                            "seconds": seconds})
            tmp = args.metrics + ".tmp"
            with open(tmp, "w") as f:
                f.write("".join(json.dumps(r) + "\n" for r in records))
            os.replace(tmp, args.metrics)


if __name__ == "__main__":
    main()
