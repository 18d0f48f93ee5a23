"""Train an MLP to output a Gaussian N(mu(x), sigma(x)^2) for every input x, end to end.

    python examples/train_mlp.py                       # the defaults: KL to the known truth
    python examples/train_mlp.py --loss nll            # learn from samples y ~ N(mu_gt, sigma_gt^2)
    python examples/train_mlp.py --csv data.csv --x age,height --y weight
    python examples/train_mlp.py --resume runs/<stamp>/checkpoint.npz --epochs 80   # 80 in all
    python examples/train_mlp.py --eval runs/<stamp>/checkpoint.npz

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
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
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

# The settings a checkpoint fixes; resuming may change only the others (epochs, out, ...).
FIXED_BY_CHECKPOINT = ("dim", "hidden", "activation", "batch_size", "lr", "momentum",
                       "optimizer", "loss", "n_train", "n_eval", "csv", "x", "y", "seed", "dtype")


class UsageError(ValueError):
    """The command line asks for something impossible; the message says what to change."""


class CheckpointError(ValueError):
    """A --resume/--eval file cannot be used."""


class TrainingDiverged(RuntimeError):
    """The loss became inf or NaN."""


# ---- command line -----------------------------------------------------------------------

def build_parser(suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """The options; with `suppress_defaults`, parsing yields only the options actually given."""
    p = argparse.ArgumentParser(
        prog="train_mlp.py",
        description="Train an MLP that outputs a Gaussian [mu, sigma] for every input.",
        epilog="Outputs go to --out: checkpoint.npz, metrics.json, graph.svg, fit.png, loss.png.")

    def option(group: Any, flag: str, default: Any, text: str, **kwargs: Any) -> None:
        if default not in (None, False) and "default" not in text:
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
    run = p.add_argument_group("run")
    option(run, "--out", None, "output folder (default runs/<timestamp>; with --resume, the "
           "checkpoint's)", metavar="DIR")
    option(run, "--save-every", 10, "also write the checkpoint every E epochs; 0: only at "
           "the end", type=int, metavar="E")
    option(run, "--no-plot", False, "skip the PNG plots", action="store_true")
    option(run, "--no-graph", False, "skip graph.svg", action="store_true")
    option(run, "--resume", None, "continue the run saved in this checkpoint", metavar="CKPT")
    option(run, "--eval", None, "only evaluate this checkpoint", metavar="CKPT")
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

    def __init__(self, start: int, total: int, n_samples: int) -> None:
        self.total, self.n_samples = total, n_samples
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
            print(f"epoch {epoch:>4}/{self.total}  loss {loss:.4f}  held-out {held_out:.4f}  "
                  f"{rate:,.0f} samples/s", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
               x: minigrad.Tensor, target: minigrad.Tensor) -> float:
    """One minibatch: forward, backward, update. Returns the loss (inf once weights blew up)."""
    # overflow on the way to divergence is detected from the loss, so numpy need not warn
    with np.errstate(over="ignore", invalid="ignore"):
        pred = model(x)
        try:
            loss = loss_fn(pred, target)
        except (ValueError, FloatingPointError):  # the loss refuses non-finite predictions
            if not looks_diverged(model, pred):
                raise
            return math.inf
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def train(model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module, data: Dataset,
          held_out: Dataset, scaling: Scaling, config: dict, progress: dict,
          on_epoch_end: Callable | None = None) -> dict:
    """Train from epoch progress["epoch"] up to config["epochs"]; returns the updated progress.

    Epoch e visits the rows in an order drawn from (seed, e) alone (its DataLoader's
    generator), so a resumed run makes the very same steps as an uninterrupted one.
    `on_epoch_end(progress)` runs after each epoch.
    """
    n = len(data)
    samples = TensorDataset(data.x, batch_target(data, slice(None), config["loss"]))
    start = progress["epoch"]
    display = Progress(start, config["epochs"], n)
    try:
        for epoch in range(start, config["epochs"]):
            began = time.perf_counter()
            batches = DataLoader(samples, batch_size=config["batch_size"], shuffle=True,
                                 generator=gd.rng_for(config["seed"], gd.STREAM_SHUFFLE, epoch))
            total = 0.0
            for x, target in batches:
                value = train_step(model, optimizer, loss_fn, x, target)
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"the loss became {value} at step {progress['step'] + 1} (epoch "
                        f"{epoch + 1}); lower --lr (now {config['lr']}) or try --optimizer adam")
                total += value * len(x)
                progress["step"] += 1
            seconds = time.perf_counter() - began
            progress["epoch"] = epoch + 1
            progress["train_time_s"] += seconds
            progress["loss_history"].append(total / n)
            progress["held_out_history"].append(held_out_figure(model, held_out, scaling, config))
            display.update(epoch + 1, total / n, progress["held_out_history"][-1], seconds)
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


def load_checkpoint(path: str) -> dict:
    """The contents of a checkpoint written by this script, or CheckpointError saying why not."""
    try:
        state = minigrad.load(path)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    missing = [k for k in ("config", "scaling", "progress", "model", "optimizer") if k not in state]
    if state.get("format") != CHECKPOINT_FORMAT or missing:
        raise CheckpointError(f"{path} is a minigrad file but not a train_mlp.py checkpoint "
                              f"(format {state.get('format')!r}, "
                              f"missing {', '.join(missing) or '-'})")
    return state


def restore(state: dict, path: str) -> tuple:
    """(config, model, optimizer, scaling) rebuilt from a checkpoint and loaded with its state."""
    config = dict(state["config"])
    try:
        minigrad.manual_seed(config["seed"])
        model = build_model(config)
        optimizer = build_optimizer(config, model)
        scaling = Scaling(**state["scaling"])
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{path}: its settings do not describe a model ({err!r})") from None
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{path}: its weights do not fit the model its settings "
                              f"describe: {err}") from None
    return config, model, optimizer, scaling


# ---- outputs ----------------------------------------------------------------------------

def default_out_dir() -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = os.path.join("runs", stamp), 1
    while os.path.exists(path):
        n += 1
        path = os.path.join("runs", f"{stamp}-{n}")
    return path


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


def report(metrics: dict, wall: float) -> str:
    parts = [f"held-out ({metrics['n_held_out']} inputs):"]
    if "kl_mean" in metrics:
        parts.append(f"mean KL(truth || model) {metrics['kl_mean']:.4f} | RMSE mu "
                     f"{metrics['rmse_mu']:.4f} | RMSE sigma {metrics['rmse_sigma']:.4f} |")
    if "nll_mean" in metrics:
        parts.append(f"NLL {metrics['nll_mean']:.4f} | RMSE of mu to y {metrics['rmse_y']:.4f}")
    return (" ".join(parts).rstrip(" |") + f"\n{metrics['steps']} steps, {metrics['epochs']} "
            f"epochs, training {metrics['train_time_s']:.1f} s, wall time {wall:.1f} s")


# ---- entry point ------------------------------------------------------------------------

def main(argv: list | None = None) -> int:
    """Run the command line `argv`; returns the exit status (0 ok, 1 diverged, 2 bad input,
    130 interrupted)."""
    wall_start = time.perf_counter()
    config, given = parse_config(argv)
    try:
        check_config(config, given)
        return run(config, given, wall_start)
    except (UsageError, CheckpointError, DataError, FileNotFoundError) as err:
        print(f"train_mlp.py: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"train_mlp.py: training diverged: {err}", file=sys.stderr)
        return 1


def run(config: dict, given: set, wall_start: float) -> int:
    source = config["resume"] or config["eval"]
    if source:
        state = load_checkpoint(source)
        saved, model, optimizer, scaling = restore(state, source)
        clash = [f"--{k.replace('_', '-')}" for k in FIXED_BY_CHECKPOINT
                 if k in given and config[k] != saved[k]]
        if clash:
            raise UsageError(f"{', '.join(clash)} differ from the checkpoint's settings, which a "
                             f"resumed or evaluated run keeps; drop them")
        # the run's own target length stands unless --epochs sets a new total
        keep = ["out", "save_every", "no_plot", "no_graph", "resume", "eval"]
        if "epochs" in given:
            keep.append("epochs")
        config = {**saved, **{k: config[k] for k in keep}}
        progress = state["progress"]
        data = prepare_data(config, scaling)
    else:
        minigrad.manual_seed(config["seed"])
        data = prepare_data(config)
        model = build_model(config)
        optimizer = build_optimizer(config, model)
        progress = new_progress()
    loss_fn = build_loss(config)
    train_data, held_out, scaling = data
    print(describe_run(config, model), flush=True)

    if config["eval"]:
        metrics = evaluate(model, held_out, scaling, config, progress)
        if config["out"]:
            written = write_outputs(config["out"], model, optimizer, loss_fn, data, config,
                                    progress, checkpoint=False)
            metrics["wall_time_s"] = round(time.perf_counter() - wall_start, 3)
            written.append(write_metrics(config["out"], metrics, config, progress))
            print(f"wrote {config['out']}: {' '.join(written)}")
        print(report(metrics, time.perf_counter() - wall_start))
        return 0

    if config["resume"] and progress["epoch"] >= config["epochs"]:
        print(f"nothing to train: the checkpoint is at epoch {progress['epoch']} and --epochs is "
              f"{config['epochs']}; pass a larger --epochs to continue")
    elif config["resume"]:
        print(f"resuming at epoch {progress['epoch']}, step {progress['step']}")
    out = config["out"] = config["out"] or (
        (os.path.dirname(config["resume"]) or ".") if config["resume"] else default_out_dir())
    os.makedirs(out, exist_ok=True)
    checkpoint = os.path.join(out, CHECKPOINT_NAME)

    def save_now_and_then(progress: dict) -> None:
        if config["save_every"] and progress["epoch"] % config["save_every"] == 0:
            save_checkpoint(checkpoint, model, optimizer, config, scaling, progress)

    try:
        progress = train(model, optimizer, loss_fn, train_data, held_out, scaling, config,
                         progress, on_epoch_end=save_now_and_then)
    except KeyboardInterrupt:
        saved = (minigrad.load(checkpoint)["progress"]["epoch"] if os.path.exists(checkpoint)
                 else None)
        hint = (f"the checkpoint at epoch {saved} is {checkpoint}; continue with --resume "
                f"{checkpoint}" if saved is not None else "no checkpoint was written yet")
        print(f"\ninterrupted: {hint}", file=sys.stderr)
        return 130
    metrics = evaluate(model, held_out, scaling, config, progress)
    written = write_outputs(out, model, optimizer, loss_fn, data, config, progress)
    metrics["wall_time_s"] = round(time.perf_counter() - wall_start, 3)
    written.append(write_metrics(out, metrics, config, progress))
    print(f"wrote {out}: {' '.join(written)}")
    print(report(metrics, metrics["wall_time_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
