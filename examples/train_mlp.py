"""Train an MLP to output a Gaussian N(mu(x), sigma(x)^2) for every input x, end to end.

    python examples/train_mlp.py                       # the defaults: KL to the known truth
    python examples/train_mlp.py --loss nll            # learn from samples y ~ N(mu_gt, sigma_gt^2)
    python examples/train_mlp.py --csv data.csv --x age,height --y weight
    python examples/train_mlp.py --resume runs/<stamp>/checkpoint.npz --epochs 80   # 80 in all
    python examples/train_mlp.py --eval runs/<stamp>/checkpoint.npz
    python examples/train_mlp.py --export model.onnx   # also write the model as ONNX (needs onnx)

The task (examples/gaussian_data.py has the details): x uniform in [-3, 3]^D, and only its
first coordinate s = x[0] matters. The truth at x is N(mu_gt, sigma_gt^2) with
mu_gt = sin(s) and sigma_gt = 0.15 + 0.2 |s|: the mean waves and the spread grows with |s|.

The model is Sequential(MLP([D, 64, 64], tanh), GaussianHead(64)): two tanh layers of
features, then a head giving [mu, sigma] with sigma = softplus(.) > 0. It is trained by
plain backpropagation through minigrad's graph, on minibatches reshuffled every epoch, with
SGD + momentum (or Adam). The loss is one of:

  kl   GaussianKLLoss: KL(truth || model), the truth [mu_gt(x), sigma_gt(x)] being shown
  nll  GaussianNLLLoss: -log N(y; mu, sigma^2) on one sample y per input (truth hidden)

and a CSV table always trains with nll (its inputs and target are standardised first).
After training, held-out inputs give the mean KL(truth || model) and the RMSE of mu and of
sigma (when the truth is known), the held-out NLL (when there are samples), the steps and
the wall time. Everything goes to --out (default runs/<timestamp>): checkpoint.npz (model,
optimiser and this run's settings, via minigrad.save), metrics.json, graph.svg (the graph of
model and loss, clustered by module; needs Graphviz), fit.png and loss.png (need matplotlib).

A finished run is never overwritten: --out naming a folder that already holds a run's
files is refused unless --overwrite is given (which deletes that run's files before
writing any of its own, so the folder never mixes two runs); the default,
runs/<timestamp>, is always fresh, and --resume continues the run in its own folder. A run whose loss or held-out figure becomes
non-finite or explodes (worse than where it started by more than that figure's own size,
or 1) stops as diverged (exit 1) and writes no results; with --overwrite, the earlier
run's files are deleted only when the new run writes its first file.

Exit codes: 0 done, 1 diverged, 2 bad input (option, file or checkpoint; nothing large
is allocated before the input is checked), 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from typing import Any, Callable

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # find gaussian_data when this file is imported rather than run
    sys.path.insert(0, _HERE)

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.data import DataLoader, TensorDataset  # noqa: E402
from minigrad.nn.activations import ACTIVATIONS  # noqa: E402
from minigrad.nn.losses import GaussianKLLoss, GaussianNLLLoss  # noqa: E402

import gaussian_data as gd  # noqa: E402
from gaussian_data import Dataset, DataError, Scaling, make_dataset  # noqa: E402,F401

CHECKPOINT_FORMAT = "train_mlp"
CHECKPOINT_NAME = "checkpoint.npz"
GRAPH_BATCH = 4  # inputs in the batch drawn as graph.svg (values stay readable)
RUN_FILES = (CHECKPOINT_NAME, "metrics.json", "graph.svg", "fit.png", "loss.png")
EXIT_CODES = "exit codes: 0 done, 1 diverged, 2 bad input, 130 interrupted (Ctrl-C)"

# The settings a checkpoint fixes; resuming may change only the others (epochs, out, ...).
FIXED_BY_CHECKPOINT = ("dim", "hidden", "activation", "batch_size", "lr", "momentum",
                       "optimizer", "loss", "n_train", "n_eval", "csv", "x", "y", "seed", "dtype")


class UsageError(ValueError):
    """The command line asks for something impossible; the message says what to change."""


class CheckpointError(ValueError):
    """A --resume/--eval file cannot be used."""


class TrainingDiverged(RuntimeError):
    """The loss or the held-out figure became non-finite or exploded."""


# ---- command line -----------------------------------------------------------------------

def build_parser(suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """The options; with `suppress_defaults`, parsing yields only the options actually given."""
    p = argparse.ArgumentParser(
        prog="train_mlp.py",
        description="Train an MLP that outputs a Gaussian [mu, sigma] for every input.",
        epilog="Outputs go to --out: checkpoint.npz, metrics.json, graph.svg, fit.png, loss.png. "
               "A folder holding a finished run is never overwritten without --overwrite. "
               + EXIT_CODES + ".")

    def option(group: Any, flag: str, default: Any, text: str, **kwargs: Any) -> None:
        if default is not None and default is not False and "default" not in text:
            text += " (default %(default)s)"
        group.add_argument(flag, default=argparse.SUPPRESS if suppress_defaults else default,
                           help=text, **kwargs)

    data = p.add_argument_group("data")
    option(data, "--dim", 1, "input dimension D of the synthetic task", type=int)
    option(data, "--n-train", 4096, "training inputs", type=int)
    option(data, "--n-eval", 2000, "held-out inputs", type=int)
    option(data, "--csv", None, "train on this CSV table (header row needed) by NLL",
           metavar="FILE")
    option(data, "--x", None, "input columns of the table, comma-separated", metavar="COLS")
    option(data, "--y", None, "target column of the table", metavar="COL")
    model = p.add_argument_group("model and training")
    option(model, "--hidden", [64, 64], "hidden layer widths (default 64 64)", type=int,
           nargs="+", metavar="N")
    option(model, "--activation", "tanh", "after each hidden layer", choices=sorted(ACTIVATIONS))
    option(model, "--loss", "kl", "kl: against the true [mu, sigma]; nll: from samples",
           choices=("kl", "nll"))
    option(model, "--optimizer", "sgd", "", choices=("sgd", "adam"))
    option(model, "--epochs", 60, "total epochs, counting those before a --resume (which "
           "keeps the checkpoint's total unless this is given)", type=int)
    option(model, "--batch-size", 64, "", type=int)
    option(model, "--lr", None, "learning rate (default 0.01 for sgd, 0.003 for adam)",
           type=float)
    option(model, "--momentum", 0.9, "SGD momentum", type=float)
    option(model, "--seed", 0, "same seed, same numbers", type=int)
    option(model, "--dtype", "float64", "of parameters and data", choices=("float32", "float64"))
    option(model, "--compile", False, "capture the training step once and replay it "
           "(minigrad.compile): the same numbers with less Python per step", action="store_true")
    run = p.add_argument_group("run")
    option(run, "--out", None, "output folder (default runs/<timestamp>; with --resume, the "
           "checkpoint's)", metavar="DIR")
    option(run, "--save-every", 10, "also write the checkpoint every E epochs; 0: only at "
           "the end", type=int, metavar="E")
    option(run, "--overwrite", False, "replace the run already in --out (its files are "
           "deleted when this run writes its first file)", action="store_true")
    option(run, "--no-plot", False, "skip the PNG plots", action="store_true")
    option(run, "--no-graph", False, "skip graph.svg", action="store_true")
    option(run, "--explore", None, "also write an interactive training timeline to this HTML "
           "file (graph, values, gradients at steps 0, 1, 2, 4, ...; loss curve; needs graphviz)",
           metavar="PATH")
    option(run, "--resume", None, "continue the run saved in this checkpoint", metavar="CKPT")
    option(run, "--eval", None, "only evaluate this checkpoint", metavar="CKPT")
    option(run, "--export", None, "also write the trained (or --eval) model to this ONNX file "
           "(needs the onnx package: pip install 'minigrad-numpy[export]'); serve it with "
           "examples/serve_onnx.py", metavar="FILE")
    return p


def parse_config(argv: list | None) -> tuple:
    """(config dict, set of the option names given explicitly)."""
    config = vars(build_parser().parse_args(argv))
    given = set(vars(build_parser(suppress_defaults=True).parse_args(argv)))
    if config["lr"] is None:
        config["lr"] = 0.01 if config["optimizer"] == "sgd" else 0.003
    if config["x"] is not None:
        config["x"] = [c.strip() for c in config["x"].split(",") if c.strip()]
    return config, given


def check_config(config: dict, given: set) -> None:
    """Raise UsageError for option combinations that cannot work."""
    if config["resume"] and config["eval"]:
        raise UsageError("--resume and --eval exclude each other: resume trains, eval only "
                         "evaluates")
    if config["csv"] is not None:
        if not config["x"] or not config["y"]:
            raise UsageError("--csv needs --x COLS (input columns) and --y COL (target column)")
        if "loss" in given and config["loss"] != "nll":
            raise UsageError("--csv data has no known truth, so it trains with --loss nll; "
                             "drop --loss kl")
        if "dim" in given:
            raise UsageError("--dim is for the synthetic task; with --csv the inputs are the "
                             "--x columns")
        config["loss"], config["dim"] = "nll", len(config["x"])
    elif config["x"] or config["y"]:
        raise UsageError("--x and --y name columns of a --csv table; pass --csv FILE too")
    for name in ("dim", "n_train", "n_eval", "epochs", "batch_size"):
        if config[name] < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {config[name]}")
    if config["seed"] < 0:
        raise UsageError(f"--seed must be 0 or more, got {config['seed']}")
    if config["save_every"] < 0:
        raise UsageError(f"--save-every must be 0 (only at the end) or more, "
                         f"got {config['save_every']}")
    if min(config["hidden"]) < 1:
        raise UsageError(f"--hidden widths must be at least 1, got {config['hidden']}")
    if not (config["lr"] > 0 and math.isfinite(config["lr"])):
        raise UsageError(f"--lr must be a positive number, got {config['lr']}")
    if not 0 <= config["momentum"] < 1:
        raise UsageError(f"--momentum must be in [0, 1), got {config['momentum']}")
    if config.get("compile") and config["explore"]:
        raise UsageError("--compile and --explore exclude each other: the timeline reads each "
                         "step's graph, which a replayed step does not build")


# ---- data, model, optimiser -------------------------------------------------------------

def prepare_data(config: dict, scaling: Scaling | None = None) -> tuple:
    """(train, held_out, scaling): the synthetic task from the seed, or a split CSV table.

    The network sees scaled inputs and targets (identity for the synthetic task); `scaling`
    from a checkpoint is reused so that a resumed run sees the same numbers.
    """
    dtype = config["dtype"]
    if config["csv"] is None:
        train = make_dataset(config["n_train"], config["dim"], config["seed"], gd.STREAM_TRAIN,
                             samples=config["loss"] == "nll", dtype=dtype)
        held_out = make_dataset(config["n_eval"], config["dim"], config["seed"],
                                gd.STREAM_HELD_OUT, samples=True, dtype="float64")
        return train, held_out, scaling or Scaling.identity(config["dim"])
    table = gd.load_csv(config["csv"], config["x"], config["y"])
    train, held_out = gd.split(table, config["seed"])
    scaling = scaling or Scaling.fit(train)
    scaled = Dataset(scaling.inputs(train.x).astype(dtype), None,
                     scaling.targets(train.y).astype(dtype), train.columns)
    return scaled, held_out, scaling


def build_model(config: dict) -> nn.Module:
    """Sequential(MLP([D, *hidden], activation), GaussianHead(hidden[-1])), in config's dtype."""
    sizes = [config["dim"], *config["hidden"]]
    return nn.Sequential(nn.MLP(sizes, activation=config["activation"], dtype=config["dtype"]),
                         nn.GaussianHead(sizes[-1], dtype=config["dtype"]))


def build_optimizer(config: dict, model: nn.Module) -> optim.Optimizer:
    params = list(model.parameters())
    if config["optimizer"] == "adam":
        return optim.Adam(params, lr=config["lr"])
    return optim.SGD(params, lr=config["lr"], momentum=config["momentum"])


def build_loss(config: dict) -> nn.Module:
    # full=True adds log(2 pi)/2, so the curve shows the true NLL (the gradient is the same)
    return GaussianKLLoss() if config["loss"] == "kl" else GaussianNLLLoss(full=True)


def batch_target(data: Dataset, rows: Any, loss: str) -> np.ndarray:
    """What the loss compares the prediction with: [mu_gt, sigma_gt] for kl, samples y for nll."""
    return data.truth[rows] if loss == "kl" else data.y[rows]


def predict(model: nn.Module, x: np.ndarray, scaling: Scaling, dtype: str) -> np.ndarray:
    """The model's [mu, sigma] (N, 2) for raw inputs x, in the data's units."""
    with minigrad.no_grad():
        pred = model(minigrad.Tensor(scaling.inputs(x).astype(dtype))).data
    return scaling.outputs(pred.astype(np.float64))


# ---- training ---------------------------------------------------------------------------

class Progress:
    """Per-epoch progress: a tqdm bar on a terminal (when tqdm is installed), else plain lines."""

    def __init__(self, start: int, total: int, n_samples: int, names: tuple = ("loss", "held-out")
                 ) -> None:
        self.total, self.n_samples = total, n_samples
        self.names = names  # labels of the two figures, with their unit
        self.every = max(1, total // 10)
        self.bar = None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=start, unit="epoch", desc="training",
                                file=sys.stderr, dynamic_ncols=True)

    def update(self, epoch: int, loss: float, held_out: float, seconds: float) -> None:
        rate = self.n_samples / max(seconds, 1e-9)
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", held_out=f"{held_out:.4f}",
                                 samples_per_s=f"{rate:,.0f}", refresh=False)
            self.bar.update(1)
        elif epoch % self.every == 0 or epoch == self.total:
            print(f"epoch {epoch:>4}/{self.total}  {self.names[0]} {loss:.4f}  "
                  f"{self.names[1]} {held_out:.4f}  {rate:,.0f} samples/s", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def figure_names(config: dict, csv: bool | None = None) -> tuple:
    """Labels of the training loss and of the held-out figure, both per input in nats, in
    the data's own units (a CSV table's training loss is converted from standardised units)."""
    train = "train KL" if config["loss"] == "kl" else "train NLL"
    held = "held-out NLL" if config["csv"] is not None else "held-out KL"
    return train, held


def loss_in_data_units(value: float, config: dict, scaling: Scaling) -> float:
    """The training loss in the units of the held-out figure. The network sees y' = (y -
    mean) / std, and a density of y is the density of y' divided by std, so an NLL in table
    units is the standardised NLL + log(std); a KL is the same in any units."""
    return value + math.log(scaling.y_std) if config["loss"] == "nll" else value


def held_out_figure(model: nn.Module, held_out: Dataset, scaling: Scaling, config: dict) -> float:
    """The number followed during training: mean KL(truth || model), or NLL without truth."""
    figures = gd.score(predict(model, held_out.x, scaling, config["dtype"]), held_out)
    return figures["kl_mean"] if "kl_mean" in figures else figures["nll_mean"]


def looks_diverged(model: nn.Module, pred: minigrad.Tensor) -> bool:
    """Weights that are no longer finite, or predictions so large that squaring them
    overflows (the KL loss squares (mu_gt - mu) / sigma): the learning rate is too high."""
    if not all(np.isfinite(p.data).all() for p in model.parameters()):
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        return not np.isfinite(np.square(pred.data.astype(np.float64))).all()


def train_step(model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module,
               x: minigrad.Tensor, target: minigrad.Tensor, config: dict,
               on_loss: Callable | None = None) -> float:
    """One minibatch: forward, backward, update. Returns the loss (inf once weights blew up).
    `on_loss(loss)` sees the loss tensor before backward (the --explore timeline)."""
    # overflow on the way to divergence is detected from the loss, so numpy need not warn
    with np.errstate(over="ignore", invalid="ignore"):
        pred = model(x)
        try:
            loss = loss_fn(pred, target)
        except (ValueError, FloatingPointError) as err:
            # the targets were checked to be finite, so the predictions are what the loss
            # refuses: weights that overflow, or a sigma squeezed to its floor under a huge mu
            if looks_diverged(model, pred):
                return math.inf
            raise TrainingDiverged(f"the loss cannot be computed on the model's predictions "
                                   f"({err}); lower --lr (now {config['lr']})") from None
        if on_loss is not None:
            on_loss(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def compiled_train_step(model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module,
                        config: dict) -> Callable:
    """train_step for --compile: the step is captured once per batch shape and replayed
    (minigrad.compile); the batch comes in as tensors, as a compiled step's inputs must."""
    @minigrad.compile
    def step(x: minigrad.Tensor, target: minigrad.Tensor) -> minigrad.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        optimizer.step()
        return loss

    def train_step_compiled(model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module,
                            x: minigrad.Tensor, target: minigrad.Tensor, config: dict,
                            on_loss: Callable | None = None) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                return step(x, target).item()
            except (ValueError, FloatingPointError) as err:  # the same verdict as train_step
                with minigrad.no_grad():
                    if looks_diverged(model, model(x)):
                        return math.inf
                raise TrainingDiverged(f"the loss cannot be computed on the model's predictions "
                                       f"({err}); lower --lr (now {config['lr']})") from None
    return train_step_compiled


def train(model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module, data: Dataset,
          held_out: Dataset, scaling: Scaling, config: dict, progress: dict,
          on_epoch_end: Callable | None = None, on_loss: Callable | None = None) -> dict:
    """Train from epoch progress["epoch"] up to config["epochs"]; returns the updated progress.

    Epoch e visits the rows in an order drawn from (seed, e) alone (its DataLoader's
    generator), so a resumed run makes the very same steps as an uninterrupted one.
    `on_epoch_end(progress)` runs after each epoch; `on_loss(step, loss)` sees each step's
    loss tensor before its backward.
    """
    n = len(data)
    samples = TensorDataset(data.x, batch_target(data, slice(None), config["loss"]))
    start = progress["epoch"]
    names = figure_names(config)
    # the yardstick for "exploded": the figure of the model this run starts from
    with np.errstate(all="ignore"):
        first = held_out_figure(model, held_out, scaling, config)
    limit = first + max(abs(first), 1.0) if math.isfinite(first) else math.inf
    display = Progress(start, config["epochs"], n, names)
    step = (compiled_train_step(model, optimizer, loss_fn, config) if config.get("compile")
            else train_step)
    try:
        for epoch in range(start, config["epochs"]):
            began = time.perf_counter()
            batches = DataLoader(samples, batch_size=config["batch_size"], shuffle=True,
                                 generator=gd.rng_for(config["seed"], gd.STREAM_SHUFFLE, epoch))
            total = 0.0
            for x, target in batches:
                hook = None if on_loss is None else functools.partial(on_loss, progress["step"])
                value = step(model, optimizer, loss_fn, x, target, config, hook)
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"the loss became {value} at step {progress['step'] + 1} (epoch "
                        f"{epoch + 1}); lower --lr (now {config['lr']}) or try --optimizer adam")
                total += value * len(x)
                progress["step"] += 1
            seconds = time.perf_counter() - began
            progress["epoch"] = epoch + 1
            progress["train_time_s"] += seconds
            with np.errstate(all="ignore"):
                figure = held_out_figure(model, held_out, scaling, config)
            if not figure <= limit:  # also catches NaN
                raise TrainingDiverged(
                    f"the {names[1]} became {figure:.4g} after epoch {epoch + 1}, worse than "
                    f"{first:.4g} where this run started; lower --lr (now {config['lr']}) "
                    "or try --optimizer adam")
            progress["loss_history"].append(loss_in_data_units(total / n, config, scaling))
            progress["held_out_history"].append(figure)
            display.update(epoch + 1, progress["loss_history"][-1], figure, seconds)
            if on_epoch_end is not None:
                on_epoch_end(progress)
    finally:
        display.close()
    return progress


def evaluate(model: nn.Module, held_out: Dataset, scaling: Scaling, config: dict,
             progress: dict) -> dict:
    """The held-out figures (KL, RMSEs and/or NLL) plus the run's steps, epochs and timing."""
    figures = gd.score(predict(model, held_out.x, scaling, config["dtype"]), held_out)
    figures.update(steps=progress["step"], epochs=progress["epoch"],
                   train_time_s=round(progress["train_time_s"], 3),
                   final_train_loss=(progress["loss_history"] or [None])[-1])
    return figures


# ---- checkpoints ------------------------------------------------------------------------

def new_progress() -> dict:
    return {"epoch": 0, "step": 0, "train_time_s": 0.0, "loss_history": [], "held_out_history": []}


def save_checkpoint(path: str, model: nn.Module, optimizer: optim.Optimizer, config: dict,
                    scaling: Scaling, progress: dict) -> None:
    settings = {k: v for k, v in config.items() if k not in ("resume", "eval", "out")}
    minigrad.save({"format": CHECKPOINT_FORMAT, "config": settings, "scaling": asdict(scaling),
                   "progress": progress, "model": model.state_dict(),
                   "optimizer": optimizer.state_dict()}, path)


def load_checkpoint(path: str, option: str = "--resume") -> dict:
    """The contents of a checkpoint written by this script, checked (settings, progress,
    weights) before anything is built from it; or CheckpointError saying why not."""
    try:
        state = minigrad.load(path)
    except FileNotFoundError:
        raise CheckpointError(f"{option}: checkpoint not found: {path}") from None
    except ValueError as err:
        raise CheckpointError(f"{option}: {err}") from None
    except OSError as err:
        raise CheckpointError(f"{option} {path}: cannot be read ({err.strerror or err})") from None
    missing = [k for k in ("config", "scaling", "progress", "model", "optimizer") if k not in state]
    if state.get("format") != CHECKPOINT_FORMAT or missing:
        raise CheckpointError(f"{option}: {path} is a minigrad file but not a train_mlp.py "
                              f"checkpoint (format {state.get('format')!r}, "
                              f"missing {', '.join(missing) or '-'})")
    check_saved(state, f"{option} {path}")
    return state


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_SETTING_TYPES: dict = {
    **{k: (_is_int, "an integer") for k in ("dim", "n_train", "n_eval", "epochs", "batch_size",
                                             "seed")},
    **{k: (_is_real, "a finite number") for k in ("lr", "momentum")},
    "hidden": (lambda v: isinstance(v, list) and len(v) > 0 and all(map(_is_int, v)),
               "a list of integers"),
    "activation": (lambda v: v in ACTIVATIONS, f"one of {sorted(ACTIVATIONS)}"),
    "optimizer": (lambda v: v in ("sgd", "adam"), "sgd or adam"),
    "loss": (lambda v: v in ("kl", "nll"), "kl or nll"),
    "dtype": (lambda v: v in ("float32", "float64"), "float32 or float64"),
    "csv": (lambda v: v is None or isinstance(v, str), "a file name or None"),
    "x": (lambda v: v is None or (isinstance(v, list) and all(isinstance(c, str) for c in v)),
          "a list of column names or None"),
    "y": (lambda v: v is None or isinstance(v, str), "a column name or None"),
}


def check_saved(state: dict, where: str) -> None:
    """Raise CheckpointError unless a checkpoint's settings, scaling, progress and weights
    are usable. Runs before any model is built, so a checkpoint whose settings ask for an
    enormous model is refused by counting, not by running out of memory."""
    config = state["config"]
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: its saved settings are a {type(config).__name__}, not "
                              "a dict; the checkpoint is damaged")
    for key in (*FIXED_BY_CHECKPOINT, "epochs"):
        test, wanted = _SETTING_TYPES[key]
        if key not in config or not test(config[key]):
            got = repr(config[key])[:60] if key in config else "nothing"
            raise CheckpointError(f"{where}: its saved setting {key!r} is {got}, not {wanted}; "
                                  "the checkpoint is damaged")
    try:
        check_config({**config, "resume": None, "eval": None, "save_every": 0}, given=set())
    except UsageError as err:
        raise CheckpointError(f"{where}: its saved settings are invalid ({err}); the "
                              "checkpoint is damaged") from None

    progress = state["progress"]
    if not isinstance(progress, dict):
        raise CheckpointError(f"{where}: its saved progress is a {type(progress).__name__}, "
                              "not a dict; the checkpoint is damaged")
    for key in ("epoch", "step"):
        if not _is_int(progress.get(key)) or progress[key] < 0:
            raise CheckpointError(f"{where}: its saved progress has {key!r} = "
                                  f"{progress.get(key, 'nothing')!r}, not a count >= 0; the "
                                  "checkpoint is damaged")
    if not _is_real(progress.get("train_time_s")) or not all(
            isinstance(progress.get(k), list) and all(isinstance(v, (int, float))
                                                      for v in progress[k])
            for k in ("loss_history", "held_out_history")):
        raise CheckpointError(f"{where}: its saved progress lacks train_time_s or the loss "
                              "histories; the checkpoint is damaged")

    scaling = state["scaling"]
    fields = ("x_mean", "x_std", "y_mean", "y_std")
    if not (isinstance(scaling, dict) and set(scaling) == set(fields)
            and all(isinstance(scaling[k], list) and len(scaling[k]) == config["dim"]
                    and all(map(_is_real, scaling[k])) for k in fields[:2])
            and all(map(_is_real, (scaling["y_mean"], scaling["y_std"])))
            and scaling["y_std"] > 0 and all(v > 0 for v in scaling["x_std"])):
        raise CheckpointError(f"{where}: its saved scaling is not {fields} for "
                              f"{config['dim']} inputs; the checkpoint is damaged")

    weights = state["model"]
    if not isinstance(weights, dict) or not all(isinstance(w, np.ndarray)
                                                for w in weights.values()):
        raise CheckpointError(f"{where}: its saved model is not a dict of arrays; the "
                              "checkpoint is damaged")
    sizes = [config["dim"], *config["hidden"]]
    expected = sum(a * b + b for a, b in zip(sizes, sizes[1:])) + 2 * sizes[-1] + 2
    stored = sum(w.size for w in weights.values())
    if stored != expected:
        raise CheckpointError(f"{where}: its settings describe a model of {expected:,} "
                              f"parameters, but it stores {stored:,} weights; the checkpoint "
                              "is damaged")
    for name, w in weights.items():
        if not np.issubdtype(w.dtype, np.floating) or not np.isfinite(w).all():
            raise CheckpointError(f"{where}: its weight {name!r} holds NaN or infinite values; "
                                  "the checkpoint is corrupt (it was saved broken, or damaged "
                                  "since); use an earlier checkpoint")


def restore(state: dict, path: str, option: str = "--resume") -> tuple:
    """(config, model, optimizer, scaling) rebuilt from a checkpoint and loaded with its state."""
    config = dict(state["config"])
    try:
        minigrad.manual_seed(config["seed"])
        model = build_model(config)
        optimizer = build_optimizer(config, model)
        scaling = Scaling(**state["scaling"])
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{option} {path}: its settings do not describe a model "
                              f"({err!r})") from None
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{option} {path}: its weights do not fit the model its "
                              f"settings describe: {err}") from None
    return config, model, optimizer, scaling


# ---- outputs ----------------------------------------------------------------------------

def default_out_dir() -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = os.path.join("runs", stamp), 1
    while os.path.exists(path):
        n += 1
        path = os.path.join("runs", f"{stamp}-{n}")
    return path


def check_out(out: str, config: dict) -> list:
    """Check that `out` can take this run's files without losing a finished run; returns
    the files of an earlier run that --overwrite will replace. UsageError if not."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out}: is a file, not a folder; choose another --out")
    probe = os.path.abspath(out)
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise UsageError(f"--out {out}: {probe} is a file, so no folder can be made below it; "
                         "choose another --out")
    ours = RUN_FILES[1:] if config["eval"] else RUN_FILES  # --eval writes no checkpoint
    existing = [n for n in ours if os.path.lexists(os.path.join(out, n))]
    resuming_here = bool(config["resume"]) and os.path.isdir(out) and os.path.samefile(
        os.path.dirname(os.path.abspath(config["resume"])), out)
    if existing and not resuming_here and not config["overwrite"]:
        raise UsageError(f"--out {out}: already holds a finished run ({', '.join(existing)}); "
                         "pass --overwrite to replace it (its files are deleted first), or "
                         "choose another --out (without --out each run gets a fresh "
                         "runs/<timestamp>)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: the folder {probe} is not writable; choose another --out")
    return [] if resuming_here else existing


def make_out(out: str) -> None:
    """Create `out` and make sure a file can be written there."""
    try:
        os.makedirs(out, exist_ok=True)
        # a real write: os.access says yes to root, and no to nothing on read-only mounts
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write there ({err.strerror or err}); choose "
                         "another --out") from None


def remove_replaced(out: str, replaced: list) -> None:
    """Delete the earlier run's files (--overwrite), just before this run writes its first
    file: a run that diverges or is interrupted before then leaves them as they were."""
    while replaced:
        name = replaced.pop()
        if os.path.lexists(os.path.join(out, name)):
            os.remove(os.path.join(out, name))


def write_graph(model: nn.Module, loss_fn: nn.Module, data: Dataset, config: dict,
                path: str) -> str | None:
    """Render the forward and backward graph of the loss on a small batch; None if impossible."""
    try:
        import minigrad.viz as viz
    except ImportError:
        print("graph: skipped (the graphviz Python package is not installed: pip install graphviz)")
        return None
    rows = np.arange(min(GRAPH_BATCH, len(data)))
    pred = model(minigrad.Tensor(data.x[rows], name="x"))
    target_name = "[mu_gt, sigma_gt]" if config["loss"] == "kl" else "y"
    target = minigrad.Tensor(batch_target(data, rows, config["loss"]), name=target_name)
    loss = loss_fn(pred, target)
    try:
        return viz.render(loss, path, mode="both")
    except viz.GraphvizNotFound:
        print("graph: skipped (the Graphviz program `dot` is not installed: "
              "apt-get install graphviz)")
        return None


def write_outputs(out: str, model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module,
                  data: tuple, config: dict, progress: dict, checkpoint: bool = True) -> list:
    """Write the checkpoint, graph and plots into `out`; returns the names written."""
    train_data, held_out, scaling = data
    os.makedirs(out, exist_ok=True)
    written = []
    if checkpoint:
        save_checkpoint(os.path.join(out, CHECKPOINT_NAME), model, optimizer, config, scaling,
                        progress)
        written.append(CHECKPOINT_NAME)
    if not config["no_graph"] and write_graph(model, loss_fn, train_data, config,
                                              os.path.join(out, "graph.svg")):
        written.append("graph.svg")
    if not config["no_plot"]:
        curve = lambda x: predict(model, x, scaling, config["dtype"])  # noqa: E731
        written += gd.write_plots(out, curve, held_out, scaling.x_mean, config, progress)
    return written


def write_metrics(out: str, metrics: dict, config: dict, progress: dict) -> str:
    settings = {k: v for k, v in config.items() if k not in ("resume", "eval")}
    history = {k: progress[k] for k in ("loss_history", "held_out_history")}
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump({"held_out": metrics, "config": settings, **history}, handle, indent=2)
    return "metrics.json"


def describe_run(config: dict, model: nn.Module) -> str:
    sizes = " -> ".join(str(n) for n in [config["dim"], *config["hidden"]])
    opt = config["optimizer"]
    if opt == "sgd":
        opt += f" momentum {config['momentum']}"
    source = (f"{config['csv']} ({', '.join(config['x'])} -> {config['y']})" if config["csv"]
              else f"{config['n_train']} synthetic inputs")
    return (f"model {sizes} -> GaussianHead ({config['activation']}, {model.num_parameters()} "
            f"parameters, {config['dtype']}) | loss {config['loss']} | {opt} lr {config['lr']} | "
            f"{source}, batch {config['batch_size']} | seed {config['seed']}")


def report(metrics: dict, wall: float, evaluated_only: bool = False) -> str:
    parts = [f"held-out ({metrics['n_held_out']} inputs):"]
    if "kl_mean" in metrics:
        parts.append(f"mean KL(truth || model) {metrics['kl_mean']:.4f} | RMSE mu "
                     f"{metrics['rmse_mu']:.4f} | RMSE sigma {metrics['rmse_sigma']:.4f} |")
    if "nll_mean" in metrics:
        parts.append(f"NLL {metrics['nll_mean']:.4f} | RMSE of mu to y {metrics['rmse_y']:.4f}")
    figures = " ".join(parts).rstrip(" |")
    if evaluated_only:  # this run trained nothing: say what it evaluated and how long it took
        return (f"{figures}\nevaluated a checkpoint of {metrics['steps']} steps, "
                f"{metrics['epochs']} epochs; wall time {wall:.1f} s")
    return (f"{figures}\n{metrics['steps']} steps, {metrics['epochs']} epochs, training "
            f"{metrics['train_time_s']:.1f} s, wall time {wall:.1f} s")


# ---- entry point ------------------------------------------------------------------------

def main(argv: list | None = None) -> int:
    """Run the command line `argv`; returns the exit status (0 done, 1 diverged, 2 bad input,
    130 interrupted)."""
    wall_start = time.perf_counter()
    config, given = parse_config(argv)
    try:
        check_config(config, given)
        check_export(config)
        return run(config, given, wall_start)
    except (UsageError, CheckpointError, DataError, FileNotFoundError) as err:
        print(f"train_mlp.py: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"train_mlp.py: training diverged: {err}; nothing was written, earlier files "
              "are as they were", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def run(config: dict, given: set, wall_start: float) -> int:
    source = config["resume"] or config["eval"]
    option = "--resume" if config["resume"] else "--eval"
    if source:
        state = load_checkpoint(source, option)  # checked: nothing large is built before this
        saved = state["config"]
        clash = [f"--{k.replace('_', '-')}" for k in FIXED_BY_CHECKPOINT
                 if k in given and config[k] != saved[k]]
        if clash:
            raise UsageError(f"{', '.join(clash)} differ from the checkpoint's settings, which a "
                             f"resumed or evaluated run keeps; drop them")
        # the run's own target length stands unless --epochs sets a new total
        keep = ["out", "save_every", "no_plot", "no_graph", "overwrite", "resume", "eval",
                "export", "explore", "compile"]
        if "epochs" in given:
            keep.append("epochs")
        config = {**saved, **{k: config[k] for k in keep}}
    if not config["eval"]:
        config["out"] = config["out"] or (
            (os.path.dirname(config["resume"]) or ".") if config["resume"] else default_out_dir())
    out = config["out"]
    replaced = check_out(out, config) if out else []
    if source:
        model, optimizer, scaling = restore(state, source, option)[1:]
        progress = state["progress"]
        data = prepare_data(config, scaling)
    else:
        minigrad.manual_seed(config["seed"])
        data = prepare_data(config)
        try:
            model = build_model(config)
        except MemoryError:
            raise UsageError(f"--hidden {' '.join(map(str, config['hidden']))}: a model that "
                             "large does not fit in memory; choose smaller widths") from None
        optimizer = build_optimizer(config, model)
        progress = new_progress()
    loss_fn = build_loss(config)
    train_data, held_out, scaling = data
    if out:
        make_out(out)
    print(describe_run(config, model), flush=True)

    if config["eval"]:
        metrics = evaluate(model, held_out, scaling, config, progress)
        if out:
            remove_replaced(out, replaced)
            written = write_outputs(out, model, optimizer, loss_fn, data, config, progress,
                                    checkpoint=False)
            metrics["wall_time_s"] = round(time.perf_counter() - wall_start, 3)
            written.append(write_metrics(out, metrics, config, progress))
            print(f"wrote {out}: {' '.join(written)}")
        print(report(metrics, time.perf_counter() - wall_start, evaluated_only=True))
        return export_model(model, train_data, scaling, config)

    if config["resume"] and progress["epoch"] >= config["epochs"]:
        print(f"nothing to train: the checkpoint is at epoch {progress['epoch']} and --epochs is "
              f"{config['epochs']}; pass a larger --epochs to continue")
    elif config["resume"]:
        print(f"resuming at epoch {progress['epoch']}, step {progress['step']}")
    checkpoint = os.path.join(out, CHECKPOINT_NAME)

    def save_now_and_then(progress: dict) -> None:
        if config["save_every"] and progress["epoch"] % config["save_every"] == 0:
            remove_replaced(out, replaced)
            save_checkpoint(checkpoint, model, optimizer, config, scaling, progress)

    timeline = explore_timeline(config)
    try:
        progress = train(model, optimizer, loss_fn, train_data, held_out, scaling, config,
                         progress, on_epoch_end=save_now_and_then,
                         on_loss=timeline.step if timeline else None)
    except KeyboardInterrupt:
        saved_epoch = (minigrad.load(checkpoint)["progress"]["epoch"]
                       if os.path.exists(checkpoint) else None)
        hint = (f"the checkpoint at epoch {saved_epoch} is {checkpoint}; continue with --resume "
                f"{checkpoint}" if saved_epoch is not None else "no checkpoint was written yet")
        print(f"\ninterrupted: {hint}", file=sys.stderr)
        return 130
    metrics = evaluate(model, held_out, scaling, config, progress)
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise TrainingDiverged(f"the held-out {', '.join(bad)} are not finite")
    remove_replaced(out, replaced)
    written = write_outputs(out, model, optimizer, loss_fn, data, config, progress)
    metrics["wall_time_s"] = round(time.perf_counter() - wall_start, 3)
    written.append(write_metrics(out, metrics, config, progress))
    print(f"wrote {out}: {' '.join(written)}")
    if timeline is not None:
        print(f"wrote the training timeline ({len(timeline.snapshots)} snapshots) to "
              f"{timeline.save(config['explore'])}")
    print(report(metrics, metrics["wall_time_s"]))
    return export_model(model, train_data, scaling, config)


# ---- --export ---------------------------------------------------------------------------

def check_export(config: dict) -> None:
    """Fail before training, not after, when --export cannot be written."""
    target = config.get("export")
    if target is None:
        return
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UsageError("--export needs the onnx package: pip install 'minigrad-numpy[export]'") \
            from None
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise UsageError(f"--export {target}: the folder {folder} does not exist")


def export_model(model: nn.Module, data: Dataset, scaling: Scaling, config: dict) -> int:
    """Write --export (if given) as ONNX; the scaling rides along in the file's metadata,
    so examples/serve_onnx.py can take inputs and give [mu, sigma] in the data's units.
    Returns the exit status."""
    if config.get("export") is None:
        return 0
    from minigrad.export import ExportError, to_onnx

    metadata = {"minigrad.scaling": json.dumps(asdict(scaling)),
                "minigrad.columns": json.dumps({"x": config["x"], "y": config["y"]})}
    try:
        to_onnx(model, data.x[:1], config["export"], metadata=metadata)
    except ExportError as err:
        print(f"train_mlp.py: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {config['export']} (ONNX, outputs mu and sigma; serve it with "
          f"examples/serve_onnx.py {config['export']})")
    return 0


def explore_timeline(config: dict) -> Any:
    """A minigrad.explorer.Timeline for --explore, or None (after saying why) without graphviz."""
    if not config.get("explore"):
        return None
    try:
        from minigrad.explorer import Timeline
    except ImportError:
        print("explore: skipped (the graphviz Python package is not installed: pip install "
              "graphviz)")
        return None
    if shutil.which("dot") is None:
        print("explore: skipped (the Graphviz program `dot` is not installed: apt-get install "
              "graphviz)")
        return None
    folder = os.path.dirname(os.path.abspath(config["explore"]))
    if not os.path.isdir(folder):
        raise UsageError(f"--explore {config['explore']}: the folder {folder} does not exist")
    return Timeline(title=f"train_mlp.py: loss {config['loss']}, hidden {config['hidden']}, "
                          f"{config['optimizer']} lr {config['lr']}")


if __name__ == "__main__":
    sys.exit(main())
