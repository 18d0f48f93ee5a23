"""The UCI regression benchmark's data side: loading, splitting, standardising and scoring.

Used by examples/uci.py and importable on its own (the tests do). Nothing here trains a
network; everything is NumPy.

    data = load("yacht")                                  # Data(x (308, 6), y (308,))
    for train, test in splits(len(data.y), n=20, seed=0): # 90/10, disjoint, seeded
        scaler = Scaler.fit(data.x[train], data.y[train]) # the training part only
        ...
    scores = gaussian_scores(y_test, mu, sigma)           # in the target's original units

The files live in datasets/uci/ at the top of the repository, gzip-compressed text (one row
per example, whitespace-separated numbers); datasets/uci/README.md gives their sources and
licence (CC BY 4.0).
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets", "uci")


@dataclass(frozen=True)
class Spec:
    """One data set: its file, expected shape, input columns, target column and protocol."""

    name: str
    file: str
    rows: int
    columns: int
    features: tuple[int, ...]
    target: int
    splits: int = 20
    hidden: int = 50
    epochs: int = 40


# The seven sets of Hernandez-Lobato & Adams (2015); protein uses 5 splits, 100 units and
# 20 epochs, as in the re-runs of Lakshminarayanan et al. (2017).
SPECS = {s.name: s for s in (
    Spec("yacht", "yacht.txt.gz", 308, 7, tuple(range(6)), 6),
    Spec("energy", "energy.txt.gz", 768, 9, tuple(range(8)), 8),
    Spec("concrete", "concrete.txt.gz", 1030, 9, tuple(range(8)), 8),
    Spec("wine-quality-red", "wine-quality-red.txt.gz", 1599, 12, tuple(range(11)), 11),
    Spec("power-plant", "power-plant.txt.gz", 9568, 5, tuple(range(4)), 4),
    Spec("naval-propulsion-plant", "naval-propulsion-plant.txt.gz", 11934, 18,
         tuple(range(16)), 16),
    Spec("protein-tertiary-structure", "protein-tertiary-structure.txt.gz", 45730, 10,
         tuple(range(9)), 9, splits=5, hidden=100, epochs=20),
)}


class DataFileError(ValueError):
    """A data file is missing, corrupt or truncated; the message names the file and line."""


@dataclass
class Data:
    """Inputs x (n, d) and target y (n,) of one data set, as float64."""

    name: str
    x: np.ndarray
    y: np.ndarray


def parse_rows(lines: Iterator[str], path: str, columns: int) -> np.ndarray:
    """Whitespace-separated numbers, `columns` per line, all finite, into an (n, columns) array.

    Blank lines are skipped; anything else that is not `columns` finite numbers raises
    DataFileError naming `path` and the 1-based line number.
    """
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != columns:
            raise DataFileError(f"{path}, line {number}: {len(fields)} numbers, expected "
                                f"{columns}; the file is corrupt or truncated, copy it again "
                                f"from /work/shared/datasets/uci/")
        try:
            values = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise DataFileError(f"{path}, line {number}: {bad!r} is not a number") from None
        if not all(math.isfinite(v) for v in values):
            raise DataFileError(f"{path}, line {number}: a value is inf or NaN; every value "
                                f"of the benchmark is finite")
        rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(-1, columns)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load(name: str, data_dir: str | None = None) -> Data:
    """Read data set `name` (a key of SPECS), check its shape, split off x and y."""
    if name not in SPECS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(SPECS)}")
    spec = SPECS[name]
    path = os.path.normpath(os.path.join(data_dir or DATA_DIR, spec.file))
    if not os.path.exists(path):
        raise DataFileError(f"{path}: no such file; the benchmark files live in "
                            f"datasets/uci/ at the top of the repository")
    try:
        with gzip.open(path, "rt", encoding="ascii") as handle:
            table = parse_rows(handle, path, spec.columns)
    except (EOFError, OSError, zlib.error, UnicodeDecodeError) as exc:
        # a cut-short or damaged gzip stream: the last line read is where it stopped
        raise DataFileError(f"{path}: cannot be read to the end ({exc}); the file is corrupt "
                            f"or truncated") from None
    if len(table) != spec.rows:
        raise DataFileError(f"{path}: {len(table)} rows (ends at line {len(table)}), expected "
                            f"{spec.rows}; the file is truncated or has extra rows")
    return Data(name, table[:, list(spec.features)], table[:, spec.target].copy())


# ---- splits and standardisation ---------------------------------------------------------

def splits(n: int, n_splits: int, seed: int,
           test_fraction: float = 0.1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`n_splits` random (train, test) index pairs over n rows, test = round(0.1 n) rows.

    Each split is a fresh permutation from one generator seeded with `seed`, so the same
    seed gives the same splits; train and test are disjoint and cover all rows.
    """
    rng = np.random.default_rng(seed)
    n_test = int(round(test_fraction * n))
    for _ in range(n_splits):
        order = rng.permutation(n)
        yield np.sort(order[n_test:]), np.sort(order[:n_test])


@dataclass
class Scaler:
    """Standardisation z = (v - mean) / std, fitted on the training part only.

    A constant input column (naval has some) gets std 1, so it maps to 0 instead of NaN.
    """

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> "Scaler":
        x_std = x.std(axis=0)
        x_std[x_std == 0] = 1.0
        y_std = float(y.std())
        return cls(x.mean(axis=0), x_std, float(y.mean()), y_std if y_std > 0 else 1.0)

    def x(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_mean) / self.x_std

    def y(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_mean) / self.y_std

    def unscale(self, mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[mu, sigma] of the standardised target back to original units:
        mu * std + mean and sigma * std."""
        return mu * self.y_std + self.y_mean, sigma * self.y_std


# ---- predictions and scores -------------------------------------------------------------

def mixture(mus: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian matching an equal-weight mixture of M Gaussians (arrays (M, n)):
    mean = avg mu_m, variance = avg (sigma_m^2 + mu_m^2) - mean^2."""
    mean = mus.mean(axis=0)
    var = (sigmas ** 2 + mus ** 2).mean(axis=0) - mean ** 2
    # the difference can dip a rounding error below sigma's floor; it is a sum of squares
    return mean, np.sqrt(np.maximum(var, (sigmas ** 2).min(axis=0)))


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2, elementwise (no SciPy)."""
    erf = np.frompyfunc(math.erf, 1, 1)
    return 0.5 * (1.0 + erf(np.asarray(z, dtype=np.float64) / math.sqrt(2.0)).astype(np.float64))


# z of the central 50%, 90% and 95% intervals: Phi^-1(0.75), Phi^-1(0.95), Phi^-1(0.975)
CENTRAL_Z = {50: 0.6744897501960817, 90: 1.6448536269514722, 95: 1.959963984540054}


def gaussian_scores(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> dict:
    """Test scores of predictions N(mu, sigma^2) for targets y, all in the same units:

    nll = mean of log sigma + (y - mu)^2 / (2 sigma^2) + log(2 pi)/2 (per point, with the
    constant, as the papers report it); rmse = sqrt(mean (y - mu)^2); coverage_P = share of
    y inside mu +- z_P sigma; mean_sigma = mean of sigma (sharpness).
    Scores in original units come from original-unit mu and sigma, which is where the
    log of the target's scale enters the NLL: log(s sigma_z) = log s + log sigma_z.
    """
    r = (y - mu) / sigma
    nll = np.log(sigma) + 0.5 * r ** 2 + 0.5 * math.log(2 * math.pi)
    scores = {"nll": float(nll.mean()), "rmse": float(np.sqrt(np.mean((y - mu) ** 2)))}
    for level, z in CENTRAL_Z.items():
        scores[f"coverage_{level}"] = float(np.mean(np.abs(r) <= z))
    scores["mean_sigma"] = float(sigma.mean())
    return scores


def pit(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Probability integral transform Phi((y - mu) / sigma): uniform on [0, 1] when calibrated."""
    return normal_cdf((y - mu) / sigma)


def reliability(pit_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Observed share of targets below the predicted p-quantile, for each level p
    (= share of PIT values <= p); the diagonal is perfect calibration."""
    return np.array([np.mean(pit_values <= p) for p in levels])


def mean_and_se(values: list[float]) -> tuple[float, float | None]:
    """Mean over splits and its standard error std(ddof=1) / sqrt(n); no error for n = 1."""
    a = np.asarray(values, dtype=np.float64)
    if len(a) < 2:
        return float(a.mean()), None
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


# ---- pseudo-targets for the KL loss -----------------------------------------------------

def knn_targets(x: np.ndarray, y: np.ndarray, k: int, floor: float = 1e-3,
                chunk: int = 2048) -> np.ndarray:
    """Per-row Gaussian targets [mean, std] of y over the k nearest rows of x (Euclidean;
    the row itself included), as an (n, 2) array.

    std is the population standard deviation of the k neighbours' targets, raised to at
    least `floor` (the KL to a zero-width target is infinite). Distances are computed in
    chunks of rows so that memory stays O(chunk * n).
    """
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"knn_targets: k must be in 1..{n} (the training rows), got {k}")
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty((n, 2))
    for start in range(0, n, chunk):
        block = x[start:start + chunk]
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2; |a|^2 is the same along a row, so it is left out
        d = sq[None, :] - 2.0 * block @ x.T
        # the row itself must be among its neighbours even when duplicates tie with it
        d[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        near = np.argpartition(d, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n),
                                                                              (len(block), 1))
        values = y[near]
        out[start:start + chunk, 0] = values.mean(axis=1)
        out[start:start + chunk, 1] = np.maximum(values.std(axis=1), floor)
    return out
