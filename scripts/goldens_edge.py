#!/usr/bin/python3
"""PyTorch reference values for the edge cases of issue 12, written to testdata/edge-golden.json.

Run with PyTorch 1.13 (Debian's python3-torch):  /usr/bin/python3 scripts/goldens_edge.py

Sections (the tests that read them are named beside each):
  reductions     softmax / log_softmax / logsumexp / cross_entropy over a grid of magnitudes and ±inf/NaN rows,
                 max / amax / argmax with NaN and ties, relu and the unary ops at NaN/±inf/±0: forward values
                 and the gradient of (output * upstream).sum()         (packages/tensor/src/edge-golden.test.ts,
                                                                         packages/nn/src/cross-entropy.test.ts)
  secondBackward which graphs take a second backward() without retain_graph, and the grads after each pass
                                                                        (packages/tensor/src/autograd.test.ts,
                                                                         packages/nn/src/steady-state.test.ts)
  tensorRepr     repr(tensor) through PyTorch's own printing code, with this API's suffixes
                 (requiresGrad=true, gradFn=<mul>, shape=[0, 3])       (packages/tensor/src/format.test.ts)
  numberFormat   Python's "{:.Nf}" / "{:.Ne}" of awkward values (ties, carries, -0, huge)  (format.test.ts)
  moduleRepr     repr(module) of the layers and containers                         (packages/nn/src/module.test.ts)

Tensors are {"shape": [...], "data": [...]} in row-major order; NaN and ±inf are the strings "NaN", "Infinity" and
"-Infinity" (JSON has no such numbers). Inputs are float32, and so is every computation (PyTorch's own arithmetic).
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import _tensor_str as ts

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "edge-golden.json")
INF = float("inf")
NAN = float("nan")


def num(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def enc(t):
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [num(v) for v in t.reshape(-1).tolist()]}


def f32(rows):
    return torch.tensor(rows, dtype=torch.float32)


def upstream_like(y, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(y.shape, generator=g, dtype=torch.float32)


# ---------------------------------------------------------------------------------------------------------------
# reductions


reductions = []


def case(name, op, x, fn, options=None, seed=1, grad=True):
    x = x.clone().requires_grad_(grad)
    y = fn(x)
    entry = {"name": name, "op": op, "options": options or {}, "input": enc(x), "output": enc(y)}
    if grad:
        u = upstream_like(y, seed)
        (y * u).sum().backward()
        entry["upstream"] = enc(u)
        entry["grad"] = enc(x.grad)
    reductions.append(entry)


def ulp32(m):
    """The spacing of float32 values at magnitude m."""
    return float(torch.tensor(m, dtype=torch.float32).abs().nextafter(torch.tensor(INF)) - torch.tensor(abs(m)))


MAGNITUDES = [1.0, 1e4, 1.6e7, 1.7e7, 1e13, 1e16, 1e30, 3e38]


def grid_rows(m):
    near = [m + k * ulp32(m) for k in (0, 1, -1, 0, 2)]  # neighbours of m: log Σ is all that separates them
    return [
        [m, m, 0.0, -m, 0.5 * m],
        [0.31 * m, -0.72 * m, 0.11 * m, 0.93 * m, -0.25 * m],
        [m, m, m, m, m],
        near,
        [-x for x in near],
    ]


SPECIAL_ROWS = {
    "+inf": [INF, 1.0, 2.0, 0.0, -1.0],
    "two +inf": [INF, INF, 1.0, 0.0, 0.0],
    "-inf entries": [-INF, 1.0, 2.0, 3.0, -INF],
    "all -inf": [-INF, -INF, -INF, -INF, -INF],
    "one finite among -inf": [-INF, -INF, -INF, -INF, 7.0],
    "NaN": [NAN, 1.0, 2.0, 3.0, 4.0],
    "+inf and -inf": [INF, -INF, 0.0, 0.0, 0.0],
    "1e16 ties and -inf": [1e16, 1e16, 0.0, -INF, 0.0],
}

SOFTMAX_OPS = {
    "softmax": lambda x, d: x.softmax(d),
    "logSoftmax": lambda x, d: x.log_softmax(d),
    "logsumexp": lambda x, d: x.logsumexp(d),
}

for m in MAGNITUDES:
    x = f32(grid_rows(m))
    for op, fn in SOFTMAX_OPS.items():
        case(f"{op} magnitude {m:g}", op, x, lambda t, fn=fn: fn(t, 1), {"dim": 1})
for label, row in SPECIAL_ROWS.items():
    for op, fn in SOFTMAX_OPS.items():
        case(f"{op} row {label}", op, f32([row]), lambda t, fn=fn: fn(t, 1), {"dim": 1})
# Lanes along a middle dim (inner stride) and along dim 0, mixing magnitudes.
mixed = f32([[[1e16, 1.0, -INF], [1e16, 2.0, 0.0], [0.0, 3.0, -INF]],
             [[-1e30, 1e4, 5.0], [1e30, 1e4 + 1, 5.0], [1e30, -1e4, 5.0]]])
for op, fn in SOFTMAX_OPS.items():
    case(f"{op} dim 1 of [2, 3, 3]", op, mixed, lambda t, fn=fn: fn(t, 1), {"dim": 1})
    case(f"{op} dim 0 of [2, 3, 3]", op, mixed, lambda t, fn=fn: fn(t, 0), {"dim": 0})
case("logsumexp dims [0, 2] of [2, 3, 3]", "logsumexp", mixed, lambda t: t.logsumexp([0, 2]), {"dim": [0, 2]})

# cross_entropy: class indices (every reduction, smoothing, weight, ignored rows) and probabilities.
for m in MAGNITUDES:
    x = f32(grid_rows(m))
    y = torch.tensor([0, 3, 2, 1, 4])
    w = f32([1.0, 2.0, 0.5, 1.5, 1.0])
    variants = {
        "mean": {},
        "sum": {"reduction": "sum"},
        "none": {"reduction": "none"},
        "labelSmoothing 0.1": {"labelSmoothing": 0.1},
        "weight": {"weight": w},
        "ignoreIndex 3": {"ignoreIndex": 3},
    }
    for label, o in variants.items():
        kw = {"reduction": o.get("reduction", "mean"), "label_smoothing": o.get("labelSmoothing", 0.0),
              "ignore_index": o.get("ignoreIndex", -100), "weight": o.get("weight")}
        opts = {k: (enc(v) if isinstance(v, torch.Tensor) else v) for k, v in o.items()}
        opts["target"] = y.tolist()
        case(f"crossEntropy {label} magnitude {m:g}", "crossEntropy", x,
             lambda t, kw=kw: F.cross_entropy(t, y, **kw), opts)
    p = f32([[0.1, 0.2, 0.3, 0.15, 0.25]] * 5)
    case(f"crossEntropy probabilities magnitude {m:g}", "crossEntropy", x,
         lambda t: F.cross_entropy(t, p), {"probabilities": enc(p)})
for label, row in SPECIAL_ROWS.items():
    for target in (1, 4):
        case(f"crossEntropy row {label} target {target}", "crossEntropy", f32([row]),
             lambda t, target=target: F.cross_entropy(t, torch.tensor([target])), {"target": [target]})

# max along a dim (gradient to the first index), amax (shared evenly; NaN poisons its slice), max() (shared evenly,
# among the NaNs when the result is NaN), argmax (first NaN, else first maximum).
MAX_ROWS = {
    "NaN first": [NAN, 1.0, 2.0],
    "two NaN": [1.0, NAN, NAN],
    "NaN and a tie": [NAN, NAN, 3.0],
    "tie first": [3.0, 3.0, 1.0],
    "tie last": [1.0, 3.0, 3.0],
    "all -inf": [-INF, -INF, -INF],
    "+inf tie": [INF, INF, 1.0],
    "-inf and ties": [2.0, -INF, 2.0],
    "all equal": [5.0, 5.0, 5.0],
}
for label, row in MAX_ROWS.items():
    x = f32([row])
    case(f"max dim 1, row {label}", "max", x, lambda t: t.max(1).values, {"dim": 1})
    case(f"amax dim [1], row {label}", "amax", x, lambda t: t.amax([1]), {"dim": [1]})
    case(f"max(), row {label}", "maxAll", x, lambda t: t.max(), {})
    case(f"argmax dim 1, row {label}", "argmax", x, lambda t: t.argmax(1).float(), {"dim": 1}, grad=False)
    case(f"argmax(), row {label}", "argmax", x, lambda t: t.argmax().float(), {}, grad=False)
table = f32(list(MAX_ROWS.values()))
case("max dim 0 of the max table", "max", table, lambda t: t.max(0).values, {"dim": 0})
case("max dim 1 keepdim of the max table", "max", table, lambda t: t.max(1, keepdim=True).values,
     {"dim": 1, "keepdim": True})
case("amax dims [0, 1] of the max table", "amax", table, lambda t: t.amax([0, 1]), {"dim": [0, 1]})
case("amax dim [0] of the max table", "amax", table, lambda t: t.amax([0]), {"dim": [0]})
case("max() of a table with ties", "maxAll", f32([[3.0, 1.0], [3.0, 2.0]]), lambda t: t.max(), {})
case("max() of a table with NaN", "maxAll", table, lambda t: t.max(), {})
case("argmax dim 0 of the max table", "argmax", table, lambda t: t.argmax(0).float(), {"dim": 0}, grad=False)
case("argmax() of the max table", "argmax", table, lambda t: t.argmax().float(), {}, grad=False)

UNARY_EDGES = f32([NAN, -INF, INF, 0.0, -0.0, 1.0, -2.0])
for op, fn in {
    "relu": torch.relu, "abs": torch.abs, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "sqrt": torch.sqrt,
    "exp": torch.exp, "log": torch.log, "neg": torch.neg, "pow2": lambda t: t ** 2,
}.items():
    case(f"{op} at NaN, ±inf, ±0", op, UNARY_EDGES, fn, {})

# ---------------------------------------------------------------------------------------------------------------
# secondBackward: y = f(x) (a scalar), y.backward() twice. "ok" says whether PyTorch's second pass ran; the grads
# are x.grad after the first pass, after the second (when ok), and what the failed second pass left in x.grad.

X0 = [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]]
C = f32([[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]])
SECOND = {
    "add scalar": lambda x: (x + 1).sum(),
    "add tensor": lambda x: (x + C).sum(),
    "add itself": lambda x: (x + x).sum(),
    "add broadcast": lambda x: (x + C[0]).sum(),
    "sub tensor": lambda x: (x - C).sum(),
    "sub from a constant": lambda x: (C - x).sum(),
    "neg": lambda x: (-x).sum(),
    "sum": lambda x: x.sum(),
    "sum dim": lambda x: x.sum(1).sum(),
    "sum dims keepdim": lambda x: x.sum([0, 1], keepdim=True).sum(),
    "mean()": lambda x: x.mean(),
    "mean(dim)": lambda x: x.mean(1).sum(),
    "reshape": lambda x: x.reshape(3, 2).sum(),
    "view": lambda x: x.view(6).sum(),
    "flatten": lambda x: x.reshape(1, 2, 3).flatten(1).sum(),
    "squeeze": lambda x: x.reshape(2, 1, 3).squeeze(1).sum(),
    "unsqueeze": lambda x: x.unsqueeze(0).sum(),
    "t": lambda x: x.t().sum(),
    "transpose": lambda x: x.transpose(0, 1).sum(),
    "permute": lambda x: x.reshape(1, 2, 3).permute(2, 0, 1).sum(),
    "clone": lambda x: x.clone().sum(),
    "chain of shape ops and sums": lambda x: (-(x.t().reshape(6) + 2).reshape(2, 3).sum(0)).mean(),
    "mul scalar": lambda x: (x * 2).sum(),
    "mul tensor": lambda x: (x * C).sum(),
    "div scalar": lambda x: (x / 2).sum(),
    "div tensor": lambda x: (x / C).sum(),
    "pow": lambda x: (x ** 2).sum(),
    "exp": lambda x: x.exp().sum(),
    "log": lambda x: x.abs().log().sum(),
    "abs": lambda x: x.abs().sum(),
    "sqrt": lambda x: (x * x).sqrt().sum(),
    "tanh": lambda x: x.tanh().sum(),
    "sigmoid": lambda x: x.sigmoid().sum(),
    "relu": lambda x: x.relu().sum(),
    "max dim": lambda x: x.max(1).values.sum(),
    "max()": lambda x: x.max(),
    "amax": lambda x: x.amax([1]).sum(),
    "logsumexp": lambda x: x.logsumexp(1).sum(),
    "softmax": lambda x: (x.softmax(1) * C).sum(),
    "logSoftmax": lambda x: x.log_softmax(1).sum(),
    "matmul": lambda x: (x @ C.t()).sum(),
    "linear of x": lambda x: F.linear(x, C[:, :3], None).sum(),
    "linear, only the bias requires grad": lambda x: F.linear(C, C, x.sum(1)).sum(),
    "crossEntropy": lambda x: F.cross_entropy(x, torch.tensor([2, 0])),
    "nllLoss": lambda x: F.nll_loss(x, torch.tensor([2, 0])),
    "mseLoss": lambda x: F.mse_loss(x, C),
    "add of exp and x": lambda x: (x.exp() + x).sum(),
    "exp of a sum": lambda x: x.sum().exp(),
    "sum of an mlp": lambda x: F.linear(F.linear(x, C, None).relu(), C.t(), None).sum(),
}
second = []
for name, fn in SECOND.items():
    x = f32(X0).requires_grad_()
    y = fn(x)
    y.backward()
    g1 = x.grad.clone()
    entry = {"name": name, "grad1": enc(g1)}
    try:
        y.backward()
        entry["ok"] = True
        entry["grad2"] = enc(x.grad)
    except RuntimeError as e:
        assert "Trying to backward through the graph a second time" in str(e), str(e)
        entry["ok"] = False
        entry["gradAfterError"] = enc(x.grad)
    second.append(entry)

# ---------------------------------------------------------------------------------------------------------------
# tensorRepr: PyTorch's printing (_tensor_str, _add_suffixes) with this API's suffix names. "toString" is the
# tensor's repr; "inspect" (console.log in Node) adds the shape. Each case lists the print options it runs under
# (camelCase; unnamed ones at PyTorch's defaults).

tensor_repr = []
DEFAULT_OPTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}


def fmt_shape(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def repr_case(name, t, grad=None, options=None):
    """grad: None, "leaf" (requiresGrad=true) or an op name (gradFn=<name>)."""
    options = options or {}
    kw = dict(DEFAULT_OPTS)
    kw.update({"precision": options.get("precision", 4), "threshold": options.get("threshold", 1000),
               "edgeitems": options.get("edgeitems", 3), "linewidth": options.get("linewidth", 80)})
    if "profile" in options:
        torch.set_printoptions(profile=options["profile"])
    else:
        torch.set_printoptions(**kw, sci_mode=options.get("sciMode"))
    t = t.detach()
    indent = len("tensor(")
    body = "[]" if t.numel() == 0 else ts._tensor_str(t, indent)
    if grad is None and t.numel() > 0:
        assert repr(t) == "tensor(" + body + ")", (repr(t), body)  # the same code path as PyTorch's own repr
    grad_suffix = [] if grad is None else ["requiresGrad=true" if grad == "leaf" else f"gradFn=<{grad}>"]
    empty_shape = [f"shape={fmt_shape(t.shape)}"] if t.numel() == 0 and t.dim() != 1 else []
    to_string = ts._add_suffixes("tensor(" + body, empty_shape + grad_suffix, indent, False)
    inspect = ts._add_suffixes("tensor(" + body, [f"shape={fmt_shape(t.shape)}"] + grad_suffix, indent, False)
    torch.set_printoptions(profile="default")
    tensor_repr.append({"name": name, "input": enc(t), "grad": grad, "options": options,
                        "toString": to_string, "inspect": inspect})


repr_case("scalar, whole", f32(3.0))
repr_case("scalar, fraction", f32(0.5))
repr_case("scalar, negative zero", f32(-0.0))
repr_case("scalar NaN", f32(NAN))
repr_case("scalar that requires grad", f32(2.5), "leaf")
repr_case("vector of whole numbers", f32([1.0, 2.0, 3.0]))
repr_case("matrix of fractions", f32([[1.5, 2.25], [3.0, 4.0]]))
repr_case("float32 rounding", f32([0.1, 0.2, 0.3, -1.7]))
repr_case("ties round half to even", f32([0.03125, 0.15625, 1.03125, -0.09375]))
repr_case("scientific: ratio above 1000", f32([1e-5, 1.0, 1000.0]))
repr_case("scientific: a tie", f32([1.03125, 1e-5]))
repr_case("scientific: whole numbers above 1e8", f32([1e9, 2.0]))
repr_case("scientific: whole numbers, ratio above 1000", f32([1.0, 5000.0, -3.0]))
repr_case("scientific: tiny", f32([1e-5, 2e-5]))
repr_case("scientific: huge", f32([1e30, -3e38, 1.0]))
repr_case("NaN and infinities", f32([NAN, INF, -INF, 1.5]))
repr_case("NaN and infinities, whole", f32([NAN, INF, -INF, 2.0]))
repr_case("only NaN", f32([NAN, NAN]))
repr_case("zeros, one negative", f32([0.0, 0.0, -0.0]))
repr_case("negative fractions", f32([-0.5, 0.25, -0.125]))
repr_case("wrapped vector", torch.arange(30, dtype=torch.float32) * 1.5)
repr_case("wide matrix", torch.arange(60, dtype=torch.float32).reshape(3, 20) / 7)
repr_case("3-D", torch.arange(24, dtype=torch.float32).reshape(2, 3, 4))
repr_case("4-D", torch.arange(16, dtype=torch.float32).reshape(2, 2, 2, 2) - 8)
repr_case("summarised vector", torch.arange(2000, dtype=torch.float32))
repr_case("summarised matrix", torch.arange(1200, dtype=torch.float32).reshape(40, 30) * 0.5)
repr_case("summarised 3-D", torch.arange(1100, dtype=torch.float32).reshape(11, 10, 10) / 3)
hidden = torch.arange(2000, dtype=torch.float32)
hidden[1000] = NAN
hidden[1001] = 1e-9
repr_case("summarised, the hidden middle does not change the format", hidden)
repr_case("summarised: only the long dims are cut", torch.arange(1010, dtype=torch.float32).reshape(1010, 1))
repr_case("empty vector", torch.zeros(0))
repr_case("empty matrix", torch.zeros(0, 3))
repr_case("empty matrix that requires grad", torch.zeros(2, 0), "leaf")
repr_case("leaf that requires grad", f32([[1.0, 2.0], [3.0, 4.0]]), "leaf")
repr_case("result of an op", f32([[1.0, 2.0], [3.0, 4.0]]), "mul")
repr_case("suffix on a new line", f32([-1.2345, 2.5, -3.75, 4.125, -5.5, 6.25, -7.0625, 8.5]), "leaf")
repr_case("suffix on a new line after a wrapped vector", torch.arange(13, dtype=torch.float32) * -1.25, "crossEntropy")
repr_case("precision 2", f32([1.23456, -2.5, 3.14159]), options={"precision": 2})
repr_case("precision 0", f32([1.5, 2.25]), options={"precision": 0})
repr_case("threshold 5, edgeitems 1", torch.arange(10, dtype=torch.float32), options={"threshold": 5, "edgeitems": 1})
repr_case("threshold 5, edgeitems 2, 2-D", torch.arange(36, dtype=torch.float32).reshape(6, 6),
          options={"threshold": 5, "edgeitems": 2})
repr_case("linewidth 40", torch.arange(20, dtype=torch.float32) / 4, options={"linewidth": 40})
repr_case("sciMode on", f32([1.5, 2.0]), options={"sciMode": True})
repr_case("sciMode on, whole numbers", f32([1.0, 2.0]), options={"sciMode": True})
repr_case("sciMode off", f32([1e-5, 1.0]), options={"sciMode": False})
repr_case("sciMode on, no nonzero finite value", f32([0.0, NAN]), options={"sciMode": True})
repr_case("profile short", f32([1.23456, -2.5]), options={"profile": "short"})
repr_case("profile short, summarised", torch.arange(1500, dtype=torch.float32), options={"profile": "short"})
repr_case("profile full", torch.arange(1200, dtype=torch.float32), options={"profile": "full"})

# numberFormat: Python's "{:.Nf}" and "{:.Ne}", which PyTorch's printing uses (ties to even on the exact value).
NUMBERS = [0.03125, 0.15625, 1.03125, -0.09375, 9.99995, 9.999950000000001, 0.5, 1.5, 2.5, -2.5, 0.0, -0.0, 1e21, 1e30,
           123456.789, 5e-324, 3.4028234663852886e38, 1e-5, 0.00015, 99999.99999, 999.95, 0.000125, 7.0, NAN, INF, -INF]
number_format = [{"value": num(v), "precision": p, "fixed": f"{v:.{p}f}", "exponential": f"{v:.{p}e}"}
                 for v in NUMBERS for p in (0, 1, 4, 8)]

# ---------------------------------------------------------------------------------------------------------------
# moduleRepr


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.body = nn.Sequential(nn.ReLU(), nn.Dropout(0.1))
        self.head = nn.Linear(2, 3, bias=False)


MODULES = {
    "the MNIST MLP": nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
    "nested containers": nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Dropout()),
                                       nn.Sequential(nn.Sequential(nn.Linear(64, 10))), nn.Dropout(0.25)),
    "a module with named fields": Net(),
    "empty Sequential": nn.Sequential(),
    "Linear without bias": nn.Linear(3, 4, bias=False),
    "ReLU": nn.ReLU(),
    "Dropout": nn.Dropout(),
    "Dropout p=0": nn.Dropout(0.0),
    "Dropout p=1": nn.Dropout(1.0),
    "Dropout p=1e-5": nn.Dropout(1e-5),
    "Flatten": nn.Flatten(),
    "Flatten(0, 2)": nn.Flatten(0, 2),
    "CrossEntropyLoss": nn.CrossEntropyLoss(label_smoothing=0.1),
    "NLLLoss": nn.NLLLoss(),
    "MSELoss": nn.MSELoss(reduction="sum"),
}
module_repr = [{"name": k, "repr": repr(v)} for k, v in MODULES.items()]

with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "reductions": reductions, "secondBackward": second,
               "tensorRepr": tensor_repr, "numberFormat": number_format,
               "moduleRepr": module_repr}, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"wrote {OUT}: {len(reductions)} reductions, {len(second)} second-backward cases, "
      f"{len(tensor_repr)} tensor reprs, {len(module_repr)} module reprs")
