"""The reference runs in PyTorch, to compare mnist-train with, on IDX files:
--model mlp (default): Linear(784,128) -> ReLU -> Linear(128,10), CrossEntropyLoss, Adam(lr=1e-3), batch 64, shuffled,
  pixels/255 (torchvision's ToTensor), 10 epochs;
--model cnn: pytorch/examples mnist/main.py's run: its Net (Conv2d(1,32,3,1) -> ReLU -> Conv2d(32,64,3,1) -> ReLU ->
  max_pool2d(2) -> Dropout(0.25) -> flatten -> Linear(9216,128) -> ReLU -> Dropout(0.5) -> Linear(128,10) ->
  log_softmax), nll_loss, Adadelta(lr=1.0), StepLR(step_size=1, gamma=0.7) stepped after each epoch, ToTensor +
  Normalize((0.1307,), (0.3081,)), train batch 64 shuffled, test batch 1000, 14 epochs; the seed set before the
  loaders and the model are made, as main.py does.

Usage (Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/pytorch_reference.py /usr/share/datasets/fashion-mnist --epochs 10 --seed 1
    /usr/bin/python3 scripts/pytorch_reference.py /usr/share/datasets/fashion-mnist --model cnn --epochs 1 --seed 1
Prints one line per epoch: epoch, mean training loss, test loss, test accuracy, seconds. With --metrics PATH it also
writes one JSON record per epoch, with the fields of mnist-train's --metrics (trainLoss, testLoss, testAccuracy as a
fraction, seconds), for scripts/seed_study.py. The data is held as tensors (a TensorDataset), not decoded image by
image as torchvision's datasets do, so that the seconds measure training, as mnist-train's do.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = 0.1307, 0.3081


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


def images(folder, name, cnn):
    """ToTensor (bytes / 255 in float32), and for the CNN Normalize((0.1307,), (0.3081,)) as torchvision computes it."""
    raw = read_idx(folder, name)
    x = torch.tensor(raw, dtype=torch.float32).div(255)
    if not cnn:
        return x.reshape(-1, 784)
    mean, std = torch.tensor([MEAN], dtype=torch.float32), torch.tensor([STD], dtype=torch.float32)
    return x.sub_(mean).div_(std).unsqueeze(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--epochs", type=int, help="default 10 (mlp) or 14 (cnn)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--metrics", help="JSON lines, one record per epoch (as mnist-train --metrics)")
    args = parser.parse_args()
    cnn = args.model == "cnn"
    epochs = args.epochs if args.epochs is not None else (14 if cnn else 10)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    x_train = images(args.folder, "train-images-idx3-ubyte", cnn)
    y_train = torch.tensor(read_idx(args.folder, "train-labels-idx1-ubyte"), dtype=torch.int64)
    x_test = images(args.folder, "t10k-images-idx3-ubyte", cnn)
    y_test = torch.tensor(read_idx(args.folder, "t10k-labels-idx1-ubyte"), dtype=torch.int64)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    if cnn:
        test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_test, y_test), batch_size=1000)
        model = Net()
        loss_fn = F.nll_loss
        opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    else:
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        loss_fn = nn.CrossEntropyLoss()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = None
    records = []
    for epoch in range(1, epochs + 1):
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
            if cnn:  # main.py's test(): summed over batches of 1000, divided by the split's size
                test_loss, correct = 0.0, 0
                for x, y in test_loader:
                    out = model(x)
                    test_loss += F.nll_loss(out, y, reduction="sum").item()
                    correct += (out.argmax(1) == y).sum().item()
                test_loss /= len(y_test)
            else:
                logits = model(x_test)
                test_loss = loss_fn(logits, y_test).item()
                correct = (logits.argmax(1) == y_test).sum().item()
        acc = correct / len(y_test)
        if scheduler is not None:
            scheduler.step()
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
