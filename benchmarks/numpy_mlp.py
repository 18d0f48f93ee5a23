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


class OptimisedNumpyMLPStep:
    """The same step as NumpyMLPStep written for speed, as a careful NumPy programmer would:
    every array allocated once for a batch size (`out=` everywhere), and the six parameters,
    their gradients and their momentum buffers each views into ONE flat buffer, so that the
    SGD update is three ufunc calls whatever the number of layers."""

    def __init__(self, weights: list[np.ndarray], batch: int, lr: float = 0.01,
                 momentum: float = 0.9, min_sigma: float = 1e-6) -> None:
        dtype = weights[0].dtype
        sizes = [w.size for w in weights]
        self.flat = np.concatenate([w.ravel() for w in weights])
        self.flat_grad = np.zeros_like(self.flat)
        self.flat_buf = np.zeros_like(self.flat)
        self.flat_tmp = np.zeros_like(self.flat)
        ends = np.cumsum(sizes)
        self.params = [self.flat[e - n:e].reshape(w.shape) for e, n, w in zip(ends, sizes, weights)]
        self.grads = [self.flat_grad[e - n:e].reshape(w.shape)
                      for e, n, w in zip(ends, sizes, weights)]
        self.first = True
        self.lr, self.momentum, self.min_sigma = lr, momentum, min_sigma
        H = weights[0].shape[1]
        new = lambda *shape: np.empty(shape, dtype=dtype)  # noqa: E731
        self.a1, self.a2, self.g1, self.g2, self.t1, self.t2 = (new(batch, H) for _ in range(6))
        self.out, self.grad_out = new(batch, 2), new(batch, 2)
        self.sigma, self.inv_var, self.spread, self.w1, self.w2 = (new(batch) for _ in range(5))

    def step(self, x: np.ndarray, target: np.ndarray) -> float:
        W1, b1, W2, b2, W3, b3 = self.params
        gW1, gb1, gW2, gb2, gW3, gb3 = self.grads
        a1, a2, g1, g2, t1, t2 = self.a1, self.a2, self.g1, self.g2, self.t1, self.t2
        out, grad_out = self.out, self.grad_out
        sigma, inv_var, spread, w1, w2 = self.sigma, self.inv_var, self.spread, self.w1, self.w2
        n = len(x)
        # forward
        np.matmul(x, W1, out=a1)
        a1 += b1
        np.tanh(a1, out=a1)
        np.matmul(a1, W2, out=a2)
        a2 += b2
        np.tanh(a2, out=a2)
        np.matmul(a2, W3, out=out)
        out += b3
        mu, raw = out[:, 0], out[:, 1]
        mu_gt, sigma_gt = target[:, 0], target[:, 1]
        np.logaddexp(raw, 0, out=sigma)
        sigma += self.min_sigma
        # loss = mean(-1/2 + log sigma - log sigma_gt + spread / (2 sigma^2))
        np.subtract(mu_gt, mu, out=w1)
        np.multiply(w1, w1, out=spread)
        np.multiply(sigma_gt, sigma_gt, out=w2)
        spread += w2
        np.multiply(sigma, sigma, out=inv_var)
        np.divide(1.0, inv_var, out=inv_var)
        np.multiply(spread, inv_var, out=w1)
        w1 *= 0.5
        np.log(sigma, out=w2)
        w1 += w2
        np.log(sigma_gt, out=w2)
        w1 -= w2
        loss = float(np.add.reduce(w1)) / n - 0.5
        # backward: dKL/dmu = (mu - mu_gt)/sigma^2, dKL/dsigma = 1/sigma - spread/sigma^3
        g_mu, g_raw = grad_out[:, 0], grad_out[:, 1]
        np.subtract(mu, mu_gt, out=g_mu)
        g_mu *= inv_var
        g_mu *= 1.0 / n
        np.multiply(spread, inv_var, out=w1)
        np.subtract(1.0, w1, out=w1)
        np.divide(w1, sigma, out=w1)
        w1 *= 1.0 / n
        np.multiply(raw, 0.5, out=w2)                 # softplus' = sigmoid = (1 + tanh(raw/2))/2
        np.tanh(w2, out=w2)
        w2 += 1.0
        w2 *= 0.5
        np.multiply(w1, w2, out=g_raw)
        np.matmul(a2.T, grad_out, out=gW3)
        np.add.reduce(grad_out, axis=0, out=gb3)
        np.matmul(grad_out, W3.T, out=g2)
        np.multiply(a2, a2, out=t2)
        np.subtract(1.0, t2, out=t2)
        g2 *= t2
        np.matmul(a1.T, g2, out=gW2)
        np.add.reduce(g2, axis=0, out=gb2)
        np.matmul(g2, W2.T, out=g1)
        np.multiply(a1, a1, out=t1)
        np.subtract(1.0, t1, out=t1)
        g1 *= t1
        np.matmul(x.T, g1, out=gW1)
        np.add.reduce(g1, axis=0, out=gb1)
        # SGD with momentum on the flat buffers: b = g first, then b = m b + g; p -= lr b
        if self.first:
            np.copyto(self.flat_buf, self.flat_grad)
            self.first = False
        else:
            self.flat_buf *= self.momentum
            self.flat_buf += self.flat_grad
        np.multiply(self.flat_buf, self.lr, out=self.flat_tmp)
        self.flat -= self.flat_tmp
        return loss
