"""Seed study (issue 16): the distribution over seeds of the reference run's results, tsgrad against PyTorch.

Runs the reference run (Linear(784,128) -> ReLU -> Linear(128,10), CrossEntropyLoss, Adam(lr=1e-3), batch 64,
shuffled) once per seed and system on the same IDX files: tsgrad through the built app (apps/mnist-train/dist, one
thread) and PyTorch through scripts/pytorch_reference.py (one thread). Both write --metrics JSON lines, which are read
back (nothing is scraped from the console). Then it prints, per system, the mean, median, sd and range of the test
accuracy, train loss and test loss, and tests each tsgrad build against PyTorch: Welch's t and Mann-Whitney U for the
location, Brown-Forsythe (Levene about the median) for the spread, and permutation tests of both. It also prints
PyTorch's and tsgrad's initial weight statistics side by side, the issue's 8-seed table re-examined under the null
hypothesis of one shared distribution, and (optionally) how far float32 summation order alone moves one seed's result.

Usage (Debian: apt-get install python3-torch; build the app first with
`npx -y pnpm@12.4.2 --filter @tsgrad/mnist-train build`):
    /usr/bin/python3 scripts/seed_study.py --data-dir /usr/share/datasets/fashion-mnist --seeds 1-40
    /usr/bin/python3 scripts/seed_study.py --seeds 1-100 --ten-epoch-seeds 1-5 --rounding-seeds 1-10 \\
        --tsgrad before=/tmp/mnist-train.before.mjs --tsgrad after=apps/mnist-train/dist/mnist-train.mjs
--model cnn studies pytorch/examples' MNIST CNN instead (main.py's settings in both systems; no initial-weight
statistics). Results are cached per run in --work (rerunning picks up where it stopped; --fresh starts over). numpy only (it comes
with torch); no scipy: the distribution functions are below.
"""
import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "apps", "mnist-train", "dist", "mnist-train.mjs")
PYTORCH = "pytorch"
METRICS = (("testAccuracy", "test accuracy", "%", 100.0), ("trainLoss", "train loss", "", 1.0),
           ("testLoss", "test loss", "", 1.0))


# ---- distribution functions (Numerical Recipes' continued fraction for the incomplete beta) ----

def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):
        return 1.0 - betainc(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return front * h / a


def t_two_sided(t, df):
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    return betainc(df / 2, 0.5, df / (df + t * t))


def f_upper(f, d1, d2):
    """P(F >= f) for Fisher's F with (d1, d2) degrees of freedom."""
    return betainc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f)) if f > 0 else 1.0


def welch(x, y):
    """Welch's t-test: (t, df, two-sided p)."""
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    t = (x.mean() - y.mean()) / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    return t, df, t_two_sided(t, df)


def ranks(v):
    """Ranks 1..n, ties given their mean rank."""
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    sv = v[order]
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sv[j + 1] == sv[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


def mann_whitney(x, y):
    """Mann-Whitney U of x against y: (U, two-sided p) by the normal approximation with tie and continuity correction."""
    n1, n2 = len(x), len(y)
    allv = np.concatenate([x, y])
    r = ranks(allv)
    u = r[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    _, counts = np.unique(allv, return_counts=True)
    ties = float((counts ** 3 - counts).sum())
    sd = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (abs(u - n1 * n2 / 2) - 0.5) / sd
    return u, math.erfc(max(z, 0) / math.sqrt(2))


def brown_forsythe(x, y):
    """Brown-Forsythe test of equal spread (Levene's ANOVA on absolute deviations from each group's median): (F, p)."""
    zx, zy = np.abs(x - np.median(x)), np.abs(y - np.median(y))
    allz = np.concatenate([zx, zy])
    n = len(allz)
    between = len(zx) * (zx.mean() - allz.mean()) ** 2 + len(zy) * (zy.mean() - allz.mean()) ** 2
    within = ((zx - zx.mean()) ** 2).sum() + ((zy - zy.mean()) ** 2).sum()
    f = (n - 2) * between / within
    return f, f_upper(f, 1, n - 2)


def permutation_p(x, y, statistic, rounds=20000, seed=0):
    """Two-sided permutation p-value of statistic(x, y) (random relabellings, fixed seed)."""
    rng = np.random.default_rng(seed)
    allv = np.concatenate([x, y])
    observed = abs(statistic(x, y))
    hits = 0
    for _ in range(rounds):
        p = rng.permutation(allv)
        hits += abs(statistic(p[:len(x)], p[len(x):])) >= observed - 1e-12
    return (hits + 1) / (rounds + 1)


def log_sd_ratio(x, y):
    return math.log(x.std(ddof=1) / y.std(ddof=1))


# ---- running ----

def seed_list(spec):
    """'1-40', '1,5,9' or '1-10,42' -> a list of seeds (non-negative integers)."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def run_one(job, args):
    """Runs one (system, seed, epochs, backend) unless its metrics are cached; returns the list of epoch records."""
    label, path, seed, epochs, backend = job
    tag = f"{label}-{backend}-e{epochs}-s{seed}" if backend else f"{label}-e{epochs}-s{seed}"
    tag = tag if args.model == "mlp" else f"{args.model}-{tag}"
    metrics = os.path.join(args.work, tag + ".jsonl")
    if os.path.exists(metrics):
        records = [json.loads(line) for line in open(metrics) if line.strip()]
        if len(records) == epochs:
            return records
        os.remove(metrics)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if label == PYTORCH:
        cmd = [sys.executable, os.path.join(ROOT, "scripts", "pytorch_reference.py"), args.data_dir,
               "--model", args.model, "--epochs", str(epochs), "--seed", str(seed), "--threads", "1", "--metrics", metrics]
    else:
        cmd = ["node", path, "--model", args.model, "--dataset", args.dataset, "--data-dir", args.data_dir, "--epochs", str(epochs),
               "--seed", str(seed), "--threads", "1", "--quiet", "--no-download", "--metrics", metrics]
        if backend:
            cmd += ["--backend", backend]
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return [json.loads(line) for line in open(metrics) if line.strip()]


def run_all(jobs, args):
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, job, args): job for job in jobs}
        for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            if i % 20 == 0 or i == len(jobs):
                print(f"  ... {i}/{len(jobs)} runs", file=sys.stderr, flush=True)
    return results


# ---- initial weights ----

INIT_SNIPPET = """
import { Generator } from "@tsgrad/tensor";
import { buildModel } from "./src/model.js";
const seeds: number[] = JSON.parse(process.argv[2] ?? "[]");
const out = seeds.map((seed) => buildModel(128, new Generator(seed)).namedParameters().map(([name, p]) => {
  const d = Float64Array.from(p.data);
  return { name, values: Array.from(d) };
}));
process.stdout.write(JSON.stringify(out));
"""


def tensor_stats(values, bound):
    """mean/sd/min/max in units of the bound, and Kolmogorov-Smirnov sqrt(n)*D against U(-bound, bound)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = len(v)
    f = (v + bound) / (2 * bound)
    d = max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max())
    return {"mean": v.mean() / bound, "sd": v.std() / bound, "min": v.min() / bound, "max": v.max() / bound,
            "ks": math.sqrt(n) * d, "below": int((v < -bound).sum()), "atOrAbove": int((v >= bound).sum())}


def init_stats(seeds):
    """Per-tensor statistics of the reference model's initial values: {system: {name: [stats per seed]}}."""
    import torch
    from torch import nn
    bounds = {"0.weight": 1 / math.sqrt(784), "0.bias": 1 / math.sqrt(784), "2.weight": 1 / math.sqrt(128),
              "2.bias": 1 / math.sqrt(128)}
    out = {PYTORCH: {k: [] for k in bounds}, "tsgrad": {k: [] for k in bounds}}
    for seed in seeds:
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        for name, p in model.state_dict().items():
            out[PYTORCH][name].append(tensor_stats(p.double().numpy().ravel(), bounds[name]))
    esbuild = os.path.join(ROOT, "node_modules", ".bin", "esbuild")
    app_dir = os.path.join(ROOT, "apps", "mnist-train")
    bundle = subprocess.run([esbuild, "--bundle", "--platform=node", "--format=esm", "--loader=ts",
                             "--sourcefile=init-stats.ts", "--log-level=warning"], input=INIT_SNIPPET, cwd=app_dir,
                            capture_output=True, text=True, check=True).stdout
    path = os.path.join(tempfile.gettempdir(), f"tsgrad-init-stats-{os.getpid()}.mjs")
    with open(path, "w") as f:
        f.write(bundle)
    try:
        raw = subprocess.run(["node", path, json.dumps(seeds)], capture_output=True, text=True, check=True).stdout
    finally:
        os.remove(path)
    for model in json.loads(raw):
        for t in model:
            out["tsgrad"][t["name"]].append(tensor_stats(t["values"], bounds[t["name"]]))
    return out


# ---- printing ----

def describe(values, scale):
    v = np.asarray(values) * scale
    return v.mean(), np.median(v), v.std(ddof=1), v.min(), v.max()


def print_distributions(title, systems, table):
    print(f"\n{title}")
    print(f"  {'system':<22} {'n':>4}  {'test accuracy %: mean  median    sd   min–max (range)':<52}"
          f"  {'train loss: mean ± sd  [min–max]':<34}  test loss: mean ± sd  [min–max]")
    for label in systems:
        recs = table[label]
        acc = describe([r["testAccuracy"] for r in recs], 100)
        tr = describe([r["trainLoss"] for r in recs], 1)
        te = describe([r["testLoss"] for r in recs], 1)
        print(f"  {label:<22} {len(recs):>4}  {acc[0]:>20.2f} {acc[1]:>7.2f} {acc[2]:>5.2f} "
              f"  {acc[3]:.2f}–{acc[4]:.2f} ({acc[4] - acc[3]:.2f})      "
              f"  {tr[0]:.4f} ± {tr[2]:.4f} [{tr[3]:.4f}–{tr[4]:.4f}]"
              f"  {te[0]:.4f} ± {te[2]:.4f} [{te[3]:.4f}–{te[4]:.4f}]")


def print_tests(label, table):
    print(f"\n  {label} against PyTorch (two-sided p-values; permutation tests: 20,000 relabellings):")
    print(f"    {'metric':<14} {'Δ mean':>9}  {'Welch t (df), p':<24} {'Mann–Whitney U, p':<22} {'sd ratio':>8}"
          f"  {'Brown–Forsythe F, p':<22} perm. p (mean, log sd ratio)")
    for key, name, unit, scale in METRICS:
        x = np.array([r[key] for r in table[label]]) * scale
        y = np.array([r[key] for r in table[PYTORCH]]) * scale
        t, df, pt = welch(x, y)
        u, pu = mann_whitney(x, y)
        f, pf = brown_forsythe(x, y)
        pm = permutation_p(x, y, lambda a, b: a.mean() - b.mean())
        ps = permutation_p(x, y, log_sd_ratio)
        fmt = ".2f" if unit == "%" else ".4f"
        print(f"    {name:<14} {x.mean() - y.mean():>+9{fmt}}  {f't = {t:+.2f} ({df:.0f}), p = {pt:.2f}':<24} "
              f"{f'U = {u:.0f}, p = {pu:.2f}':<22} {x.std(ddof=1) / y.std(ddof=1):>8.2f}  "
              f"{f'F = {f:.2f}, p = {pf:.2f}':<22} {pm:.2f}, {ps:.2f}")


def print_issue_table(acc_ts, acc_pt, seeds):
    """Seeds 1-8 of both, as in the issue, and how often one shared distribution gives a gap that large."""
    idx = [seeds.index(s) for s in range(1, 9) if s in seeds]
    if len(idx) < 8:
        return
    a, b = acc_ts[idx], acc_pt[idx]
    gap, ratio = a.mean() - b.mean(), np.ptp(a) / np.ptp(b)
    pooled = np.concatenate([acc_ts, acc_pt])
    rng = np.random.default_rng(1)
    rounds = 100000
    hit_gap = hit_ratio = hit_both = 0
    for _ in range(rounds):
        p = rng.choice(pooled, 16, replace=False)
        g, r = abs(p[:8].mean() - p[8:].mean()), np.ptp(p[:8]) / max(np.ptp(p[8:]), 1e-9)
        r = max(r, 1 / r) if r > 0 else math.inf
        hit_gap += g >= abs(gap)
        hit_ratio += r >= max(ratio, 1 / ratio)
        hit_both += g >= abs(gap) and r >= max(ratio, 1 / ratio)
    print("\nThe issue's table (seeds 1–8) under the null hypothesis: draws of 8 + 8 seeds from the pooled one-epoch"
          f" accuracies of both systems ({len(pooled)} values, {rounds:,} draws):")
    print(f"  seeds 1–8: tsgrad mean {a.mean():.2f} % range {np.ptp(a):.2f}; PyTorch mean {b.mean():.2f} % range "
          f"{np.ptp(b):.2f}: gap {gap:+.2f} pts, range ratio {ratio:.2f}")
    print(f"  P(|gap| ≥ {abs(gap):.2f}) = {hit_gap / rounds:.3f};  P(range ratio ≥ {max(ratio, 1 / ratio):.2f} either way) ="
          f" {hit_ratio / rounds:.3f};  both at once: {hit_both / rounds:.3f}")
    sd = np.concatenate([acc_ts, acc_pt]).std(ddof=1)
    print(f"  with 8 seeds the standard error of a mean is {sd / math.sqrt(8):.2f} pts (sd {sd:.2f}), of a gap between "
          f"two means {sd * math.sqrt(2 / 8):.2f} pts; an sd from 8 seeds is uncertain by ±{100 / math.sqrt(14):.0f} %")


def print_init(stats, seeds):
    print(f"\nInitial values of the reference model, seeds {seeds[0]}–{seeds[-1]} ({len(seeds)} seeds), in units of the"
          " bound b = 1/√fan_in (U(−b, b): mean 0, sd 1/√3 = 0.5774; PyTorch: kaiming_uniform_(a=√5) weights, U(±b) bias)")
    print(f"  {'tensor':<9} {'system':<8} {'mean ± sd over seeds':>22} {'sd/b ± sd':>18} {'min/b':>10} {'max/b':>10}"
          f" {'KS √n·D mean (max)':>19}  outside [−b, b)")
    for name in stats[PYTORCH]:
        for system in (PYTORCH, "tsgrad"):
            s = stats[system][name]
            means = np.array([x["mean"] for x in s])
            sds = np.array([x["sd"] for x in s])
            ks = np.array([x["ks"] for x in s])
            outside = sum(x["below"] + x["atOrAbove"] for x in s)
            print(f"  {name:<9} {system:<8} {means.mean():>+11.5f} ± {means.std(ddof=1):.5f} {sds.mean():>9.5f} ± "
                  f"{sds.std(ddof=1):.5f} {min(x['min'] for x in s):>10.7f} {max(x['max'] for x in s):>10.7f} "
                  f"{ks.mean():>10.3f} ({ks.max():.3f})  {outside}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--dataset", default="fashion-mnist", choices=["mnist", "fashion-mnist"])
    parser.add_argument("--model", default="mlp", choices=["mlp", "cnn"], help="the MLP (default) or main.py's CNN")
    parser.add_argument("--seeds", default="1-40", help="one-epoch seeds, e.g. 1-40 (default)")
    parser.add_argument("--ten-epoch-seeds", default="", help="seeds to train for 10 epochs too, e.g. 1-5")
    parser.add_argument("--rounding-seeds", default="",
                        help="seeds to rerun with --backend js: the same initial values and order, another float32 "
                             "summation order")
    parser.add_argument("--tsgrad", action="append", default=[], metavar="LABEL=PATH",
                        help="a built mnist-train.mjs to study (repeatable; default: tsgrad=apps/mnist-train/dist)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, each on one thread (default 2)")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "tsgrad-seed-study"))
    parser.add_argument("--fresh", action="store_true", help="ignore cached results in --work")
    parser.add_argument("--no-init", action="store_true", help="skip the initial-weight statistics")
    args = parser.parse_args()
    builds = [tuple(s.split("=", 1)) for s in args.tsgrad] or [("tsgrad", APP)]
    for label, path in builds:
        if not os.path.exists(path):
            sys.exit(f"seed_study: {path} does not exist (build it: npx -y pnpm@12.4.2 --filter @tsgrad/mnist-train build)")
        if label == PYTORCH:
            sys.exit(f"seed_study: the label {PYTORCH!r} is taken by PyTorch")
    os.makedirs(args.work, exist_ok=True)
    if args.fresh:
        for f in os.listdir(args.work):
            if f.endswith(".jsonl"):
                os.remove(os.path.join(args.work, f))
    seeds = seed_list(args.seeds)
    ten = seed_list(args.ten_epoch_seeds)
    rounding = seed_list(args.rounding_seeds)
    systems = [label for label, _ in builds] + [PYTORCH]
    paths = dict(builds)
    # Interleaved (seed by seed, system by system) so that a change in the machine's load touches every system alike.
    jobs = [(label, paths.get(label), s, 1, None) for s in seeds for label in systems]
    jobs += [(label, paths.get(label), s, 10, None) for s in ten for label in systems]
    jobs += [(builds[-1][0], builds[-1][1], s, 1, "js") for s in rounding]
    print(f"seed study: {len(jobs)} runs, {args.jobs} at a time, cached in {args.work}", file=sys.stderr, flush=True)
    results = run_all(jobs, args)

    model = ("Linear(784,128) → ReLU → Linear(128,10), CrossEntropyLoss, Adam(lr=1e-3)" if args.model == "mlp" else
             "main.py's CNN, nll_loss, Adadelta(lr=1.0), StepLR(gamma=0.7), Normalize")
    print(f"Seed study: {args.dataset} from {args.data_dir}; {model}, batch 64, shuffled; one thread each; tsgrad builds: "
          + ", ".join(f"{label} = {os.path.relpath(p, ROOT)}" for label, p in builds))
    for epochs, ss in ((1, seeds), (10, ten)):
        if not ss:
            continue
        table = {label: [results[(label, paths.get(label), s, epochs, None)][-1] for s in ss] for label in systems}
        print_distributions(f"After {epochs} epoch{'s' if epochs > 1 else ''}, seeds {args.seeds if epochs == 1 else args.ten_epoch_seeds}:",
                            systems, table)
        if len(ss) >= 8:
            for label, _ in builds:
                print_tests(label, table)
        if epochs == 10:
            for label in systems:
                print(f"  {label:<22} per seed: " + " ".join(f"{r['testAccuracy'] * 100:.2f}" for r in table[label]))
        if len(builds) > 1:
            first = builds[0][0]
            for label, _ in builds[1:]:
                same = lambda a, b: all(a[k] == b[k] for k, _, _, _ in METRICS)
                differ = [(s, a, b) for s, a, b in zip(ss, table[first], table[label]) if not same(a, b)]
                print(f"  {label} against {first}: the same losses and accuracy for {len(ss) - len(differ)} of {len(ss)}"
                      " seeds" + ("; different for " + ", ".join(
                          f"seed {s} ({a['testAccuracy'] * 100:.2f} → {b['testAccuracy'] * 100:.2f} %)" for s, a, b in differ)
                          if differ else ""))
        if epochs == 1:
            last = builds[-1][0]
            print_issue_table(np.array([r["testAccuracy"] for r in table[last]]) * 100,
                              np.array([r["testAccuracy"] for r in table[PYTORCH]]) * 100, ss)
            one_epoch = table
    if rounding:
        label, path = builds[-1]
        wasm = np.array([results[(label, path, s, 1, None)][-1]["testAccuracy"] for s in rounding]) * 100
        js = np.array([results[(label, path, s, 1, "js")][-1]["testAccuracy"] for s in rounding]) * 100
        diff = js - wasm
        sd_all = np.array([r["testAccuracy"] for r in one_epoch[label]]).std(ddof=1) * 100
        print(f"\nFloat32 summation order alone ({label}, seeds {args.rounding_seeds}: the same initial values and batch"
              " order through the JavaScript kernels instead of wasm SIMD):")
        print("  test accuracy wasm: " + " ".join(f"{v:.2f}" for v in wasm))
        print("  test accuracy js:   " + " ".join(f"{v:.2f}" for v in js))
        print(f"  difference js − wasm: mean {diff.mean():+.2f}, sd {diff.std(ddof=1):.2f} pts, largest "
              f"{np.abs(diff).max():.2f}; i.e. rounding alone moves one run by sd {diff.std(ddof=1) / math.sqrt(2):.2f}"
              f" pts, against {sd_all:.2f} pts between seeds")
    seconds = {label: [r["seconds"] for s in seeds for r in results[(label, paths.get(label), s, 1, None)][-1:]] for label in systems}
    print("\nSeconds per epoch (training and test; runs side by side, " + f"{args.jobs} at a time): " + "; ".join(
        f"{label} median {np.median(v):.1f} [{min(v):.1f}–{max(v):.1f}]" for label, v in seconds.items()))
    if not args.no_init and args.model == "mlp":
        print_init(init_stats(seeds), seeds)


if __name__ == "__main__":
    main()
