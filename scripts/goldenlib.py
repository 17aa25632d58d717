"""Shared machinery of the golden generators (scripts/goldens*.py): seeded float32-representable inputs, the four
case kinds of the golden schema computed by PyTorch in float64, and a byte-stable, atomic JSON writer.

A generator builds a `Golden`, adds cases and calls `main`:

    import sys
    sys.dont_write_bytecode = True                # no scripts/__pycache__ beside the committed scripts
    from goldenlib import Golden, main
    g = Golden(seed=11)
    g.op("add_broadcast_row", "add", lambda r: [r.randn(3, 4), r.randn(4)])
    main(g, "testdata/pytorch-golden.json")      # --check compares with the committed file instead of writing

Every case draws its numbers from its own generator, seeded from (seed, case name), so adding, removing or
reordering cases leaves the other cases' numbers unchanged. Inputs are rounded to float32 and then computed in
float64; numbers are written with 9 significant digits (enough to recover every float32 input exactly).
The schema is documented in testdata/README.md.
"""
import json
import math
import os
import sys
import tempfile
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)  # one summation order, so the file is byte-stable
torch.use_deterministic_algorithms(True)

DIGITS = 9


def f32(t):
    """`t` rounded to the nearest float32 values, as a float64 tensor."""
    return t.to(torch.float32).to(torch.float64)


class Rand:
    """Seeded float32-representable float64 inputs for one case."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def randn(self, *shape, scale=1.0, mean=0.0):
        return f32(torch.randn(shape, generator=self.g, dtype=torch.float64) * scale + mean)

    def uniform(self, *shape, low=0.0, high=1.0):
        return f32(torch.rand(shape, generator=self.g, dtype=torch.float64) * (high - low) + low)

    def away(self, *shape, margin=0.2):
        """Normal values pushed at least `margin` away from 0 (for relu, abs: no kink nearby)."""
        x = torch.randn(shape, generator=self.g, dtype=torch.float64)
        return f32(torch.sign(x) * (x.abs() + margin) + (x == 0) * margin)

    def distinct(self, *shape, gap=0.37, noise=0.05):
        """Values that differ pairwise by at least gap − 2·noise (no ties for max)."""
        n = math.prod(shape)
        perm = torch.randperm(n, generator=self.g).to(torch.float64)
        jitter = (torch.rand(n, generator=self.g, dtype=torch.float64) - 0.5) * 2 * noise
        return f32(((perm - n / 2) * gap + jitter).reshape(shape))

    def labels(self, n, classes):
        """`n` class indices (as float64): min(n, classes) distinct classes, the rest drawn at random, shuffled."""
        first = torch.randperm(classes, generator=self.g)[:n]
        rest = torch.randint(classes, (n - len(first),), generator=self.g)
        both = torch.cat([first, rest])
        return both[torch.randperm(n, generator=self.g)].to(torch.float64)

    def probs(self, *shape, dim=1, temperature=1.0):
        """Rows of class probabilities along `dim` (float32-rounded, so they sum to 1 within float32)."""
        return f32(torch.softmax(torch.randn(shape, generator=self.g, dtype=torch.float64) * temperature, dim))

    def perm(self, n):
        return torch.randperm(n, generator=self.g)


def _fmt(x):
    v = float(f"{x:.{DIGITS}g}")
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {x} cannot go into the golden file")
    return v + 0.0 if v == 0 else v  # no "-0.0": JavaScript's JSON.stringify would differ


def enc(t):
    """A tensor as `{shape, data}` (row-major; `shape: []` is a scalar)."""
    t = t.detach().to(torch.float64)
    return {"shape": list(t.shape), "data": [_fmt(v) for v in t.reshape(-1).tolist()]}


def num(x):
    return _fmt(float(x))


def _sum(a, dim=None, keepdim=False):
    if dim is None and not keepdim:
        return a.sum()
    return a.sum(tuple(range(a.dim())) if dim is None else dim, keepdim=keepdim)


def _mean(a, dim=None, keepdim=False):
    if dim is None and not keepdim:
        return a.mean()
    return a.mean(tuple(range(a.dim())) if dim is None else dim, keepdim=keepdim)


def _max(a, dim=None, keepdim=False):
    # An int dim: torch.max(a, dim).values (the gradient goes to the returned index); no dim or a list: amax, whose
    # gradient is shared evenly between ties, as torch.max(a).
    if isinstance(dim, int):
        return torch.max(a, dim, keepdim=keepdim).values
    if dim is None and not keepdim:
        return a.max()
    return torch.amax(a, tuple(range(a.dim())) if dim is None else dim, keepdim=keepdim)


def _linear(x, w, b=None):
    return F.linear(x, w, b)


# The golden ops as tsgrad's golden test dispatches them (the first argument is the receiver).
OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "neg": lambda a: -a,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "gelu": torch.nn.functional.gelu,
    "matmul": torch.matmul,
    "sum": _sum,
    "mean": _mean,
    "max": _max,
    "logsumexp": lambda a, dim, keepdim=False: torch.logsumexp(a, dim, keepdim=keepdim),
    "softmax": lambda a, dim: torch.softmax(a, dim),
    "logSoftmax": lambda a, dim: torch.log_softmax(a, dim),
    "reshape": lambda a, shape: a.reshape(shape),
    "view": lambda a, shape: a.view(shape),
    "transpose": lambda a, dim0, dim1: a.transpose(dim0, dim1),
    "t": lambda a: a.t(),
    "permute": lambda a, dims: a.permute(dims),
    "flatten": lambda a, startDim=0, endDim=-1: a.flatten(startDim, endDim),
    "squeeze": lambda a, dim=None: a.squeeze() if dim is None else a.squeeze(dim),
    "unsqueeze": lambda a, dim: a.unsqueeze(dim),
    "clone": lambda a: a.clone(),
    "linear": _linear,
    "chainTransposeMatmul": lambda a, b: a.transpose(0, 1).matmul(b),
    "chainReuse": lambda a: (a * a).exp().mul(a).sum(1),
}

OPTIMIZERS = {"Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW, "SGD": torch.optim.SGD}
_TORCH_OPTION = {
    "lr": "lr", "betas": "betas", "eps": "eps", "weightDecay": "weight_decay", "amsgrad": "amsgrad",
    "maximize": "maximize", "momentum": "momentum", "dampening": "dampening", "nesterov": "nesterov",
}


class Golden:
    """The cases of one golden file, in the order they are added."""

    def __init__(self, seed):
        self.seed = seed
        self.cases = []
        self._names = set()

    def rand(self, name):
        return Rand(zlib.crc32(f"{self.seed}:{name}".encode()))

    def _add(self, case):
        if case["name"] in self._names:
            raise ValueError(f"duplicate case name {case['name']!r}")
        self._names.add(case["name"])
        self.cases.append(case)

    def op(self, name, op, make_args, kwargs=None):
        """`make_args(r)` gives the arguments (float64 tensors, which become leaves, or plain numbers)."""
        r = self.rand(name)
        kwargs = kwargs or {}
        args = [a.clone().requires_grad_(True) if torch.is_tensor(a) else a for a in make_args(r)]
        out = OPS[op](*args, **kwargs)
        upstream = r.randn(*out.shape)
        (out * upstream).sum().backward()
        if any(torch.is_tensor(a) and a.grad is None for a in args):
            raise ValueError(f"{name}: an argument received no gradient")
        grads = [enc(a.grad) if torch.is_tensor(a) else None for a in args]
        self._add({
            "name": name, "kind": "op", "op": op,
            "args": [enc(a) if torch.is_tensor(a) else a for a in args], "kwargs": kwargs,
            "upstream": enc(upstream), "output": enc(out), "grads": grads,
        })

    def cross_entropy(self, name, make, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        """`make(r)` gives (input, target); a float target of the input's shape holds class probabilities.
        `weight` is a tensor, or a callable of r giving one."""
        r = self.rand(name)
        x, target = make(r)
        if callable(weight):
            weight = weight(r)
        probs = target.shape == x.shape and x.dim() > 0 and target.dim() == x.dim()
        x = x.clone().requires_grad_(True)
        torch_target = target if probs else target.to(torch.int64)
        out = F.cross_entropy(x, torch_target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=label_smoothing)
        upstream = r.randn(*out.shape)
        (out * upstream).sum().backward()
        self._add({
            "name": name, "kind": "cross_entropy", "input": enc(x), "target": enc(target),
            "targetIsProbabilities": probs,
            "options": {"weight": None if weight is None else enc(weight), "ignoreIndex": ignore_index,
                        "reduction": reduction, "labelSmoothing": label_smoothing},
            "upstream": enc(upstream), "output": enc(out), "gradInput": enc(x.grad),
        })

    def optimizer(self, name, optimizer, options, shapes=((3, 4), (4,)), steps=20):
        """Random initial parameters and per-step gradients (their scale varies from step to step)."""
        r = self.rand(name)
        params = [r.randn(*s).requires_grad_(True) for s in shapes]
        initial = [enc(p) for p in params]
        opt = OPTIMIZERS[optimizer](params, **{_TORCH_OPTION[k]: v for k, v in options.items()})
        grads, trajectory = [], []
        for _ in range(steps):
            scale = float(f32(torch.exp(torch.randn((), generator=r.g, dtype=torch.float64))))
            step = [r.randn(*s, scale=scale) for s in shapes]
            for p, gr in zip(params, step):
                p.grad = gr.clone()
            opt.step()
            grads.append([enc(gr) for gr in step])
            trajectory.append([enc(p) for p in params])
        self._add({
            "name": name, "kind": "optimizer", "optimizer": optimizer, "options": options,
            "initial": initial, "grads": grads, "trajectory": trajectory,
        })

    def mlp_adam(self, name, sizes, lr, batch, steps):
        """Linear/ReLU/.../Linear with PyTorch's default init (rounded to float32), trained with Adam(lr)."""
        r = self.rand(name)
        torch.manual_seed(zlib.crc32(f"{self.seed}:{name}:init".encode()))
        layers = []
        for i in range(len(sizes) - 1):
            if i > 0:
                layers.append(torch.nn.ReLU())
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        model = torch.nn.Sequential(*layers).to(torch.float64)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(f32(p))
        state = {k: enc(v) for k, v in model.state_dict().items()}
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        inputs, targets, losses = [], [], []
        for _ in range(steps):
            x = r.randn(batch, sizes[0])
            y = r.labels(batch, sizes[-1])
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y.to(torch.int64))
            loss.backward()
            opt.step()
            inputs.append(enc(x))
            targets.append(enc(y))
            losses.append(num(loss))
        self._add({
            "name": name, "kind": "mlp_adam", "sizes": list(sizes), "lr": lr, "stateDict": state,
            "inputs": inputs, "targets": targets, "losses": losses,
            "finalStateDict": {k: enc(v) for k, v in model.state_dict().items()},
        })


def render(golden, generator):
    """The file's bytes: one case per line, so that a regenerated file diffs case by case."""
    head = json.dumps({"generator": generator, "seed": golden.seed}, allow_nan=False)[:-1]
    lines = [json.dumps(c, allow_nan=False) for c in golden.cases]
    return (head + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n").encode()


def main(golden, relative_path, argv=None):
    """Writes `relative_path` (from the repository root) atomically, or with --check compares it and exits 1 if the
    committed file differs."""
    argv = sys.argv[1:] if argv is None else argv
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, relative_path)
    caller = os.path.relpath(os.path.abspath(sys.argv[0]), root)
    data = render(golden, f"{caller}, PyTorch {torch.__version__}, float64 reference on float32 inputs")
    kinds = {}
    for c in golden.cases:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
    if "--check" in argv:
        with open(path, "rb") as f:
            same = f.read() == data
        print(f"{relative_path}: {'up to date' if same else 'DIFFERS from what the script writes'} ({summary})")
        sys.exit(0 if same else 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"wrote {relative_path}: {len(golden.cases)} cases ({summary}), {len(data):,} bytes")
