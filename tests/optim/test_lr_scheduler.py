"""The learning-rate schedulers against the formulas documented for
torch.optim.lr_scheduler, restated by hand over many epochs."""

import math
import pickle

import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler as S


def make_optimizer(lrs=(0.1,)):
    groups = [{"params": [mg.Tensor([1.0], requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0], momentum=0.9)


def rates(scheduler, epochs):
    """The rates in force during epochs 0 .. epochs-1 (set before the epoch trains)."""
    seen = []
    for _ in range(epochs):
        seen.append([g["lr"] for g in scheduler.optimizer.param_groups])
        assert scheduler.get_last_lr() == seen[-1]
        scheduler.optimizer.step()
        scheduler.step()
    return seen


def test_step_lr_is_base_times_gamma_to_the_number_of_whole_periods():
    sched = S.StepLR(make_optimizer((0.1, 0.02)), step_size=3, gamma=0.5)
    assert sched.last_epoch == 0
    for epoch, lrs in enumerate(rates(sched, 13)):
        assert lrs == pytest.approx([b * 0.5 ** (epoch // 3) for b in (0.1, 0.02)], rel=1e-12)
    assert sched.last_epoch == 13


def test_multistep_lr_counts_the_milestones_passed_and_repeats():
    sched = S.MultiStepLR(make_optimizer(), milestones=[2, 5, 5, 9], gamma=0.1)
    for epoch, (lr,) in enumerate(rates(sched, 12)):
        passed = sum(m <= epoch for m in [2, 5, 5, 9])
        assert lr == pytest.approx(0.1 * 0.1 ** passed, rel=1e-12)


def test_exponential_lr_is_base_times_gamma_to_the_epoch():
    sched = S.ExponentialLR(make_optimizer((0.1, 1.0)), gamma=0.9)
    for epoch, lrs in enumerate(rates(sched, 20)):
        assert lrs == pytest.approx([0.1 * 0.9 ** epoch, 0.9 ** epoch], rel=1e-12)


@pytest.mark.parametrize("T_max, eta_min", [(5, 0.0), (4, 0.01), (1, 0.0)])
def test_cosine_annealing_follows_the_closed_form_including_past_t_max(T_max, eta_min):
    base = 0.1
    sched = S.CosineAnnealingLR(make_optimizer((base,)), T_max=T_max, eta_min=eta_min)
    for epoch, (lr,) in enumerate(rates(sched, 4 * T_max + 3)):
        closed = eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
        assert lr == pytest.approx(closed, rel=1e-9, abs=1e-12), f"epoch {epoch}"


def test_cosine_annealing_is_recursive_so_an_outside_change_carries_over():
    opt = make_optimizer((0.1,))
    sched = S.CosineAnnealingLR(opt, T_max=10)
    rates(sched, 3)
    opt.param_groups[0]["lr"] *= 0.5  # e.g. a warm-up or a manual cut
    before = opt.param_groups[0]["lr"]
    sched.step()
    t = 4
    ratio = (1 + math.cos(math.pi * t / 10)) / (1 + math.cos(math.pi * (t - 1) / 10))
    assert sched.get_last_lr()[0] == pytest.approx(before * ratio, rel=1e-12)


def test_lambda_lr_is_base_times_the_function_per_group():
    sched = S.LambdaLR(make_optimizer((0.1, 0.3)),
                       lr_lambda=[lambda e: 1.0 / (1 + e), lambda e: 0.5 ** e])
    for epoch, lrs in enumerate(rates(sched, 8)):
        assert lrs == pytest.approx([0.1 / (1 + epoch), 0.3 * 0.5 ** epoch], rel=1e-12)
    with pytest.raises(ValueError, match=r"LambdaLR: got 1 lr_lambdas for 2 parameter groups"):
        S.LambdaLR(make_optimizer((0.1, 0.3)), lr_lambda=[lambda e: 1.0])


class Warmup:
    """A callable object: LambdaLR saves its attributes in the state dict."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


def test_lambda_lr_state_dict_keeps_callable_objects_not_functions():
    sched = S.LambdaLR(make_optimizer((0.1, 0.3)), lr_lambda=[Warmup(4), lambda e: 1.0])
    rates(sched, 2)
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"epochs": 4}, None]
    assert "optimizer" not in state and state["last_epoch"] == 2
    other = S.LambdaLR(make_optimizer((0.1, 0.3)), lr_lambda=[Warmup(99), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].epochs == 4 and other.last_epoch == 2
    assert "lr_lambdas" in state  # the caller's dict is not consumed


def test_state_dict_resumes_a_schedule_exactly():
    straight = rates(S.StepLR(make_optimizer(), step_size=2, gamma=0.5), 9)
    opt = make_optimizer()
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    rates(sched, 4)
    saved_opt, saved_sched = pickle.loads(pickle.dumps((opt.state_dict(), sched.state_dict())))
    opt2 = make_optimizer()
    opt2.load_state_dict(saved_opt)
    sched2 = S.StepLR(opt2, step_size=7, gamma=0.9)  # overwritten by the loaded state
    sched2.load_state_dict(saved_sched)
    assert sched2.step_size == 2 and sched2.last_epoch == 4
    assert rates(sched2, 5) == straight[4:]


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match=r"parameter group 0 has no 'initial_lr'"):
        S.StepLR(make_optimizer(), step_size=2, last_epoch=3)
    opt = make_optimizer()
    S.ExponentialLR(opt, gamma=0.5)
    opt.param_groups[0]["lr"] = 0.025  # as a checkpoint two epochs in would hold
    sched = S.ExponentialLR(opt, gamma=0.5, last_epoch=2)
    assert sched.base_lrs == [0.1] and sched.last_epoch == 3
    assert sched.get_last_lr() == [0.025]  # the constructor's step keeps the current rate


def test_schedulers_need_an_optimizer():
    with pytest.raises(TypeError, match=r"StepLR: expected an Optimizer.*got list"):
        S.StepLR([mg.Tensor([1.0], requires_grad=True)], step_size=1)
    with pytest.raises(ValueError, match=r"StepLR: step_size must be a positive integer"):
        S.StepLR(make_optimizer(), step_size=0)


def reference_plateau(metrics, lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                      threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
    """torch's documented rule: reduce after more than `patience` bad epochs; cooldown."""
    best = math.inf if mode == "min" else -math.inf
    bad = cool = 0
    out = []
    for m in metrics:
        if mode == "min":
            better = m < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
        else:
            better = m > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


METRICS = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.0, 3.0, 3.0, 3.0, 2.5, 2.5, 2.5, 2.5, 2.5]


@pytest.mark.parametrize("options", [
    {"patience": 1},
    {"patience": 0, "cooldown": 2},
    {"patience": 1, "threshold_mode": "abs", "threshold": 0.5, "factor": 0.5},
    {"patience": 0, "min_lr": 0.004, "factor": 0.5},
    {"mode": "max", "patience": 1},
    {"mode": "max", "patience": 0, "threshold_mode": "abs", "threshold": 0.01},
])
def test_reduce_on_plateau_follows_the_documented_rule(options):
    opt = make_optimizer((0.1,))
    sched = S.ReduceLROnPlateau(opt, **options)
    metrics = METRICS if options.get("mode", "min") == "min" else [-m for m in METRICS]
    got = []
    for m in metrics:
        sched.step(mg.Tensor(m))  # a one-element tensor, as a loss is
        got.append(opt.param_groups[0]["lr"])
        assert sched.get_last_lr() == [got[-1]]
    assert got == pytest.approx(reference_plateau(metrics, 0.1, **options), rel=1e-12)
    assert got[-1] < 0.1  # the schedule did reduce in every case


def test_reduce_on_plateau_options_are_checked_and_state_round_trips():
    with pytest.raises(ValueError, match=r"factor must be < 1"):
        S.ReduceLROnPlateau(make_optimizer(), factor=1.0)
    with pytest.raises(ValueError, match=r"mode must be 'min'.*got 'lowest'"):
        S.ReduceLROnPlateau(make_optimizer(), mode="lowest")
    with pytest.raises(ValueError, match=r"got 1 min_lr values for 2 parameter groups"):
        S.ReduceLROnPlateau(make_optimizer((0.1, 0.2)), min_lr=[0.0])
    sched = S.ReduceLROnPlateau(make_optimizer(), patience=3)
    for m in (3.0, 2.0, 2.5):
        sched.step(m)
    other = S.ReduceLROnPlateau(make_optimizer(), patience=3)
    other.load_state_dict(sched.state_dict())
    assert (other.best, other.num_bad_epochs, other.last_epoch) == (2.0, 1, 3)
