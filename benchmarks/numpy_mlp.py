"""The reference for benchmarks/mlp_step.py: one training step of the train_mlp model,
forward and backward derived by hand and written directly in NumPy.

Model: Dense(D,H) - tanh - Dense(H,H) - tanh - Dense(H,2), then mu = out[:, 0] and
sigma = softplus(out[:, 1]) + min_sigma; loss = mean over rows of KL(N(mu_gt, s_gt) || N(mu, sigma));
update: SGD with momentum (PyTorch's rule: b = g on the first step, then b = m b + g; p -= lr b).
tests/benchmarks/test_numpy_mlp.py proves its gradients equal minigrad's.
"""
from __future__ import annotations

import numpy as np


class NumpyMLPStep:
    """Weights W1, b1, W2, b2, W3, b3 (weight layout (in, out), as minigrad's Dense)."""

    def __init__(self, weights: list[np.ndarray], lr: float = 0.01, momentum: float = 0.9,
                 min_sigma: float = 1e-6) -> None:
        self.params = [w.copy() for w in weights]
        self.buffers: list[np.ndarray | None] = [None] * len(self.params)
        self.lr, self.momentum, self.min_sigma = lr, momentum, min_sigma

    def loss_and_grads(self, x: np.ndarray, target: np.ndarray) -> tuple[float, list[np.ndarray]]:
        W1, b1, W2, b2, W3, b3 = self.params
        a1 = np.tanh(x @ W1 + b1)
        a2 = np.tanh(a1 @ W2 + b2)
        out = a2 @ W3 + b3
        mu, raw = out[:, 0], out[:, 1]
        sigma = np.logaddexp(raw, 0) + self.min_sigma
        mu_gt, sigma_gt = target[:, 0], target[:, 1]
        n = len(x)
        spread = sigma_gt * sigma_gt + (mu_gt - mu) ** 2
        inv_var = 1.0 / (sigma * sigma)
        loss = np.mean(-0.5 + np.log(sigma) - np.log(sigma_gt) + 0.5 * spread * inv_var)
        # dKL/dmu = (mu - mu_gt)/sigma^2; dKL/dsigma = 1/sigma - spread/sigma^3; mean -> 1/n
        grad_out = np.empty_like(out)
        grad_out[:, 0] = (mu - mu_gt) * inv_var / n
        d_sigma = (1.0 / sigma - spread * inv_var / sigma) / n
        grad_out[:, 1] = d_sigma * (0.5 + 0.5 * np.tanh(0.5 * raw))  # softplus' = sigmoid
        gW3, gb3 = a2.T @ grad_out, grad_out.sum(axis=0)
        g2 = (grad_out @ W3.T) * (1 - a2 * a2)
        gW2, gb2 = a1.T @ g2, g2.sum(axis=0)
        g1 = (g2 @ W2.T) * (1 - a1 * a1)
        gW1, gb1 = x.T @ g1, g1.sum(axis=0)
        return float(loss), [gW1, gb1, gW2, gb2, gW3, gb3]

    def step(self, x: np.ndarray, target: np.ndarray) -> float:
        loss, grads = self.loss_and_grads(x, target)
        for i, (p, g) in enumerate(zip(self.params, grads)):
            buf = self.buffers[i]
            if buf is None:
                buf = self.buffers[i] = g.copy()
            else:
                buf *= self.momentum
                buf += g
            p -= self.lr * buf
        return loss
