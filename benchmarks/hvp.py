"""A Hessian-vector product against two first-order passes, on the train_mlp model's loss
with respect to all its parameters: hvp = one forward + first backward (recorded with
create_graph) + a second backward through it. Interleaved blocks, medians.

    python benchmarks/hvp.py [--blocks 7]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minigrad as mg
from minigrad import nn


def setup(B: int, H: int) -> tuple:
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, H, H]), nn.GaussianHead(H))
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.normal(size=(B, 1)))
    target = mg.Tensor(np.stack([rng.normal(size=B), rng.uniform(0.5, 2, size=B)], -1))
    params = list(model.parameters())
    v = [mg.Tensor(rng.normal(size=p.shape)) for p in params]
    return model, x, target, params, v


def first_order(model, x, target, params, v) -> None:
    loss = nn.GaussianKLLoss()(model(x), target)
    mg.grad(loss, params)


def hvp(model, x, target, params, v) -> None:
    loss = nn.GaussianKLLoss()(model(x), target)
    grads = mg.grad(loss, params, create_graph=True)
    dot = sum(((g * u).sum() for g, u in zip(grads[1:], v[1:])), (grads[0] * v[0]).sum())
    mg.grad(dot, params)


def timed(fn, args, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return (time.perf_counter() - start) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=7)
    args = parser.parse_args()
    print("B, H        first order    hvp     hvp / (2 x first order)")
    for B, H in [(16, 16), (64, 32), (256, 128)]:
        problem = setup(B, H)
        number = max(5, int(2000 / H))
        firsts, hvps = [], []
        for block in range(args.blocks):
            pair = [(firsts, first_order), (hvps, hvp)]
            for store, fn in (pair if block % 2 == 0 else pair[::-1]):
                store.append(timed(fn, problem, number))
        f, h = statistics.median(firsts), statistics.median(hvps)
        print(f"{B:4d}, {H:4d}   {f * 1e6:9.0f}us {h * 1e6:8.0f}us   {h / (2 * f):6.2f}")


if __name__ == "__main__":
    main()
