"""Writes testdata/pytorch-golden.json: PyTorch reference values (float64 on float32 inputs) for tsgrad's tests of
ops, cross-entropy, the optimizers and a small training run. Deterministic: the same script and PyTorch give the
same bytes.

Usage (Debian: apt-get install python3-torch):
    /usr/bin/python3 scripts/goldens.py           # rewrites testdata/pytorch-golden.json
    /usr/bin/python3 scripts/goldens.py --check   # exits 1 if the committed file differs from what it would write
"""
import sys

sys.dont_write_bytecode = True  # no scripts/__pycache__ beside the committed scripts

import torch  # noqa: E402

from goldenlib import Golden, main  # noqa: E402

SEED = 11
g = Golden(seed=SEED)


def tensor(values):
    return torch.tensor(values, dtype=torch.float64)


# ---- ops: element-wise, with broadcasting both ways, 0-d tensors, plain numbers and odd sizes ----
op = g.op
op("add_same", "add", lambda r: [r.randn(3, 4), r.randn(3, 4)])
op("add_broadcast_row", "add", lambda r: [r.randn(3, 4), r.randn(4)])
op("add_broadcast_outer", "add", lambda r: [r.randn(3, 1), r.randn(1, 4)])
op("add_broadcast_receiver", "add", lambda r: [r.randn(4), r.randn(3, 4)])
op("add_broadcast_3d_both", "add", lambda r: [r.randn(2, 1, 3), r.randn(4, 1)])
op("add_0d_tensor", "add", lambda r: [r.randn(3, 4), r.randn()])
op("add_0d_receiver", "add", lambda r: [r.randn(), r.randn(2, 3)])
op("add_0d_0d", "add", lambda r: [r.randn(), r.randn()])
op("add_scalar", "add", lambda r: [r.randn(3, 4), 2.5])
op("add_odd", "add", lambda r: [r.randn(7, 37), r.randn(37)])
op("add_batch1", "add", lambda r: [r.randn(1, 5), r.randn(5)])
op("sub_same", "sub", lambda r: [r.randn(2, 5), r.randn(2, 5)])
op("sub_broadcast_3d", "sub", lambda r: [r.randn(2, 3, 4), r.randn(3, 1)])
op("sub_broadcast_receiver", "sub", lambda r: [r.randn(1, 4), r.randn(3, 1)])
op("sub_scalar", "sub", lambda r: [r.randn(3, 4), -0.75])
op("mul_same_odd", "mul", lambda r: [r.randn(5, 13), r.randn(5, 13)])
op("mul_broadcast", "mul", lambda r: [r.randn(2, 1, 4), r.randn(3, 1)])
op("mul_broadcast_4d", "mul", lambda r: [r.randn(2, 1, 3, 1), r.randn(1, 4, 1, 5)])
op("mul_0d_tensor", "mul", lambda r: [r.randn(4, 3), r.randn()])
op("mul_scalar", "mul", lambda r: [r.randn(3, 4), -1.5])
op("div_same", "div", lambda r: [r.randn(3, 4), r.away(3, 4, margin=0.5)])
op("div_broadcast", "div", lambda r: [r.randn(3, 4), r.away(4, margin=0.5)])
op("div_broadcast_column", "div", lambda r: [r.randn(3, 4), r.away(3, 1, margin=0.5)])
op("div_broadcast_receiver", "div", lambda r: [r.randn(4), r.away(3, 4, margin=0.5)])
op("div_scalar", "div", lambda r: [r.randn(3, 4), 0.3])
op("pow_2", "pow", lambda r: [r.randn(3, 4), 2])
op("pow_3", "pow", lambda r: [r.randn(3, 4), 3])
op("pow_1", "pow", lambda r: [r.randn(2, 3), 1])
op("pow_0", "pow", lambda r: [r.away(2, 3), 0])
op("pow_half", "pow", lambda r: [r.uniform(3, 4, low=0.2, high=3.0), 0.5])
op("pow_negative", "pow", lambda r: [r.uniform(3, 4, low=0.3, high=2.5), -1.5])
op("pow_tensor", "pow", lambda r: [r.uniform(3, 4, low=0.2, high=2.5), r.randn(3, 4)])
op("pow_tensor_broadcast", "pow", lambda r: [r.uniform(3, 4, low=0.2, high=2.5), r.randn(4)])
op("neg", "neg", lambda r: [r.randn(3, 4)])
op("exp", "exp", lambda r: [r.randn(3, 4)])
op("exp_odd", "exp", lambda r: [r.randn(5, 37)])
op("exp_0d", "exp", lambda r: [r.randn()])
op("log", "log", lambda r: [r.uniform(3, 4, low=0.05, high=5.0)])
op("log_0d", "log", lambda r: [r.uniform(low=0.5, high=2.0)])
op("sqrt", "sqrt", lambda r: [r.uniform(3, 4, low=0.05, high=5.0)])
op("abs", "abs", lambda r: [r.away(3, 4)])
op("abs_odd", "abs", lambda r: [r.away(3, 37)])
op("tanh", "tanh", lambda r: [r.randn(3, 4)])
op("tanh_extreme", "tanh", lambda r: [r.randn(3, 4, scale=12.0)])
op("sigmoid", "sigmoid", lambda r: [r.randn(3, 4)])
op("sigmoid_extreme", "sigmoid", lambda r: [r.randn(3, 4, scale=20.0)])
op("relu", "relu", lambda r: [r.away(4, 6)])
op("relu_odd", "relu", lambda r: [r.away(3, 67)])
op("gelu", "gelu", lambda r: [r.randn(3, 4, scale=2.0)])
op("gelu_tails", "gelu", lambda r: [r.randn(3, 13, scale=6.0)])
op("gelu_tanh", "gelu", lambda r: [r.randn(3, 4, scale=2.0)], {"approximate": "tanh"})
op("gelu_tanh_tails", "gelu", lambda r: [r.randn(3, 13, scale=6.0)], {"approximate": "tanh"})

# ---- matmul: torch.matmul's rules (1-D operands, broadcast batch dims), sizes with tails ----
op("matmul_2d", "matmul", lambda r: [r.randn(5, 7), r.randn(7, 3)])
op("matmul_odd", "matmul", lambda r: [r.randn(17, 45), r.randn(45, 19)])
op("matmul_k1", "matmul", lambda r: [r.randn(5, 1), r.randn(1, 4)])
op("matmul_batch1", "matmul", lambda r: [r.randn(1, 7), r.randn(7, 1)])
op("matmul_batched_shared", "matmul", lambda r: [r.randn(2, 5, 7), r.randn(7, 3)])
op("matmul_batched", "matmul", lambda r: [r.randn(2, 5, 7), r.randn(2, 7, 3)])
op("matmul_batched_left_shared", "matmul", lambda r: [r.randn(5, 7), r.randn(2, 7, 3)])
op("matmul_broadcast_batch", "matmul", lambda r: [r.randn(2, 1, 4, 3), r.randn(3, 3, 2)])
op("matmul_vector", "matmul", lambda r: [r.randn(5, 7), r.randn(7)])
op("matmul_vector_left", "matmul", lambda r: [r.randn(7), r.randn(7, 3)])
op("matmul_dot", "matmul", lambda r: [r.randn(9), r.randn(9)])
op("matmul_vector_left_batched", "matmul", lambda r: [r.randn(7), r.randn(2, 7, 3)])
op("matmul_batched_vector", "matmul", lambda r: [r.randn(2, 5, 7), r.randn(7)])
op("linear", "linear", lambda r: [r.randn(5, 6), r.randn(4, 6), r.randn(4)])
op("linear_batched", "linear", lambda r: [r.randn(2, 3, 6), r.randn(4, 6), r.randn(4)])
op("linear_vector", "linear", lambda r: [r.randn(6), r.randn(4, 6), r.randn(4)])
op("linear_batch1", "linear", lambda r: [r.randn(1, 6), r.randn(4, 6), r.randn(4)])
op("linear_odd", "linear", lambda r: [r.randn(7, 29), r.randn(13, 29), r.randn(13)])
op("linear_no_bias", "linear", lambda r: [r.randn(5, 6), r.randn(4, 6)])
op("chain_transpose_matmul", "chainTransposeMatmul", lambda r: [r.randn(4, 3), r.randn(4, 5)])
op("chain_transpose_matmul_odd", "chainTransposeMatmul", lambda r: [r.randn(9, 5), r.randn(9, 7)])
op("chain_reuse", "chainReuse", lambda r: [r.randn(3, 4)])
op("chain_reuse_odd", "chainReuse", lambda r: [r.randn(2, 7)])

# ---- reductions: all dims, one dim, dim lists, negative dims, keepdim, size-1 dims ----
op("sum_all", "sum", lambda r: [r.randn(3, 4)])
op("sum_all_keep", "sum", lambda r: [r.randn(3, 4)], {"keepdim": True})
op("sum_0d", "sum", lambda r: [r.randn()])
op("sum_dim1", "sum", lambda r: [r.randn(3, 4)], {"dim": 1})
op("sum_dim0_keep", "sum", lambda r: [r.randn(3, 4)], {"dim": 0, "keepdim": True})
op("sum_negative_dim", "sum", lambda r: [r.randn(2, 3, 4)], {"dim": -2})
op("sum_dims", "sum", lambda r: [r.randn(2, 3, 4)], {"dim": [0, 2]})
op("sum_dims_keep", "sum", lambda r: [r.randn(2, 3, 4)], {"dim": [0, 2], "keepdim": True})
op("sum_odd", "sum", lambda r: [r.randn(5, 67)], {"dim": 1})
op("sum_batch1", "sum", lambda r: [r.randn(1, 5)], {"dim": 0})
op("mean_all", "mean", lambda r: [r.randn(3, 4)])
op("mean_dim0", "mean", lambda r: [r.randn(3, 4)], {"dim": 0})
op("mean_last", "mean", lambda r: [r.randn(2, 3, 4)], {"dim": -1})
op("mean_dims_keep", "mean", lambda r: [r.randn(2, 3, 4)], {"dim": [1, 2], "keepdim": True})
op("mean_odd_keep", "mean", lambda r: [r.randn(3, 37)], {"dim": 1, "keepdim": True})
op("max_dim", "max", lambda r: [r.distinct(3, 5)], {"dim": 1})
op("max_dim_keep", "max", lambda r: [r.distinct(3, 5)], {"dim": 1, "keepdim": True})
op("max_dim0", "max", lambda r: [r.distinct(4, 3)], {"dim": 0})
op("max_middle_dim", "max", lambda r: [r.distinct(2, 4, 3)], {"dim": 1})
op("max_negative_dim_keep", "max", lambda r: [r.distinct(2, 3, 4)], {"dim": -1, "keepdim": True})
op("max_batch1", "max", lambda r: [r.distinct(1, 5)], {"dim": 0})
op("max_all", "max", lambda r: [r.distinct(3, 4)])
op("max_all_ties", "max", lambda r: [tensor([[1.5, -2.0, 3.25], [3.25, 0.5, 3.25]])])
op("max_dims", "max", lambda r: [r.distinct(2, 3, 4)], {"dim": [0, 2]})
op("max_dims_ties_keep", "max", lambda r: [tensor([[[2.0, 1.0], [0.5, 2.0]], [[-1.0, 2.0], [0.25, 0.75]]])],
   {"dim": [0, 2], "keepdim": True})
op("logsumexp", "logsumexp", lambda r: [r.randn(3, 5)], {"dim": 1})
op("logsumexp_dim0_keep", "logsumexp", lambda r: [r.randn(4, 3)], {"dim": 0, "keepdim": True})
op("logsumexp_dims", "logsumexp", lambda r: [r.randn(2, 3, 4)], {"dim": [0, 2]})
op("logsumexp_odd", "logsumexp", lambda r: [r.randn(4, 37, scale=3.0)], {"dim": -1})
op("logsumexp_extreme", "logsumexp", lambda r: [r.randn(3, 5, scale=10.0, mean=500.0)], {"dim": -1})
op("logsumexp_extreme_negative", "logsumexp", lambda r: [r.randn(3, 5, scale=30.0, mean=-1e4)], {"dim": 1})
op("softmax", "softmax", lambda r: [r.randn(3, 5)], {"dim": -1})
op("softmax_dim0", "softmax", lambda r: [r.randn(4, 3)], {"dim": 0})
op("softmax_middle_dim", "softmax", lambda r: [r.randn(2, 5, 3)], {"dim": 1})
op("softmax_batch1", "softmax", lambda r: [r.randn(1, 7)], {"dim": 1})
op("softmax_odd", "softmax", lambda r: [r.randn(3, 37, scale=2.0)], {"dim": 1})
op("softmax_extreme", "softmax", lambda r: [r.randn(3, 5, scale=5.0, mean=1000.0)], {"dim": 1})
op("log_softmax", "logSoftmax", lambda r: [r.randn(3, 5)], {"dim": 1})
op("log_softmax_dim0", "logSoftmax", lambda r: [r.randn(5, 3)], {"dim": 0})
op("log_softmax_3d", "logSoftmax", lambda r: [r.randn(2, 4, 3)], {"dim": -2})
op("log_softmax_odd", "logSoftmax", lambda r: [r.randn(2, 67, scale=2.0)], {"dim": -1})
op("log_softmax_extreme", "logSoftmax", lambda r: [r.randn(3, 5, scale=1000.0)], {"dim": 1})

# ---- shape ops: the gradient flows back through every one ----
op("reshape", "reshape", lambda r: [r.randn(3, 4)], {"shape": [2, 6]})
op("reshape_infer", "reshape", lambda r: [r.randn(2, 3, 4)], {"shape": [-1, 4]})
op("reshape_add_dims", "reshape", lambda r: [r.randn(6)], {"shape": [1, 2, 3, 1]})
op("reshape_to_0d", "reshape", lambda r: [r.randn(1, 1)], {"shape": []})
op("reshape_from_0d", "reshape", lambda r: [r.randn()], {"shape": [1]})
op("view", "view", lambda r: [r.randn(2, 6)], {"shape": [3, 4]})
op("view_infer", "view", lambda r: [r.randn(12)], {"shape": [3, -1]})
op("transpose", "transpose", lambda r: [r.randn(3, 4)], {"dim0": 0, "dim1": 1})
op("transpose_3d", "transpose", lambda r: [r.randn(2, 3, 4)], {"dim0": 1, "dim1": 2})
op("transpose_negative", "transpose", lambda r: [r.randn(2, 3, 4)], {"dim0": -1, "dim1": 0})
op("transpose_same_dim", "transpose", lambda r: [r.randn(2, 3)], {"dim0": 1, "dim1": 1})
op("t", "t", lambda r: [r.randn(3, 5)])
op("t_1d", "t", lambda r: [r.randn(4)])
op("permute", "permute", lambda r: [r.randn(2, 3, 4)], {"dims": [2, 0, 1]})
op("permute_4d", "permute", lambda r: [r.randn(2, 3, 1, 4)], {"dims": [3, 1, 0, 2]})
op("permute_negative", "permute", lambda r: [r.randn(2, 3, 4)], {"dims": [-1, 0, 1]})
op("flatten", "flatten", lambda r: [r.randn(2, 3, 4)])
op("flatten_from_1", "flatten", lambda r: [r.randn(2, 3, 4, 2)], {"startDim": 1})
op("flatten_range", "flatten", lambda r: [r.randn(2, 3, 4, 2)], {"startDim": 1, "endDim": 2})
op("flatten_negative", "flatten", lambda r: [r.randn(2, 3, 4)], {"startDim": -2, "endDim": -1})
op("flatten_0d", "flatten", lambda r: [r.randn()])
op("squeeze_all", "squeeze", lambda r: [r.randn(1, 3, 1, 4)])
op("squeeze_dim", "squeeze", lambda r: [r.randn(1, 3, 1, 4)], {"dim": 2})
op("squeeze_negative_dim", "squeeze", lambda r: [r.randn(3, 1, 4)], {"dim": -2})
op("squeeze_not_1", "squeeze", lambda r: [r.randn(3, 4)], {"dim": 1})
op("unsqueeze", "unsqueeze", lambda r: [r.randn(3, 4)], {"dim": 0})
op("unsqueeze_middle", "unsqueeze", lambda r: [r.randn(3, 4)], {"dim": 1})
op("unsqueeze_negative", "unsqueeze", lambda r: [r.randn(3, 4)], {"dim": -1})
op("unsqueeze_0d", "unsqueeze", lambda r: [r.randn()], {"dim": 0})
op("clone", "clone", lambda r: [r.randn(3, 4)])

# ---- cross-entropy: every option, alone and combined, in every reduction and input form ----
ce = g.cross_entropy


def rows(n=8, c=10, scale=2.0, mean=0.0):
    return lambda r: (r.randn(n, c, scale=scale, mean=mean), r.labels(n, c))


def with_ignored(n=8, c=10, ignore=-100, at=(1, 4)):
    def make(r):
        y = r.labels(n, c)
        for i in at:
            y[i] = ignore
        return r.randn(n, c, scale=2.0), y
    return make


def soft(n=8, c=10, temperature=1.5):
    return lambda r: (r.randn(n, c, scale=2.0), r.probs(n, c, temperature=temperature))


def weights(c=10):
    return lambda r: r.uniform(c, low=0.2, high=2.0)


for red in ("mean", "sum", "none"):
    ce(f"ce_{red}", rows(), reduction=red)
    ce(f"ce_weight_{red}", rows(), weight=weights(), reduction=red)
    ce(f"ce_ignore_default_{red}", with_ignored(), reduction=red)
    ce(f"ce_ignore_custom_{red}", with_ignored(ignore=3, at=(2, 6)), ignore_index=3, reduction=red)
    ce(f"ce_weight_ignore_{red}", with_ignored(), weight=weights(), reduction=red)
    ce(f"ce_smooth_{red}", rows(), label_smoothing=0.1, reduction=red)
    ce(f"ce_smooth_weight_{red}", rows(), weight=weights(), label_smoothing=0.2, reduction=red)
    ce(f"ce_smooth_weight_ignore_{red}", with_ignored(ignore=2, at=(0, 5)), weight=weights(), ignore_index=2,
       label_smoothing=0.25, reduction=red)
    ce(f"ce_probs_{red}", soft(), reduction=red)
    ce(f"ce_probs_weight_smooth_{red}", soft(), weight=weights(), label_smoothing=0.1, reduction=red)
    ce(f"ce_unbatched_{red}", lambda r: (r.randn(10, scale=2.0), r.labels(1, 10)[0]), reduction=red)
    ce(f"ce_kdim_{red}", lambda r: (r.randn(3, 5, 4, scale=2.0), r.labels(12, 5).reshape(3, 4)), reduction=red)
ce("ce_probs_weight", soft(), weight=weights())
ce("ce_probs_smooth_sum", soft(), label_smoothing=0.3, reduction="sum")
ce("ce_probs_unnormalized", lambda r: (r.randn(6, 5, scale=2.0), r.uniform(6, 5, low=0.0, high=1.0)))
ce("ce_probs_one_hot", lambda r: (r.randn(6, 5, scale=2.0), torch.eye(5, dtype=torch.float64)[r.perm(6) % 5]))
ce("ce_smooth_full", rows(), label_smoothing=1.0)
ce("ce_smooth_small_sum", rows(), label_smoothing=0.05, reduction="sum")
ce("ce_weight_zero_class", lambda r: (r.randn(8, 4, scale=2.0), r.labels(8, 4)),
   weight=tensor([1.5, 0.0, 0.5, 2.0]), label_smoothing=0.1)
ce("ce_ignore_all_but_one_sum", with_ignored(at=(0, 1, 2, 3, 4, 5, 6)), reduction="sum")
ce("ce_ignore_in_range_weight_none", with_ignored(ignore=0, at=(3,)), weight=weights(), ignore_index=0, reduction="none")
ce("ce_batch1", rows(n=1), weight=weights())
ce("ce_single_class", lambda r: (r.randn(4, 1), torch.zeros(4, dtype=torch.float64)), label_smoothing=0.2)
ce("ce_many_classes", rows(n=4, c=1000, scale=3.0))
ce("ce_odd_classes", rows(n=5, c=37), label_smoothing=0.15)
ce("ce_extreme_offset", rows(scale=20.0, mean=1000.0))
ce("ce_extreme_spread", rows(scale=5000.0))
ce("ce_extreme_negative", rows(scale=40.0, mean=-5000.0), label_smoothing=0.1)
ce("ce_extreme_probs", lambda r: (r.randn(4, 6, scale=3000.0), r.probs(4, 6)))
ce("ce_unbatched_weight_smooth", lambda r: (r.randn(10, scale=2.0), r.labels(1, 10)[0]), weight=weights(),
   label_smoothing=0.2)
ce("ce_unbatched_probs", lambda r: (r.randn(7, scale=2.0), r.probs(7, dim=0)))
ce("ce_unbatched_probs_weight_sum", lambda r: (r.randn(7, scale=2.0), r.probs(7, dim=0)), weight=weights(7),
   reduction="sum")
ce("ce_kdim_weight_ignore_smooth", lambda r: (r.randn(2, 5, 6, scale=2.0), r.labels(12, 5).reshape(2, 6).index_fill(
    1, torch.tensor([2]), -100)), weight=weights(5), label_smoothing=0.1)
ce("ce_kdim_ignore_sum", lambda r: (r.randn(2, 4, 3, scale=2.0), r.labels(6, 4).reshape(2, 3).index_fill(
    1, torch.tensor([0]), -100)), reduction="sum")
ce("ce_kdim_probs", lambda r: (r.randn(2, 4, 3, scale=2.0), r.probs(2, 4, 3, dim=1)))
ce("ce_kdim_probs_weight_none", lambda r: (r.randn(2, 4, 3, scale=2.0), r.probs(2, 4, 3, dim=1)), weight=weights(4),
   reduction="none")
ce("ce_kdim_2d", lambda r: (r.randn(2, 3, 2, 4, scale=2.0), r.labels(16, 3).reshape(2, 2, 4)))
ce("ce_kdim_2d_smooth_none", lambda r: (r.randn(2, 3, 2, 2, scale=2.0), r.labels(8, 3).reshape(2, 2, 2)),
   label_smoothing=0.3, reduction="none")

# ---- optimizers: every option, alone and combined ----
opt = g.optimizer
opt("adam_default", "Adam", {"lr": 0.001})
opt("adam_custom", "Adam", {"lr": 0.05, "betas": [0.8, 0.99], "eps": 1e-6, "weightDecay": 0.01})
opt("adam_amsgrad", "Adam", {"lr": 0.01, "amsgrad": True})
opt("adam_maximize", "Adam", {"lr": 0.01, "maximize": True})
opt("adam_weight_decay", "Adam", {"lr": 0.02, "weightDecay": 0.1})
opt("adam_amsgrad_maximize_weight_decay", "Adam", {"lr": 0.03, "amsgrad": True, "maximize": True, "weightDecay": 0.05})
opt("adam_beta1_zero", "Adam", {"lr": 0.01, "betas": [0.0, 0.9]})
opt("adam_eps_zero_odd", "Adam", {"lr": 0.005, "eps": 0.0}, shapes=((5, 7), (3,)))
opt("adamw_default", "AdamW", {"lr": 0.01})
opt("adamw_wd", "AdamW", {"lr": 0.01, "weightDecay": 0.1, "amsgrad": True})
opt("adamw_maximize", "AdamW", {"lr": 0.02, "maximize": True})
opt("adamw_amsgrad_maximize", "AdamW", {"lr": 0.02, "weightDecay": 0.2, "amsgrad": True, "maximize": True})
opt("adamw_no_decay", "AdamW", {"lr": 0.01, "weightDecay": 0.0, "betas": [0.85, 0.995], "eps": 1e-7})
opt("adamw_odd", "AdamW", {"lr": 0.003, "weightDecay": 0.5}, shapes=((5, 7), (3,)))
opt("sgd_plain", "SGD", {"lr": 0.1})
opt("sgd_weight_decay", "SGD", {"lr": 0.1, "weightDecay": 0.05})
opt("sgd_maximize", "SGD", {"lr": 0.05, "maximize": True})
opt("sgd_momentum", "SGD", {"lr": 0.05, "momentum": 0.9})
opt("sgd_dampening", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3})
opt("sgd_dampening_full", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 1.0})
opt("sgd_momentum_dampening_weight_decay_maximize", "SGD",
    {"lr": 0.04, "momentum": 0.7, "dampening": 0.2, "weightDecay": 0.03, "maximize": True})
opt("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weightDecay": 0.001})
opt("sgd_nesterov_maximize", "SGD", {"lr": 0.03, "momentum": 0.5, "nesterov": True, "maximize": True})
opt("sgd_momentum_odd", "SGD", {"lr": 0.02, "momentum": 0.95, "weightDecay": 0.01}, shapes=((5, 7), (3,)))

# ---- a small training run (the first one is what the README's mlp_adam row describes), then a deeper one ----
g.mlp_adam("mlp_adam", sizes=(6, 8, 3), lr=0.01, batch=4, steps=20)
g.mlp_adam("mlp_adam_deep_odd", sizes=(13, 24, 16, 5), lr=3e-3, batch=7, steps=15)

if __name__ == "__main__":
    main(g, "testdata/pytorch-golden.json")
