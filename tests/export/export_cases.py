"""Models for the export tests, each trained a few steps so no weight is at its initial value."""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn, optim

DTYPES = ["float64", "float32"]
TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


def _models(dt: str) -> dict:
    """name -> (model, input shape after the batch axis)."""
    return {
        "readme": (nn.Sequential(nn.MLP([1, 16, 16], dtype=dt), nn.GaussianHead(16, dtype=dt)),
                   (1,)),
        "relu_head": (nn.Sequential(nn.MLP([3, 8, 8], "relu", dtype=dt),
                                    nn.GaussianHead(8, min_sigma=0.01, dtype=dt)), (3,)),
        "sigmoid_head": (nn.Sequential(nn.MLP([3, 8], "sigmoid", dtype=dt),
                                       nn.GaussianHead(8, dtype=dt)), (3,)),
        "softplus_head": (nn.Sequential(nn.MLP([3, 8], "softplus", dtype=dt),
                                        nn.GaussianHead(8, dtype=dt)), (3,)),
        "head_alone": (nn.GaussianHead(4, dtype=dt), (4,)),
        "mlp_linear_last": (nn.MLP([2, 8, 3], activate_last=False, dtype=dt), (2,)),
        "dense_no_bias": (nn.Dense(3, 2, bias=False, dtype=dt), (3,)),
        "modules_by_hand": (nn.Sequential(nn.Dense(2, 6, dtype=dt), nn.Tanh(), nn.Dense(6, 6, dtype=dt),
                                          nn.ReLU(), nn.Dense(6, 4, dtype=dt), nn.Sigmoid(),
                                          nn.Dense(4, 3, dtype=dt), nn.Softplus()), (2,)),
        "three_axes": (nn.Sequential(nn.MLP([3, 5], dtype=dt), nn.GaussianHead(5, dtype=dt)),
                       (4, 3)),
        "mixture": (nn.Sequential(nn.MLP([3, 8, 8], dtype=dt),
                                  nn.GaussianMixtureHead(8, 3, min_sigma=0.01, dtype=dt)), (3,)),
        "mixture_one_component_three_axes": (
            nn.Sequential(nn.MLP([2, 6], "relu", dtype=dt), nn.GaussianMixtureHead(6, 1, dtype=dt)),
            (4, 2)),
        "multivariate": (nn.Sequential(nn.MLP([3, 8, 8], dtype=dt),
                                       nn.MultivariateGaussianHead(8, 3, min_sigma=0.01, dtype=dt)),
                         (3,)),
        "multivariate_d1_alone": (nn.MultivariateGaussianHead(4, 1, dtype=dt), (4,)),
        "multivariate_three_axes": (
            nn.Sequential(nn.MLP([2, 5], "sigmoid", dtype=dt),
                          nn.MultivariateGaussianHead(5, 2, min_sigma=0.1, dtype=dt)), (3, 2)),
    }


NAMES = list(_models("float64"))


def inputs(shape: tuple, batch: int, dtype: str, seed: int = 1) -> np.ndarray:
    """Inputs spread wide (std 3), so tanh saturates and softplus sees large |x| too."""
    return (np.random.default_rng(seed).normal(size=(batch, *shape)) * 3).astype(dtype)


def trained_model(name: str, dtype: str, steps: int = 5) -> tuple:
    """(model, input shape): model `name` in `dtype` after `steps` SGD steps on random data,
    each head with its own loss (KL, mixture NLL, multivariate NLL), the rest with MSE."""
    mg.manual_seed(0)
    model, shape = _models(dtype)[name]
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt = optim.SGD(model.parameters(), lr=0.01)
    x = mg.Tensor(inputs(shape, 16, dtype, seed=2) / 3)
    rng = np.random.default_rng(3)
    for _ in range(steps):
        loss = _loss(model, model(x), rng, dtype)
        opt.zero_grad()
        loss.backward()
        opt.step()
    moved = [k for k, v in model.state_dict().items() if not np.array_equal(v, before[k])]
    assert moved == list(before), f"{name}: training left {set(before) - set(moved)} unchanged"
    assert all(np.isfinite(p.data).all() for p in model.parameters()), f"{name} diverged"
    return model, shape


def _loss(model, pred, rng, dtype: str):
    """A loss fitting the model's output, on random targets."""
    def target(shape):
        return mg.Tensor(rng.normal(size=shape).astype(dtype))

    head = last_module(model)
    if isinstance(head, nn.GaussianHead):
        batch = pred.shape[:-1]
        return nn.GaussianKLLoss()(pred, mg.Tensor(np.stack(
            [rng.normal(size=batch), rng.uniform(0.5, 2.0, size=batch)], axis=-1).astype(dtype)))
    if isinstance(head, nn.GaussianMixtureHead):
        return nn.GaussianMixtureNLLLoss()(pred, target(pred.shape[:-2]))
    if isinstance(head, nn.MultivariateGaussianHead):
        mu, L = pred
        return nn.MultivariateGaussianNLLLoss()(mu, L, target(mu.shape))
    return nn.MSELoss()(pred, target(pred.shape))


def minigrad_outputs(model, x: np.ndarray) -> dict:
    """minigrad's outputs under the ONNX output names (the layouts of docs/exporting.md)."""
    with mg.no_grad():
        y = model(mg.Tensor(x))
    head = last_module(model)
    if isinstance(head, nn.MultivariateGaussianHead):
        return {"mu": y[0].data, "L": y[1].data}
    if isinstance(head, nn.GaussianMixtureHead):
        return {"logits": y.data[..., 0], "mu": y.data[..., 1], "sigma": y.data[..., 2]}
    if isinstance(head, nn.GaussianHead):
        return {"mu": y.data[..., 0], "sigma": y.data[..., 1]}
    return {"output": y.data}


def last_module(model):
    """The module that produces the model's output (the last of a Sequential)."""
    return model[-1] if isinstance(model, nn.Sequential) else model
