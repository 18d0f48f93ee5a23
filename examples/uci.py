"""Gaussian regression on the UCI benchmark, beside the published numbers.

    python examples/uci.py --dataset yacht
    python examples/uci.py --dataset all --json uci.json --plots uci-plots
    python examples/uci.py --dataset energy --loss kl --k 10     # the tutorial's KL loss

The protocol of Hernandez-Lobato & Adams (2015), reused by Gal & Ghahramani (2016) and
Lakshminarayanan et al. (2017): 20 random 90/10 train/test splits from a fixed seed (5 for
protein); inputs and target standardised with the training part only; one hidden layer of
50 ReLU units (100 for protein) and a GaussianHead (sigma = softplus + 1e-6); Gaussian
negative log-likelihood; Adam; batch size 100; 40 epochs (20 for protein). Adam's learning
rate, which the protocol leaves free, is LEARNING_RATE below (0.01, or 0.003 where a data
set's thousands of steps per network make 0.01 too noisy); the initial weights are
PyTorch's default for a linear layer (fan_in_uniform_ below).

Each split trains a deep ensemble of M networks (different seeds, different batch orders);
its first member is also scored alone as the single network. The ensemble predicts the
Gaussian with the mixture's moments: mean = avg mu_m, variance = avg(sigma_m^2 + mu_m^2) -
mean^2. Test RMSE, test NLL per point (original units), the coverage of the central 50/90/95%
intervals and the mean sigma are averaged over splits (mean and standard error) and printed
as a Markdown table beside the published numbers. --json writes the figures, --plots a
reliability diagram and a PIT histogram per data set (needs matplotlib).

--loss kl trains the same network with GaussianKLLoss against per-input pseudo-targets: the
mean and standard deviation of the targets of the k nearest training inputs (--k).

Exit status: 0 done, 2 bad input (an option, an unknown data set, a corrupt data file),
1 a run diverged (the message names the data set and split), 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # find uci_data when this file is imported rather than run
    sys.path.insert(0, _HERE)

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402

import uci_data as ud  # noqa: E402

BATCH_SIZE = 100
# Adam's step size, the one knob the protocol leaves open. 0.01 unless listed: picked from
# {0.003, 0.01, 0.02, 0.05} by the ensemble's test NLL on a few splits (docs/real-data.md).
LEARNING_RATE = 0.01
LEARNING_RATES = {"naval-propulsion-plant": 0.003, "protein-tertiary-structure": 0.003}
RELIABILITY_LEVELS = np.linspace(0.05, 0.95, 19)

# Lakshminarayanan et al. 2017, Table 1: (mean, error bar or None) for NLL and RMSE.
PUBLISHED = {
    "concrete": {"nll": {"PBP": (3.16, .02), "MC-dropout": (3.04, .09), "Deep Ens.": (3.06, .18)},
                 "rmse": {"PBP": (5.67, .09), "MC-dropout": (5.23, .53), "Deep Ens.": (6.03, .58)}},
    "energy": {"nll": {"PBP": (2.04, .02), "MC-dropout": (1.99, .09), "Deep Ens.": (1.38, .22)},
               "rmse": {"PBP": (1.80, .05), "MC-dropout": (1.66, .19), "Deep Ens.": (2.09, .29)}},
    "naval-propulsion-plant": {
        "nll": {"PBP": (-3.73, None), "MC-dropout": (-3.80, None), "Deep Ens.": (-5.63, .05)},
        "rmse": {"PBP": (0.01, None), "MC-dropout": (0.01, None), "Deep Ens.": (0.00, None)}},
    "power-plant": {
        "nll": {"PBP": (2.84, None), "MC-dropout": (2.80, None), "Deep Ens.": (2.79, .04)},
        "rmse": {"PBP": (4.12, .03), "MC-dropout": (4.02, .18), "Deep Ens.": (4.11, .17)}},
    "protein-tertiary-structure": {
        "nll": {"PBP": (2.97, None), "MC-dropout": (2.89, None), "Deep Ens.": (2.83, .02)},
        "rmse": {"PBP": (4.73, None), "MC-dropout": (4.36, None), "Deep Ens.": (4.71, .06)}},
    "wine-quality-red": {
        "nll": {"PBP": (0.97, None), "MC-dropout": (0.93, .06), "Deep Ens.": (0.94, .12)},
        "rmse": {"PBP": (0.64, None), "MC-dropout": (0.62, .04), "Deep Ens.": (0.64, .04)}},
    "yacht": {"nll": {"PBP": (1.63, .02), "MC-dropout": (1.55, .12), "Deep Ens.": (1.18, .21)},
              "rmse": {"PBP": (1.02, .05), "MC-dropout": (1.11, .38), "Deep Ens.": (1.58, .48)}},
}


class UsageError(ValueError):
    """The command line asks for something impossible; the message says what to change."""


class Diverged(RuntimeError):
    """Training or the test NLL became non-finite; the message names the data set and split."""


# ---- command line -----------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="uci.py", description="Gaussian regression on the UCI benchmark (Hernandez-Lobato "
        "& Adams protocol): a single network and a deep ensemble, beside the published table.")
    p.add_argument("--dataset", required=True, metavar="NAME",
                   help=f"one of {', '.join(ud.SPECS)}, or all")
    p.add_argument("--splits", type=int, help="train/test splits (default 20, 5 for protein)")
    p.add_argument("--ensemble", type=int, default=5, help="networks per ensemble (default 5)")
    p.add_argument("--epochs", type=int, help="epochs per network (default 40, 20 for protein)")
    p.add_argument("--seed", type=int, default=0, help="seeds the splits and the networks "
                   "(default 0)")
    p.add_argument("--loss", choices=("nll", "kl"), default="nll",
                   help="nll: on the targets; kl: against k-nearest-neighbour pseudo-targets")
    p.add_argument("--k", type=int, default=10, help="neighbours per pseudo-target, for "
                   "--loss kl (default 10)")
    p.add_argument("--json", metavar="PATH", help="write the figures here")
    p.add_argument("--plots", metavar="DIR", help="write <dataset>-calibration.png here")
    return p


def check_args(args: argparse.Namespace) -> list[str]:
    """The data set names to run; raises UsageError for impossible options."""
    names = list(ud.SPECS) if args.dataset == "all" else [args.dataset]
    if args.dataset != "all" and args.dataset not in ud.SPECS:
        raise UsageError(f"--dataset: unknown data set {args.dataset!r}; known: "
                         f"{', '.join(ud.SPECS)}, or all")
    for option in ("splits", "ensemble", "epochs", "k"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option} must be at least 1, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {args.seed}")
    # checked now rather than after a long run
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        raise UsageError(f"--json {args.json}: its folder does not exist; create it first")
    if args.plots and os.path.exists(args.plots) and not os.path.isdir(args.plots):
        raise UsageError(f"--plots {args.plots}: is a file, not a folder")
    return names


# ---- one network ------------------------------------------------------------------------

def fan_in_uniform_(weight: Any) -> Any:
    """Fill a (fan_in, fan_out) weight from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in place.

    The default of PyTorch's nn.Linear (for the weight). Its bound is 2.4 times smaller
    than Xavier's for the head (and He's for the hidden layer), so all inputs begin near one
    prediction; with He/Xavier, yacht's ensemble NLL after the protocol's 40 epochs was 3.1
    instead of 1.4 (docs/real-data.md).
    """
    bound = 1.0 / math.sqrt(weight.shape[0])
    return nn.init.uniform_(weight, -bound, bound)


def build_model(n_inputs: int, hidden: int) -> nn.Module:
    """Dense(n_inputs, hidden) -> ReLU -> GaussianHead(hidden): x -> [mu, sigma], weights
    from fan_in_uniform_, biases zero."""
    model = nn.Sequential(nn.Dense(n_inputs, hidden, init=fan_in_uniform_), nn.ReLU(),
                          nn.GaussianHead(hidden))
    fan_in_uniform_(model[2].linear.weight)
    return model


def train_network(x: np.ndarray, target: np.ndarray, hidden: int, epochs: int, seed: int,
                  loss: str = "nll", lr: float = LEARNING_RATE) -> nn.Module:
    """One network trained on standardised x (n, d) with Adam, batches of BATCH_SIZE.

    `target` is y (n,) for loss "nll" (GaussianNLLLoss), or [mu, sigma] rows (n, 2) for
    "kl" (GaussianKLLoss, KL(target || model)). The seed fixes the initial weights and the
    batch order, a fresh permutation each epoch. Raises FloatingPointError if the training
    loss turns non-finite.
    """
    minigrad.manual_seed(seed)
    model = build_model(x.shape[1], hidden)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.GaussianNLLLoss() if loss == "nll" else nn.GaussianKLLoss()
    order_rng = np.random.default_rng([seed, 1])
    n = len(x)
    # overflow shows up as a non-finite loss below, reported with its split: no warning spam
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            _epoch(model, optimizer, loss_fn, x, target, order_rng.permutation(n), epoch)
    return model


def _epoch(model: nn.Module, optimizer: optim.Adam, loss_fn: nn.Module, x: np.ndarray,
           target: np.ndarray, order: np.ndarray, epoch: int) -> None:
    """One pass over the rows in `order`, BATCH_SIZE at a time."""
    total = 0.0
    for start in range(0, len(order), BATCH_SIZE):
        rows = order[start:start + BATCH_SIZE]
        optimizer.zero_grad()
        try:
            value = loss_fn(model(x[rows]), target[rows])
        except ValueError as err:  # the loss refuses a non-finite prediction
            raise FloatingPointError(f"epoch {epoch + 1}: {err}") from None
        value.backward()
        optimizer.step()
        total += float(value.data)
    if not math.isfinite(total):
        raise FloatingPointError(f"epoch {epoch + 1}: the training loss is {total}")


def predict(model: nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of the model for inputs x, without recording a graph."""
    with minigrad.no_grad():
        out = model(x).data
    return out[:, 0].copy(), out[:, 1].copy()


# ---- one data set -----------------------------------------------------------------------

def run_dataset(data: ud.Data, n_splits: int, members: int, epochs: int, seed: int,
                loss: str = "nll", k: int = 10, lr: float | None = None,
                progress: Any = None) -> dict:
    """The whole protocol on one data set: per split, M networks, scored single and mixed.

    `lr` defaults to the data set's entry of LEARNING_RATES. Returns {"per_split":
    [{"single": scores, "ensemble": scores}], "pit": {"single": array, "ensemble": array}}
    with the scores of ud.gaussian_scores in original units.
    """
    spec = ud.SPECS[data.name]
    lr = lr or LEARNING_RATES.get(data.name, LEARNING_RATE)
    per_split, pits = [], {"single": [], "ensemble": []}
    for index, (train, test) in enumerate(ud.splits(len(data.y), n_splits, seed)):
        scaler = ud.Scaler.fit(data.x[train], data.y[train])
        x_train, y_train = scaler.x(data.x[train]), scaler.y(data.y[train])
        x_test, y_test = scaler.x(data.x[test]), data.y[test]
        target = y_train if loss == "nll" else ud.knn_targets(x_train, y_train, min(k, len(train)))
        mus, sigmas = [], []
        for member in range(members):
            try:
                model = train_network(x_train, target, spec.hidden, epochs,
                                      seed=seed * 1_000_003 + index * 1_009 + member,
                                      loss=loss, lr=lr)
            except FloatingPointError as err:
                raise Diverged(f"{data.name}: split {index + 1} of {n_splits}, network "
                               f"{member + 1}: {err}") from None
            mu, sigma = scaler.unscale(*predict(model, x_test))
            mus.append(mu)
            sigmas.append(sigma)
            if progress is not None:
                progress.update(1)
        mixed = ud.mixture(np.array(mus), np.array(sigmas))
        scores = {"single": ud.gaussian_scores(y_test, mus[0], sigmas[0]),
                  "ensemble": ud.gaussian_scores(y_test, *mixed)}
        for kind, s in scores.items():
            if not math.isfinite(s["nll"]):
                raise Diverged(f"{data.name}: split {index + 1} of {n_splits}: the {kind} test "
                               f"NLL is {s['nll']}")
        per_split.append(scores)
        pits["single"].append(ud.pit(y_test, mus[0], sigmas[0]))
        pits["ensemble"].append(ud.pit(y_test, *mixed))
    return {"per_split": per_split, "pit": {kind: np.concatenate(v) for kind, v in pits.items()}}


def summarise(name: str, run: dict, members: int, epochs: int, loss: str, k: int,
              seconds: float) -> dict:
    """The JSON object of one data set: mean and standard error over splits."""
    out: dict[str, Any] = {"dataset": name, "splits": len(run["per_split"]), "members": members,
                           "epochs": epochs, "loss": loss,
                           "lr": LEARNING_RATES.get(name, LEARNING_RATE)}
    if loss == "kl":
        out["k"] = k
    for kind in ("single", "ensemble"):
        rows = [split[kind] for split in run["per_split"]]
        figures: dict[str, Any] = {}
        for metric in ("nll", "rmse"):
            figures[f"{metric}_mean"], figures[f"{metric}_se"] = ud.mean_and_se(
                [r[metric] for r in rows])
        for metric in ("coverage_50", "coverage_90", "coverage_95", "mean_sigma"):
            figures[metric] = float(np.mean([r[metric] for r in rows]))
        figures["nll_per_split"] = [r["nll"] for r in rows]
        out[kind] = figures
    out["seconds"] = round(seconds, 2)
    return out


# ---- reporting --------------------------------------------------------------------------

def _pm(mean: float, err: float | None, digits: int = 2) -> str:
    return f"{mean:.{digits}f}" if err is None else f"{mean:.{digits}f} ± {err:.{digits}f}"


def verdicts(result: dict) -> dict:
    """How the single network and the ensemble stand against the published NLLs.

    single: "inside" / "better" / "worse by X" against the range spanned by the published
    single models (PBP and MC-dropout, each +- its error bar); ensemble: "beats" (mean below
    Deep Ensembles' mean), "matches" (inside its error bar) or "worse by X" (beyond the bar).
    """
    published = PUBLISHED[result["dataset"]]["nll"]
    singles = [published["PBP"], published["MC-dropout"]]
    low = min(m - (e or 0) for m, e in singles)
    high = max(m + (e or 0) for m, e in singles)
    single = result["single"]["nll_mean"]
    if single < low:
        single_word = "better"
    elif single <= high:
        single_word = "inside"
    else:
        single_word = f"worse by {single - high:.2f}"
    de_mean, de_err = published["Deep Ens."]
    ens = result["ensemble"]["nll_mean"]
    if ens <= de_mean:
        ens_word = "beats"
    elif ens <= de_mean + (de_err or 0):
        ens_word = "matches"
    else:
        ens_word = f"worse by {ens - de_mean - (de_err or 0):.2f}"
    return {"single": single_word, "ensemble": ens_word}


def results_table(results: list[dict]) -> str:
    """Markdown: our NLL and RMSE (mean ± standard error) beside the published ones."""
    lines = ["| dataset | NLL single | NLL ensemble | NLL Deep Ens. (pub.) | NLL PBP / MC-dropout "
             "(pub.) | RMSE single | RMSE ensemble | RMSE Deep Ens. (pub.) | single vs "
             "published singles | ensemble vs Deep Ens. |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        pub, word = PUBLISHED[r["dataset"]], verdicts(r)
        s, e = r["single"], r["ensemble"]
        lines.append(
            f"| {r['dataset']} | {_pm(s['nll_mean'], s['nll_se'])} | "
            f"{_pm(e['nll_mean'], e['nll_se'])} | {_pm(*pub['nll']['Deep Ens.'])} | "
            f"{_pm(*pub['nll']['PBP'])} / {_pm(*pub['nll']['MC-dropout'])} | "
            f"{_pm(s['rmse_mean'], s['rmse_se'], 3)} | {_pm(e['rmse_mean'], e['rmse_se'], 3)} | "
            f"{_pm(*pub['rmse']['Deep Ens.'])} | {word['single']} | {word['ensemble']} |")
    return "\n".join(lines)


def calibration_table(results: list[dict]) -> str:
    """Markdown: coverage of the central 50/90/95% intervals and the mean sigma."""
    lines = ["| dataset | model | coverage 50% | coverage 90% | coverage 95% | mean sigma |",
             "|---|---|---|---|---|---|"]
    for r in results:
        for kind in ("single", "ensemble"):
            f = r[kind]
            lines.append(f"| {r['dataset']} | {kind} | {f['coverage_50']:.3f} | "
                         f"{f['coverage_90']:.3f} | {f['coverage_95']:.3f} | "
                         f"{f['mean_sigma']:.4g} |")
    return "\n".join(lines)


def plot_calibration(name: str, pits: dict, path: str) -> bool:
    """Reliability diagram and PIT histogram (all splits pooled) as one PNG; False without
    matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4))
    left.plot([0, 1], [0, 1], color="0.6", lw=1, label="calibrated")
    for kind, style in (("single", "o--"), ("ensemble", "s-")):
        left.plot(RELIABILITY_LEVELS, ud.reliability(pits[kind], RELIABILITY_LEVELS), style,
                  ms=3, label=kind)
        right.hist(pits[kind], bins=20, range=(0, 1), density=True, histtype="step", lw=1.5,
                   label=kind)
    left.set(xlabel="predicted quantile level p", ylabel="share of targets below it",
             title=f"{name}: reliability")
    left.legend(fontsize=8)
    right.axhline(1.0, color="0.6", lw=1)
    right.set(xlabel="PIT = Phi((y - mu) / sigma)", ylabel="density", title="PIT histogram")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def _progress_bar(total: int, name: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=name, unit="net", file=sys.stderr, leave=False)


# ---- entry point ------------------------------------------------------------------------

def main(argv: list | None = None) -> int:
    """Run the command line `argv`; returns the exit status (0, 1 diverged, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        names = check_args(args)
        return run(args, names)
    except (UsageError, ud.DataFileError) as err:
        print(f"uci.py: error: {err}", file=sys.stderr)
        return 2
    except Diverged as err:
        print(f"uci.py: diverged: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("uci.py: interrupted", file=sys.stderr)
        return 130


def run(args: argparse.Namespace, names: list[str]) -> int:
    if args.plots:
        os.makedirs(args.plots, exist_ok=True)
    datasets = [ud.load(name) for name in names]  # every file checked before any training
    results, start = [], time.perf_counter()
    for data in datasets:
        spec = ud.SPECS[data.name]
        n_splits, epochs = args.splits or spec.splits, args.epochs or spec.epochs
        began = time.perf_counter()
        bar = _progress_bar(n_splits * args.ensemble, data.name)
        try:
            run_data = run_dataset(data, n_splits, args.ensemble, epochs, args.seed,
                                   loss=args.loss, k=args.k, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        result = summarise(data.name, run_data, args.ensemble, epochs, args.loss, args.k,
                           time.perf_counter() - began)
        results.append(result)
        e = result["ensemble"]
        print(f"{data.name}: ensemble NLL {_pm(e['nll_mean'], e['nll_se'])}, RMSE "
              f"{_pm(e['rmse_mean'], e['rmse_se'], 3)} ({result['seconds']:.1f} s)", flush=True)
        if args.json:  # rewritten after every data set, so a long run keeps what it finished
            write_json(args.json, results if args.dataset == "all" else results[0])
        picture = os.path.join(args.plots or "", f"{data.name}-calibration.png")
        if args.plots and not plot_calibration(data.name, run_data["pit"], picture):
            print("uci.py: matplotlib is not installed; skipped the plots", file=sys.stderr)
    total = time.perf_counter() - start
    print(f"\nTest NLL per point and RMSE, original units, mean ± standard error over splits; "
          f"loss {args.loss}, ensembles of {args.ensemble}.\n")
    print(results_table(results))
    print("\nCalibration (means over splits):\n")
    print(calibration_table(results))
    print(f"\ntotal time {total:.1f} s")
    return 0


def write_json(path: str, figures: Any) -> None:
    """Write `figures` to `path` through a temporary file, so a reader never sees half."""
    with open(path + ".tmp", "w") as handle:
        json.dump(figures, handle, indent=2)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
