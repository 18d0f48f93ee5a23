"""The PyTorch-named pieces against PyTorch itself, when it is installed (it is never
required: without torch this module is skipped). The other tests restate PyTorch's
documented formulas; these compare with its code, step by step."""
import itertools
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn.utils import clip_grad_norm_

torch = pytest.importorskip("torch")

P0 = np.array([1.0, -0.5, 2.0])


def grad_at(p, t):
    return 0.5 * p + np.array([3.0, -2.0, 1.0]) * np.cos(1.3 * t)


def max_difference(mg_cls, torch_cls, steps=20, **options):
    mp = mg.Tensor(P0.copy(), requires_grad=True)
    tp = torch.tensor(P0.copy(), dtype=torch.float64, requires_grad=True)
    mo, to = mg_cls([mp], **options), torch_cls([tp], **options)
    worst = 0.0
    for t in range(1, steps + 1):
        mp.grad = grad_at(mp.data, t)
        tp.grad = torch.tensor(grad_at(tp.detach().numpy(), t))
        mo.step()
        to.step()
        worst = max(worst, np.abs(mp.data - tp.detach().numpy()).max())
    return worst


@pytest.mark.parametrize("options", [{}, {"lr": 0.1, "weight_decay": 0.3},
                                     {"lr": 0.05, "amsgrad": True, "betas": (0.5, 0.9)},
                                     {"lr": 0.05, "maximize": True, "weight_decay": 0.1}])
def test_adamw_matches_torch(options):
    assert max_difference(optim.AdamW, torch.optim.AdamW, **options) < 1e-12


@pytest.mark.parametrize("momentum, centered, weight_decay, maximize",
                         itertools.product((0.0, 0.9), (False, True), (0.0, 0.2), (False, True)))
def test_rmsprop_matches_torch(momentum, centered, weight_decay, maximize):
    assert max_difference(optim.RMSprop, torch.optim.RMSprop, lr=0.01, momentum=momentum,
                          centered=centered, weight_decay=weight_decay, maximize=maximize) < 1e-12


def two_groups(make_param, cls):
    return cls([{"params": [make_param()], "lr": 0.1}, {"params": [make_param()], "lr": 0.03}],
               lr=0.1)


PLATEAU = [5, 4, 4, 3.9999, 4.1, 4.2, 3, 3, 3, 3, 3, 2.5, 2.5, 2.5, 2.5, 2.5]
SCHEDULES = {
    "StepLR": ("StepLR", (7, 0.5), {}),
    "MultiStepLR": ("MultiStepLR", ([3, 10, 10, 25], 0.3), {}),
    "ExponentialLR": ("ExponentialLR", (0.93,), {}),
    "CosineAnnealingLR": ("CosineAnnealingLR", (10, 0.001), {}),
    "ReduceLROnPlateau": ("ReduceLROnPlateau", (), {"patience": 0, "cooldown": 2}),
    "ReduceLROnPlateau-max-abs": ("ReduceLROnPlateau", (),
                                  {"mode": "max", "patience": 1, "threshold_mode": "abs",
                                   "threshold": 0.01, "min_lr": 0.004}),
}


@pytest.mark.parametrize("case", list(SCHEDULES) + ["LambdaLR"])
def test_schedules_match_torch_for_40_epochs(case):
    mo = two_groups(lambda: mg.Tensor([1.0], requires_grad=True), optim.SGD)
    to = two_groups(lambda: torch.tensor([1.0], requires_grad=True), torch.optim.SGD)
    if case == "LambdaLR":
        ms = optim.lr_scheduler.LambdaLR(mo, lambda e: 1 / (1 + e))
        ts = torch.optim.lr_scheduler.LambdaLR(to, lambda e: 1 / (1 + e))
    else:
        name, args, kwargs = SCHEDULES[case]
        ms = getattr(optim.lr_scheduler, name)(mo, *args, **kwargs)
        ts = getattr(torch.optim.lr_scheduler, name)(to, *args, **kwargs)
    sign = -1 if SCHEDULES.get(case, ("", (), {}))[2].get("mode") == "max" else 1
    for epoch in range(40):
        mo.step()
        to.step()
        if "Plateau" in case:
            ms.step(sign * PLATEAU[epoch % 16])
            ts.step(sign * PLATEAU[epoch % 16])
        else:
            ms.step()
            ts.step()
        assert ms.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in mo.param_groups] == pytest.approx(
            [g["lr"] for g in to.param_groups], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, "inf"])
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5)]
    mps = [mg.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for mp, tp, g in zip(mps, tps, grads):
        mp.grad, tp.grad = g.copy(), torch.tensor(g)
    q = math.inf if norm_type == "inf" else norm_type
    ours = clip_grad_norm_(mps, 1.0, norm_type=norm_type).item()
    theirs = torch.nn.utils.clip_grad_norm_(tps, 1.0, norm_type=q).item()
    assert ours == pytest.approx(theirs, rel=1e-12)
    for mp, tp in zip(mps, tps):
        np.testing.assert_allclose(mp.grad, tp.grad.numpy(), rtol=1e-12)


def test_a_linear_state_dict_moves_from_torch_without_transposes():
    layer = torch.nn.Linear(4, 3).double()
    ours = nn.Linear(4, 3)
    ours.load_state_dict({k: v.detach().numpy() for k, v in layer.state_dict().items()})
    x = np.random.default_rng(1).normal(size=(5, 4))
    np.testing.assert_allclose(ours(mg.Tensor(x)).data, layer(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (20, False)])
def test_unshuffled_batches_match_torch(batch_size, drop_last):
    x, y = np.arange(22.0).reshape(11, 2), np.arange(11)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
        batch_size=batch_size, drop_last=drop_last)
    ours = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    for (mx, my), (tx, ty) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mx.data, tx.numpy())
        np.testing.assert_array_equal(my.data, ty.numpy())
        assert my.dtype == ty.numpy().dtype
