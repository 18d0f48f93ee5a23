"""For examples/train_mlp.py: a synthetic task with a known answer, CSV tables, metrics, plots.

The synthetic task (heteroscedastic regression). Inputs x are drawn uniformly from
[-3, 3]^D. Only the first coordinate s = x[0] matters; with D > 1 the other coordinates
are distractors the network has to learn to ignore. For every input the truth is a
Gaussian N(mu_gt(s), sigma_gt(s)^2) with

    mu_gt(s)    = sin(s)             a wave: the mean goes up and down
    sigma_gt(s) = 0.15 + 0.2 |s|     the spread grows away from 0 (from 0.15 to 0.75)

so both the centre and the width of the answer change with the input. With the KL loss
the network is shown [mu_gt(x), sigma_gt(x)] itself; with the NLL loss it only sees one
sample y ~ N(mu_gt(x), sigma_gt(x)^2) per input, as real data would give.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

X_RANGE = (-3.0, 3.0)
SIGMA_FLOOR, SIGMA_SLOPE = 0.15, 0.2
MIN_CSV_ROWS = 10
HELD_OUT_FRACTION = 0.2

# Independent random streams, each derived from (seed, stream), so that drawing more of
# one (a bigger held-out set) never changes another (the training data, the shuffles).
STREAM_TRAIN, STREAM_HELD_OUT, STREAM_SHUFFLE, STREAM_SPLIT = 0, 1, 2, 3


def rng_for(seed: int, stream: int, *more: int) -> np.random.Generator:
    """The generator of one named stream (and optionally a sub-stream, e.g. an epoch)."""
    return np.random.default_rng([seed, stream, *more])


def mu_gt(s: np.ndarray) -> np.ndarray:
    """The true mean at first coordinate s: sin(s)."""
    return np.sin(s)


def sigma_gt(s: np.ndarray) -> np.ndarray:
    """The true standard deviation at first coordinate s: 0.15 + 0.2 |s|."""
    return SIGMA_FLOOR + SIGMA_SLOPE * np.abs(s)


@dataclass
class Dataset:
    """Inputs `x` (N, D) and what is known about their outputs.

    `truth` (N, 2) holds [mu_gt, sigma_gt] when the truth is known (synthetic data), else
    None; `y` (N,) holds observed samples (NLL training, CSV data), else None.
    """

    x: np.ndarray
    truth: np.ndarray | None = None
    y: np.ndarray | None = None
    columns: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x)


def make_dataset(n: int, dim: int = 1, seed: int = 0, stream: int = STREAM_TRAIN,
                 samples: bool = False, dtype: str = "float64") -> Dataset:
    """`n` inputs of the synthetic task with their true [mu, sigma], and with `samples`
    one observation y ~ N(mu_gt, sigma_gt^2) each. The same (seed, stream) gives the same data."""
    if n < 1 or dim < 1:
        raise ValueError(f"make_dataset: need n >= 1 and dim >= 1, got n={n}, dim={dim}")
    rng = rng_for(seed, stream)
    x = rng.uniform(*X_RANGE, size=(n, dim))
    s = x[:, 0]
    truth = np.stack([mu_gt(s), sigma_gt(s)], axis=1)
    # drawn even without `samples`, so x and truth do not depend on the loss chosen
    y = truth[:, 0] + truth[:, 1] * rng.standard_normal(n)
    return Dataset(x.astype(dtype), truth.astype(dtype), y.astype(dtype) if samples else None,
                   [f"x{i}" for i in range(dim)])


# ---- CSV tables -------------------------------------------------------------------------

class DataError(ValueError):
    """A user's table cannot be used; the message says where and how to fix it."""


def load_csv(path: str, x_columns: list, y_column: str) -> Dataset:
    """Read the numeric columns `x_columns` (inputs) and `y_column` (target) of a CSV file
    with a header row. Raises FileNotFoundError or DataError with the file, row and column."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"--csv: no such file: {path}")
    if os.path.isdir(path):
        raise DataError(f"--csv {path}: is a folder; give the path of a CSV file")
    if not x_columns:
        raise DataError("--x: name at least one input column, e.g. --x age,height")
    wanted = list(x_columns) + [y_column]
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = _read_rows(reader, path, wanted)
    except UnicodeDecodeError as err:
        raise DataError(f"--csv {path}: is not UTF-8 text (it holds the bytes "
                        f"{err.object[err.start:err.start + 2]!r}, which UTF-8 does not allow; "
                        "latin-1 or UTF-16?); save the table as UTF-8, e.g. "
                        "iconv -f latin1 -t utf-8 FILE > NEW.csv") from None
    except csv.Error as err:
        line = reader.line_num if reader is not None else "?"
        raise DataError(f"--csv {path}: line {line} cannot be read as CSV ({err}); "
                        "check the quoting: a cell cannot be that long and be a number") from None
    except OSError as err:
        raise DataError(f"--csv {path}: cannot be read: {err.strerror or err}") from None
    if len(rows) < MIN_CSV_ROWS:
        raise DataError(f"{path}: only {len(rows)} data rows; need at least {MIN_CSV_ROWS} "
                        f"(some are held out to evaluate the fit)")
    table = np.array(rows, dtype=np.float64)
    return Dataset(x=table[:, :-1], y=table[:, -1], columns=wanted)


def _read_rows(reader: Any, path: str, wanted: list) -> list:
    """The rows of `wanted` columns, as floats, below the header row."""
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}: the file is empty; it needs a header row naming the columns")
    header = [name.strip() for name in header]
    absent = [name for name in wanted if name not in header]
    if absent:
        raise DataError(f"{path}: no column named {', '.join(map(repr, absent))}; the "
                        f"columns are: {', '.join(header)}")
    where = [header.index(name) for name in wanted]
    rows = []
    for line, record in enumerate(reader, start=2):
        if not record or all(not cell.strip() for cell in record):
            continue  # blank lines are allowed (a trailing newline, spacing)
        rows.append([_number(record, i, path, line, header[i]) for i in where])
    return rows


def _number(record: list, index: int, path: str, line: int, column: str) -> float:
    cell = record[index].strip() if index < len(record) else ""
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        shown = repr(cell) if cell else "an empty cell"
        raise DataError(f"{path}: row {line}, column {column!r}: {shown} is not a finite "
                        f"number; fix or delete that row")
    return value


def split(data: Dataset, seed: int) -> tuple:
    """(train, held_out): a random HELD_OUT_FRACTION of the rows is kept for evaluation."""
    order = rng_for(seed, STREAM_SPLIT).permutation(len(data))
    n_held = max(2, round(HELD_OUT_FRACTION * len(data)))
    parts = []
    for rows in (order[n_held:], order[:n_held]):
        parts.append(Dataset(data.x[rows], None if data.truth is None else data.truth[rows],
                             None if data.y is None else data.y[rows], data.columns))
    return tuple(parts)


@dataclass
class Scaling:
    """Affine maps that give the network inputs and targets of unit scale (CSV data):
    x' = (x - x_mean) / x_std, y' = (y - y_mean) / y_std."""

    x_mean: list
    x_std: list
    y_mean: float
    y_std: float

    @classmethod
    def identity(cls, dim: int) -> "Scaling":
        return cls([0.0] * dim, [1.0] * dim, 0.0, 1.0)

    @classmethod
    def fit(cls, data: Dataset) -> "Scaling":
        """Means and standard deviations of the training rows (1 for a constant column)."""
        x_std = data.x.std(axis=0)
        y_std = float(data.y.std())
        return cls(data.x.mean(axis=0).tolist(), np.where(x_std > 0, x_std, 1.0).tolist(),
                   float(data.y.mean()), y_std if y_std > 0 else 1.0)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return (x - np.asarray(self.x_mean, dtype=x.dtype)) / np.asarray(self.x_std, dtype=x.dtype)

    def targets(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_mean) / self.y_std

    def outputs(self, pred: np.ndarray) -> np.ndarray:
        """Network [mu', sigma'] back to data units: mu = mu' y_std + y_mean,
        sigma = sigma' y_std."""
        return np.stack([pred[:, 0] * self.y_std + self.y_mean, pred[:, 1] * self.y_std], axis=1)


# ---- metrics ----------------------------------------------------------------------------

def kl_truth_to_model(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """KL(N(mu_gt, s_gt^2) || N(mu_m, s_m^2)) per row
    = log(s_m / s_gt) + (s_gt^2 + (mu_gt - mu_m)^2) / (2 s_m^2) - 1/2."""
    mu_t, s_t = truth[:, 0].astype(np.float64), truth[:, 1].astype(np.float64)
    mu_m, s_m = pred[:, 0].astype(np.float64), pred[:, 1].astype(np.float64)
    return np.log(s_m / s_t) + (s_t ** 2 + (mu_t - mu_m) ** 2) / (2 * s_m ** 2) - 0.5


def gaussian_nll(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """-log N(y; mu_m, s_m^2) per row = log(s_m) + (y - mu_m)^2 / (2 s_m^2) + log(2 pi) / 2."""
    mu_m, s_m = pred[:, 0].astype(np.float64), pred[:, 1].astype(np.float64)
    error = y.astype(np.float64) - mu_m
    return np.log(s_m) + error ** 2 / (2 * s_m ** 2) + 0.5 * math.log(2 * math.pi)


def score(pred: np.ndarray, data: Dataset) -> dict:
    """The held-out figures: against the truth when it is known, against samples when there are."""
    figures = {"n_held_out": len(data)}
    if data.truth is not None:
        figures["kl_mean"] = float(kl_truth_to_model(data.truth, pred).mean())
        figures["rmse_mu"] = float(np.sqrt(np.mean((pred[:, 0] - data.truth[:, 0]) ** 2)))
        figures["rmse_sigma"] = float(np.sqrt(np.mean((pred[:, 1] - data.truth[:, 1]) ** 2)))
    if data.y is not None:
        figures["nll_mean"] = float(gaussian_nll(data.y, pred).mean())
        figures["rmse_y"] = float(np.sqrt(np.mean((pred[:, 0] - data.y) ** 2)))
    return figures


# ---- pictures ---------------------------------------------------------------------------

def write_plots(out: str, curve: Callable, held_out: Dataset, x_center: list, config: dict,
                progress: dict) -> list:
    """fit.png (the learnt mu +- sigma band over the truth) and loss.png in `out`; [] without
    matplotlib. `curve(x)` gives the model's [mu, sigma] (N, 2) for raw inputs x."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    except ImportError:
        print("plots: skipped (matplotlib is not installed: pip install matplotlib)")
        return []
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    # a line through input space along the first coordinate, the others at their mean
    first = held_out.x[:, 0]
    grid = np.linspace(first.min(), first.max(), 400)
    x = np.tile(np.asarray(x_center, dtype=np.float64), (len(grid), 1))
    x[:, 0] = grid
    pred = curve(x)
    if held_out.y is not None:
        ax.scatter(first, held_out.y, s=4, color="0.6", alpha=0.5, label="held-out samples y")
    for k, alpha in ((2, 0.15), (1, 0.3)):
        ax.fill_between(grid, pred[:, 0] - k * pred[:, 1], pred[:, 0] + k * pred[:, 1],
                        color="tab:blue", alpha=alpha, lw=0, label=f"model mu +- {k} sigma")
    ax.plot(grid, pred[:, 0], color="tab:blue", lw=2, label="model mu")
    if config["csv"] is None:
        mu, sigma = mu_gt(grid), sigma_gt(grid)
        ax.plot(grid, mu, color="black", lw=1.2, ls="--", label="true mu")
        ax.plot(grid, mu - sigma, color="black", lw=0.8, ls=":", label="true mu +- sigma")
        ax.plot(grid, mu + sigma, color="black", lw=0.8, ls=":")
    names = held_out.columns
    others = " (other inputs at their mean)" if config["dim"] > 1 else ""
    ax.set_xlabel(f"{names[0] if names else 'x0'}{others}")
    ax.set_ylabel(config["y"] or "y")
    ax.set_title(f"learnt Gaussian after {progress['epoch']} epochs ({config['loss']} loss)")
    ax.legend(fontsize=8, loc="upper left")
    fig.savefig(os.path.join(out, "fit.png"), dpi=110)

    fig = Figure(figsize=(8, 3.4), layout="constrained")
    epochs = np.arange(1, len(progress["loss_history"]) + 1)
    # both panels in nats per input and in the data's own units (train_mlp converts a CSV
    # table's standardised training NLL back), so the two curves can be compared
    unit = "nats per input" + (", table units" if config["csv"] is not None else "")
    train_kind = "KL" if config["loss"] == "kl" else "NLL"
    held_kind = "KL" if held_out.truth is not None else "NLL"
    panels = (("loss_history", f"training {'KL(truth || model)' if train_kind == 'KL' else 'NLL'}",
               f"{train_kind} ({unit})"),
              ("held_out_history", "held-out mean " + ("KL(truth || model)" if held_kind == "KL"
                                                       else "NLL"), f"{held_kind} ({unit})"))
    for i, (key, label, y_label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        values = np.asarray(progress[key], dtype=float)
        ax.plot(epochs, values, color="tab:blue" if i == 0 else "tab:orange")
        if len(values) and values.min() > 0:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(y_label)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    fig.savefig(os.path.join(out, "loss.png"), dpi=110)
    return ["fit.png", "loss.png"]
