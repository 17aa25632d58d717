"""Writes testdata/conv-golden.json: PyTorch reference values (float64 on float32 inputs) for tsgrad's convolution,
pooling, Adadelta/RMSprop/Adagrad and the pytorch/examples MNIST CNN trained a few steps. Deterministic: the same
script and PyTorch give the same bytes. The schema (kinds conv2d, pool2d, optimizer, cnn) is in testdata/README.md.

Usage (Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/goldens_conv.py           # rewrites testdata/conv-golden.json
    /usr/bin/python3 scripts/goldens_conv.py --check   # exits 1 if the committed file differs from what it would write
"""
import math
import sys
import warnings

sys.dont_write_bytecode = True  # no scripts/__pycache__ beside the committed scripts

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import goldenlib  # noqa: E402
from goldenlib import Golden, enc, f32, main, num  # noqa: E402

# The optimizer kind of goldenlib, extended with the optimizers of this file (options in tsgrad's camelCase).
goldenlib.OPTIMIZERS.update({"Adadelta": torch.optim.Adadelta, "RMSprop": torch.optim.RMSprop, "Adagrad": torch.optim.Adagrad})
goldenlib._TORCH_OPTION.update({
    "rho": "rho", "alpha": "alpha", "centered": "centered", "lrDecay": "lr_decay",
    "initialAccumulatorValue": "initial_accumulator_value",
})

SEED = 15
# PyTorch warns that an even kernel with padding="same" pads a copy of the input: expected, and not our concern.
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")


def torch_padding(padding):
    return tuple(padding) if isinstance(padding, list) else padding


class ConvGolden(Golden):
    """goldenlib's Golden with the kinds of this file."""

    def conv2d(self, name, x_shape, w_shape, bias=True, **options):
        """`options` are tsgrad's (stride, padding, dilation, groups); pairs are lists."""
        r = self.rand(name)
        x = r.randn(*x_shape).requires_grad_(True)
        w = r.randn(*w_shape, scale=0.5).requires_grad_(True)
        b = r.randn(w_shape[0]).requires_grad_(True) if bias else None
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
        out = F.conv2d(x, w, b, **kwargs)
        upstream = r.randn(*out.shape)
        (out * upstream).sum().backward()
        self._add({
            "name": name, "kind": "conv2d", "input": enc(x), "weight": enc(w), "bias": None if b is None else enc(b),
            "options": options, "upstream": enc(upstream), "output": enc(out),
            "gradInput": enc(x.grad), "gradWeight": enc(w.grad), "gradBias": None if b is None else enc(b.grad),
        })

    def pool2d(self, name, op, make_input, **options):
        """`op` is "maxPool2d" or "avgPool2d"; `options` are tsgrad's (kernelSize, stride, padding, ...)."""
        r = self.rand(name)
        x = make_input(r).clone().requires_grad_(True)
        o = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
        if op == "maxPool2d":
            out = F.max_pool2d(x, o["kernelSize"], o.get("stride"), o.get("padding", 0), o.get("dilation", 1),
                               ceil_mode=o.get("ceilMode", False))
        else:
            out = F.avg_pool2d(x, o["kernelSize"], o.get("stride"), o.get("padding", 0), ceil_mode=o.get("ceilMode", False),
                               count_include_pad=o.get("countIncludePad", True), divisor_override=o.get("divisorOverride"))
        upstream = r.randn(*out.shape)
        (out * upstream).sum().backward()
        self._add({
            "name": name, "kind": "pool2d", "op": op, "input": enc(x), "options": options,
            "upstream": enc(upstream), "output": enc(out), "gradInput": enc(x.grad),
        })

    def cnn(self, name, batch, steps, lr, init_seed):
        """The pytorch/examples MNIST CNN (dropout in eval mode), Adadelta(lr), from the formula's initial state."""
        r = self.rand(name)
        model = Net().to(torch.float64)
        state = model.state_dict()
        fan_in = {}
        with torch.no_grad():
            for k, (key, t) in enumerate(state.items()):
                layer = key.rsplit(".", 1)[0]
                weight = state[layer + ".weight"]
                fan_in[key] = math.prod(weight.shape[1:])
                t.copy_(formula_tensor(init_seed, k, t.shape, fan_in[key]))
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        model.eval()
        opt = torch.optim.Adadelta(model.parameters(), lr=lr)
        inputs, targets, losses, outputs, first_grads = [], [], [], [], None
        for _ in range(steps):
            x = f32((r.uniform(batch, 1, 28, 28) - 0.1307) / 0.3081)
            y = r.labels(batch, 10)
            opt.zero_grad()
            out = model(x)
            loss = F.nll_loss(out, y.to(torch.int64))
            loss.backward()
            if first_grads is None:
                first_grads = {k: enc(p.grad) for k, p in model.named_parameters() if p.numel() <= SMALL_GRAD}
            opt.step()
            inputs.append(enc(x))
            targets.append(enc(y))
            outputs.append(enc(out))
            losses.append(num(loss))
        final = {}
        for key, t in model.state_dict().items():
            final[key] = enc(t) if t.numel() <= SMALL else summary(t, initial[key])
        self._add({
            "name": name, "kind": "cnn", "lr": lr,
            "init": {"seed": init_seed, "fanIn": fan_in,
                     "head": {k: [num(v) for v in t.reshape(-1)[:8].tolist()] for k, t in initial.items()}},
            "inputs": inputs, "targets": targets, "outputs": outputs, "losses": losses,
            "firstGrads": first_grads, "finalStateDict": final,
        })


SMALL = 20000  # parameters up to this size are stored whole; larger ones as a summary
SMALL_GRAD = 2000  # first-step gradients stored for parameters up to this size
SAMPLES = 512


def summary(final, initial):
    """A large parameter after training: sums of its change (in float64) and its values at SAMPLES fixed indices."""
    delta = (final - initial).reshape(-1)
    n = final.numel()
    idx = [(i * 2311 + 7) % n for i in range(SAMPLES)]
    flat = final.reshape(-1)
    return {
        "shape": list(final.shape), "deltaSum": num(delta.sum()), "deltaAbsSum": num(delta.abs().sum()),
        "deltaSquareSum": num((delta * delta).sum()), "sampleIndices": idx, "samples": [num(flat[i]) for i in idx],
    }


def fmix32(h):
    """MurmurHash3's 32-bit finalizer (tsgrad's test computes the same with Math.imul)."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def formula_tensor(seed, k, shape, fan_in):
    """Element i of parameter k (state-dict order): fround((fmix32(seed ^ (k << 24) ^ i) >> 8) / 2^23 − 1) · (1 / √fanIn)),
    a uniform draw in PyTorch's default-init range ±1/√fanIn that both sides compute bit for bit."""
    n = math.prod(shape)
    bound = 1.0 / math.sqrt(fan_in)
    vals = [((fmix32((seed ^ (k << 24) ^ i) & 0xFFFFFFFF) >> 8) / 8388608.0 - 1.0) * bound for i in range(n)]
    return f32(torch.tensor(vals, dtype=torch.float64)).reshape(shape)


class Net(torch.nn.Module):
    """pytorch/examples mnist/main.py's Net, as it is there."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3, 1)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = torch.nn.Dropout(0.25)
        self.dropout2 = torch.nn.Dropout(0.5)
        self.fc1 = torch.nn.Linear(9216, 128)
        self.fc2 = torch.nn.Linear(128, 10)

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


g = ConvGolden(seed=SEED)

# ---- conv2d: im2col path (small channel counts, strides, dilation, groups, odd sizes, every padding form) ----
c = g.conv2d
c("conv_basic", (2, 3, 7, 6), (4, 3, 3, 3))
c("conv_no_bias", (2, 3, 6, 6), (5, 3, 3, 3), bias=False)
c("conv_batch1", (1, 2, 5, 7), (3, 2, 3, 3))
c("conv_unbatched", (3, 6, 5), (4, 3, 3, 3))
c("conv_stride2_odd", (2, 3, 9, 8), (5, 3, 3, 3), stride=2)
c("conv_stride_pair_padding_pair", (2, 2, 9, 10), (3, 2, 3, 2), stride=[2, 1], padding=[1, 2])
c("conv_stride3_padding", (1, 2, 11, 10), (3, 2, 4, 4), stride=3, padding=1)
c("conv_padding2", (2, 2, 5, 5), (3, 2, 3, 3), padding=2)
c("conv_same_odd", (2, 3, 7, 6), (4, 3, 3, 3), padding="same")
c("conv_same_even_kernel", (2, 2, 6, 7), (3, 2, 4, 2), padding="same")
c("conv_same_dilated", (1, 2, 9, 8), (3, 2, 3, 3), padding="same", dilation=2)
c("conv_valid", (2, 2, 6, 5), (3, 2, 2, 3), padding="valid")
c("conv_dilation2", (2, 2, 9, 9), (3, 2, 3, 3), dilation=2)
c("conv_dilation_pair_stride", (1, 2, 10, 11), (2, 2, 3, 2), dilation=[1, 3], stride=[1, 2], padding=[0, 1])
c("conv_groups2", (2, 4, 6, 6), (6, 2, 3, 3), groups=2)
c("conv_groups3_stride_padding", (1, 6, 7, 7), (3, 2, 3, 3), groups=3, stride=2, padding=1)
c("conv_depthwise", (2, 4, 7, 6), (4, 1, 3, 3), groups=4, padding=1)
c("conv_depthwise_multiplier", (2, 3, 6, 6), (6, 1, 3, 3), groups=3, bias=False)
c("conv_pointwise", (2, 5, 4, 3), (7, 5, 1, 1))
c("conv_pointwise_stride", (2, 3, 5, 5), (4, 3, 1, 1), stride=2)
c("conv_pointwise_padding", (1, 3, 3, 4), (2, 3, 1, 1), padding=1)
c("conv_kernel_fills_input", (2, 3, 4, 5), (2, 3, 4, 5))
c("conv_wide_kernel", (2, 2, 5, 9), (3, 2, 2, 5), stride=[1, 2])
c("conv_one_in_channel", (3, 1, 10, 10), (8, 1, 3, 3))
c("conv_one_by_n_output", (2, 2, 3, 8), (3, 2, 3, 3))
c("conv_large_k", (2, 16, 6, 6), (5, 16, 3, 3), stride=2, padding=1)
# ---- conv2d: Winograd path (3×3, stride 1, groups 1, >= 8 channels each side), every padding it takes ----
c("wino_basic", (2, 8, 8, 8), (8, 8, 3, 3))
c("wino_odd_output", (2, 8, 9, 7), (9, 8, 3, 3))
c("wino_padding1", (2, 9, 7, 8), (8, 9, 3, 3), padding=1)
c("wino_same", (1, 8, 5, 6), (10, 8, 3, 3), padding="same")
c("wino_padding2", (1, 8, 4, 5), (8, 8, 3, 3), padding=2)
c("wino_padding_pair", (2, 8, 6, 5), (8, 8, 3, 3), padding=[2, 0])
c("wino_no_bias_batch1", (1, 8, 6, 6), (12, 8, 3, 3), bias=False, padding=1)
c("wino_unbatched", (8, 7, 7), (8, 8, 3, 3), padding=1)
c("wino_tiny_output", (3, 8, 3, 3), (8, 8, 3, 3))
c("wino_many_images", (4, 8, 7, 7), (9, 8, 3, 3), padding=1)

# ---- pooling: max (ties, padding, dilation, ceil mode, odd sizes) and average (every divisor rule) ----
p = g.pool2d


def small_ints(*shape):
    """Values in {-1, 0, 1, 2}: many ties, for max pooling's first-maximum rule."""
    return lambda r: torch.floor(r.uniform(*shape, low=-1.0, high=3.0))


p("max_basic", "maxPool2d", lambda r: r.distinct(2, 3, 6, 6), kernelSize=2)
p("max_odd_floor", "maxPool2d", lambda r: r.distinct(2, 2, 7, 5), kernelSize=2)
p("max_stride_padding", "maxPool2d", lambda r: r.distinct(1, 3, 7, 8), kernelSize=3, stride=2, padding=1)
p("max_overlap", "maxPool2d", lambda r: r.distinct(2, 2, 6, 7), kernelSize=3, stride=1)
p("max_ceil", "maxPool2d", lambda r: r.distinct(1, 2, 5, 7), kernelSize=2, ceilMode=True)
p("max_ceil_padding", "maxPool2d", lambda r: r.distinct(1, 2, 6, 6), kernelSize=3, stride=2, padding=1, ceilMode=True)
p("max_ceil_last_window_dropped", "maxPool2d", lambda r: r.distinct(1, 1, 4, 4), kernelSize=2, stride=2, padding=1,
  ceilMode=True)
p("max_dilation", "maxPool2d", lambda r: r.distinct(2, 2, 9, 8), kernelSize=3, dilation=2, stride=1)
p("max_dilation_padding_pair", "maxPool2d", lambda r: r.distinct(1, 2, 9, 10), kernelSize=[3, 2], stride=[2, 1],
  padding=[1, 1], dilation=[2, 3])
p("max_rect", "maxPool2d", lambda r: r.distinct(2, 2, 6, 9), kernelSize=[2, 3], stride=[1, 2])
p("max_ties", "maxPool2d", small_ints(2, 3, 6, 6), kernelSize=2)
p("max_ties_overlap", "maxPool2d", small_ints(1, 2, 7, 7), kernelSize=3, stride=1, padding=1)
p("max_ties_dilation_ceil", "maxPool2d", small_ints(1, 2, 8, 7), kernelSize=2, stride=2, dilation=2, ceilMode=True)
p("max_unbatched", "maxPool2d", lambda r: r.distinct(3, 6, 5), kernelSize=2, stride=1)
p("max_batch1_cnn_shape", "maxPool2d", lambda r: r.distinct(1, 4, 24, 24), kernelSize=2)
# >= 1024 outputs: the SIMD path of 2×2 stride-2 pooling on the wasm backend (odd width: the last column is dropped).
p("max_2x2_simd", "maxPool2d", lambda r: r.distinct(2, 8, 16, 17), kernelSize=2)
p("max_2x2_simd_ties", "maxPool2d", small_ints(2, 8, 17, 16), kernelSize=2, stride=2)
p("avg_basic", "avgPool2d", lambda r: r.randn(2, 3, 6, 6), kernelSize=2)
p("avg_odd_stride", "avgPool2d", lambda r: r.randn(2, 2, 7, 9), kernelSize=3, stride=2)
p("avg_padding_include", "avgPool2d", lambda r: r.randn(1, 2, 7, 6), kernelSize=3, stride=2, padding=1)
p("avg_padding_exclude", "avgPool2d", lambda r: r.randn(1, 2, 7, 6), kernelSize=3, stride=2, padding=1,
  countIncludePad=False)
p("avg_ceil_include", "avgPool2d", lambda r: r.randn(1, 2, 5, 5), kernelSize=2, padding=1, ceilMode=True)
p("avg_ceil_exclude", "avgPool2d", lambda r: r.randn(1, 2, 6, 5), kernelSize=3, stride=2, ceilMode=True,
  countIncludePad=False)
p("avg_ceil_padding_pair", "avgPool2d", lambda r: r.randn(2, 1, 7, 8), kernelSize=[3, 4], stride=[2, 3],
  padding=[1, 2], ceilMode=True)
p("avg_divisor", "avgPool2d", lambda r: r.randn(2, 2, 6, 6), kernelSize=3, stride=1, padding=1, divisorOverride=5)
p("avg_divisor_negative_ceil", "avgPool2d", lambda r: r.randn(1, 2, 5, 7), kernelSize=2, ceilMode=True,
  divisorOverride=-3)
p("avg_rect_unbatched", "avgPool2d", lambda r: r.randn(3, 5, 8), kernelSize=[2, 3], stride=[1, 2])
p("avg_overlap_exclude", "avgPool2d", lambda r: r.randn(1, 3, 5, 5), kernelSize=3, stride=1, padding=1,
  countIncludePad=False)

# ---- optimizers: Adadelta, RMSprop, Adagrad, every option alone and combined ----
opt = g.optimizer
opt("adadelta_default", "Adadelta", {})
opt("adadelta_lr_rho_eps", "Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4})
opt("adadelta_weight_decay", "Adadelta", {"lr": 1.0, "weightDecay": 0.1})
opt("adadelta_maximize", "Adadelta", {"lr": 0.7, "maximize": True})
opt("adadelta_rho_extremes", "Adadelta", {"rho": 0.0, "eps": 1e-3})
opt("adadelta_rho_one", "Adadelta", {"rho": 1.0, "eps": 1e-3})
opt("adadelta_all_odd", "Adadelta", {"lr": 2.0, "rho": 0.95, "eps": 1e-5, "weightDecay": 0.05, "maximize": True},
    shapes=((5, 7), (3,)))
opt("rmsprop_default", "RMSprop", {})
opt("rmsprop_alpha_eps", "RMSprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6})
opt("rmsprop_weight_decay", "RMSprop", {"lr": 0.01, "weightDecay": 0.1})
opt("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9})
opt("rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True})
opt("rmsprop_centered_momentum", "RMSprop", {"lr": 0.003, "centered": True, "momentum": 0.5})
opt("rmsprop_maximize", "RMSprop", {"lr": 0.01, "maximize": True})
opt("rmsprop_all_odd", "RMSprop",
    {"lr": 0.02, "alpha": 0.95, "eps": 1e-4, "weightDecay": 0.03, "momentum": 0.7, "centered": True, "maximize": True},
    shapes=((5, 7), (3,)))
opt("adagrad_default", "Adagrad", {})
opt("adagrad_lr_decay", "Adagrad", {"lr": 0.1, "lrDecay": 0.05})
opt("adagrad_weight_decay", "Adagrad", {"lr": 0.05, "weightDecay": 0.1})
opt("adagrad_initial_accumulator", "Adagrad", {"lr": 0.05, "initialAccumulatorValue": 0.5})
opt("adagrad_eps", "Adagrad", {"lr": 0.05, "eps": 1e-3})
opt("adagrad_maximize", "Adagrad", {"lr": 0.05, "maximize": True})
opt("adagrad_all_odd", "Adagrad",
    {"lr": 0.2, "lrDecay": 0.01, "weightDecay": 0.02, "initialAccumulatorValue": 0.1, "eps": 1e-6, "maximize": True},
    shapes=((5, 7), (3,)))

# ---- the reference CNN, a few Adadelta steps end to end ----
g.cnn("cnn_adadelta", batch=4, steps=4, lr=1.0, init_seed=20240515)

if __name__ == "__main__":
    main(g, "testdata/conv-golden.json")
