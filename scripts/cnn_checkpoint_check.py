"""Proves that tsgrad's checkpoints of pytorch/examples' MNIST CNN load into PyTorch as they are: bundles and runs
bench/src/cnn-checkpoint.ts (which trains the CNN two Adadelta steps in tsgrad and saves it with saveSafetensors),
loads each file into the PyTorch module with load_state_dict(strict=True) and compares PyTorch's log-probabilities on
tsgrad's input batch with tsgrad's. Two layouts: main.py's Net (conv1.weight, ...) and nn.Sequential (0.weight, ...).
Then the app's checkpoint: `mnist-train --model cnn` trains one epoch on 256 real digits (the committed fixture
testdata/mnist/embedded-holdout-*, written as an IDX folder) and saves; the file loads with strict=True into
nn.Sequential as it is and into main.py's Net with its keys renamed (0 -> conv1, 2 -> conv2, 7 -> fc1, 10 -> fc2),
and PyTorch's test loss and accuracy on the next 200 digits (main.py's Normalize) equal what mnist-train recorded.
The safetensors files are read by this script's own few lines (no safetensors package needed). Exits 1 on a mismatch.

Usage (from the repository root, after pnpm install; Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/cnn_checkpoint_check.py
"""
import gzip
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


# mnist-train's Sequential keys -> main.py's Net's: the renaming a PyTorch user applies to load a checkpoint into Net.
RENAME = {"0": "conv1", "2": "conv2", "7": "fc1", "10": "fc2"}


def to_net_keys(state):
    return {RENAME[k.split(".", 1)[0]] + "." + k.split(".", 1)[1]: v for k, v in state.items()}


def idx_bytes(array):
    """An IDX file of unsigned bytes."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def read_idx_gz(path):
    data = gzip.decompress(open(path, "rb").read())
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def check_app_checkpoint(tmp):
    """mnist-train --model cnn's own checkpoint in both PyTorch layouts, against the metrics it recorded."""
    images = read_idx_gz(os.path.join(ROOT, "testdata", "mnist", "embedded-holdout-images-idx3-ubyte.gz"))
    labels = read_idx_gz(os.path.join(ROOT, "testdata", "mnist", "embedded-holdout-labels-idx1-ubyte.gz"))
    data = os.path.join(tmp, "digits")
    os.mkdir(data)
    for name, array in [("train-images-idx3-ubyte", images[:256]), ("train-labels-idx1-ubyte", labels[:256]),
                        ("t10k-images-idx3-ubyte", images[256:456]), ("t10k-labels-idx1-ubyte", labels[256:456])]:
        with open(os.path.join(data, name), "wb") as f:
            f.write(idx_bytes(array))
    cli = os.path.join(tmp, "mnist-train.mjs")
    subprocess.run(["node", "--input-type=module", "-e",
                    f"import {{ buildCli }} from {json.dumps(os.path.join(ROOT, 'apps', 'mnist-train', 'build.mjs'))};"
                    f" await buildCli({json.dumps(cli)});"], check=True)
    ckpt, metrics = os.path.join(tmp, "app-cnn.safetensors"), os.path.join(tmp, "app-cnn.jsonl")
    subprocess.run(["node", cli, "--model", "cnn", "--epochs", "1", "--data-dir", data, "--no-download", "--threads", "1",
                    "--save", ckpt, "--metrics", metrics, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    recorded = json.loads(open(metrics).read().splitlines()[-1])
    state = load_safetensors(ckpt)
    x = torch.tensor(images[256:456], dtype=torch.float32).div(255).sub_(torch.tensor([0.1307])).div_(torch.tensor([0.3081]))
    x, y = x.unsqueeze(1), torch.tensor(labels[256:456], dtype=torch.int64)
    ok = True
    outputs = []
    for label, module, sd in [("nn.Sequential", sequential(), state), ("main.py's Net (keys renamed)", Net(), to_net_keys(state))]:
        result = module.load_state_dict(sd, strict=True)
        module.eval()
        with torch.no_grad():
            out = module(x)
        loss = F.nll_loss(out, y, reduction="sum").item() / len(y)
        acc = (out.argmax(1) == y).sum().item() / len(y)
        outputs.append(out)
        print(f"mnist-train --model cnn -> {label}: load_state_dict(strict=True) -> {result}; keys: {', '.join(sd)}")
        print(f"  on 200 digits: PyTorch test loss {loss:.6f}, accuracy {acc:.4f}; mnist-train recorded {recorded['testLoss']:.6f},"
              f" {recorded['testAccuracy']:.4f}")
        ok = ok and abs(loss - recorded["testLoss"]) <= 1e-5 * max(1.0, abs(loss)) and acc == recorded["testAccuracy"]
    ok = ok and torch.equal(outputs[0], outputs[1])
    return ok


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
        ok = check_app_checkpoint(tmp) and ok
        print("OK: every checkpoint loads with strict=True and gives tsgrad's outputs" if ok else "MISMATCH")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
