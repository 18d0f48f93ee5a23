"""Wall time of one UCI data set's full protocol: minigrad against PyTorch eager.

The work is examples/uci.py's on power-plant by default: 20 splits x 5 networks, each
Dense(4, 50) -> ReLU -> Dense(50, 2) with sigma = softplus + 1e-6, Gaussian NLL, Adam
(lr 0.01), batches of 100, 40 epochs, then a test prediction. PyTorch (CPU, eager, float64
like minigrad, one thread per process as minigrad's NumPy gets on a busy machine) repeats
exactly the same splits, batch orders and step count with its own initial weights; its
part runs only when torch is importable. Times are of training and prediction only (data
loading and scoring excluded, the same for both), the two taking turns network by network;
the ratio is PyTorch's time over minigrad's, so above 1 means minigrad is faster.

    python benchmarks/uci_time.py [--dataset power-plant] [--splits 20] [--ensemble 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, "examples"))

import uci  # noqa: E402
import uci_data as ud  # noqa: E402


def protocol(data: ud.Data, n_splits: int, members: int, runners: dict) -> dict:
    """Seconds each runner spends in `train_and_predict(x, y, x_test, hidden, epochs, seed)`
    over the protocol's splits and members.

    The runners take turns network by network, so a change in the machine's load (other
    processes share its cores) falls on all of them alike rather than on whichever ran last.
    """
    spec = ud.SPECS[data.name]
    spent = dict.fromkeys(runners, 0.0)
    for index, (train, test) in enumerate(ud.splits(len(data.y), n_splits, seed=0)):
        scaler = ud.Scaler.fit(data.x[train], data.y[train])
        x, y, x_test = scaler.x(data.x[train]), scaler.y(data.y[train]), scaler.x(data.x[test])
        if index == 0:  # untimed warm-up: PyTorch's first call sets itself up for ~2 s
            for train_and_predict in runners.values():
                train_and_predict(x, y, x_test, spec.hidden, 1, 0)
        for member in range(members):
            for name, train_and_predict in runners.items():
                start = time.perf_counter()
                train_and_predict(x, y, x_test, spec.hidden, spec.epochs, index * 1_009 + member)
                spent[name] += time.perf_counter() - start
    return spent


def minigrad_run(lr: float):
    def train_and_predict(x, y, x_test, hidden, epochs, seed):
        model = uci.train_network(x, y, hidden, epochs, seed, lr=lr)
        return uci.predict(model, x_test)
    return train_and_predict


def torch_run(torch, lr: float):
    def train_and_predict(x, y, x_test, hidden, epochs, seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, 2)).double()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        xs, ys = torch.from_numpy(x), torch.from_numpy(y)
        order_rng = np.random.default_rng([seed, 1])
        for _ in range(epochs):
            order = torch.from_numpy(order_rng.permutation(len(x)))
            for start in range(0, len(x), uci.BATCH_SIZE):
                rows = order[start:start + uci.BATCH_SIZE]
                optimizer.zero_grad()
                out = model(xs[rows])
                mu, sigma = out[:, 0], torch.nn.functional.softplus(out[:, 1]) + 1e-6
                # GaussianNLLLoss takes the variance; the same loss as minigrad's in sigma
                loss = torch.nn.functional.gaussian_nll_loss(mu, ys[rows], sigma ** 2)
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            out = model(torch.from_numpy(x_test))
        return out[:, 0].numpy(), (torch.nn.functional.softplus(out[:, 1]) + 1e-6).numpy()
    return train_and_predict


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(prog="uci_time.py", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="power-plant", choices=list(ud.SPECS))
    p.add_argument("--splits", type=int, default=20)
    p.add_argument("--ensemble", type=int, default=5)
    args = p.parse_args(argv)
    data = ud.load(args.dataset)
    lr = uci.LEARNING_RATES.get(args.dataset, uci.LEARNING_RATE)
    networks = args.splits * args.ensemble
    print(f"{args.dataset}: {args.splits} splits x {args.ensemble} networks, "
          f"{ud.SPECS[args.dataset].epochs} epochs, batch {uci.BATCH_SIZE}")
    runners = {"minigrad": minigrad_run(lr)}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        runners["PyTorch eager"] = torch_run(torch, lr)
    spent = protocol(data, args.splits, args.ensemble, runners)
    for name, seconds in spent.items():
        print(f"{name:14s} {seconds:8.1f} s  ({seconds / networks:.2f} s per network)")
    if torch is None:
        print("PyTorch is not installed: no comparison (pip install torch to add it)")
        return 0
    print(f"torch {torch.__version__}; ratio PyTorch / minigrad = "
          f"{spent['PyTorch eager'] / spent['minigrad']:.2f} (above 1: minigrad is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
