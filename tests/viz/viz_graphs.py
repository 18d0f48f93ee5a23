"""The graphs the viz tests draw (imported by both test files; pytest puts this folder on
sys.path because tests/ has no __init__.py)."""
import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn.losses import GaussianKLLoss


def two_node_network():
    """The tutorial's network: two learnable nodes (mu, sigma) fed to the KL loss."""
    mu = mg.Tensor(0.0, requires_grad=True, name="mu")
    sigma = mg.Tensor(2.0, requires_grad=True, name="sigma")
    loss = F.gaussian_kl(mu, sigma, mg.Tensor(1.0, name="mu_gt"), mg.Tensor(0.5, name="sigma_gt"),
                         reduction="mean")
    return loss, mu, sigma


def mlp_graph(seed=0):
    """A small MLP with a GaussianHead and the KL loss: (loss, model, x)."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.MLP([1, 8, 8]), nn.GaussianHead(8))
    x = mg.Tensor(np.linspace(-1.0, 1.0, 16).reshape(16, 1), name="x")
    loss = GaussianKLLoss()(model(x), mg.Tensor([0.5, 1.0], name="target"))
    return loss, model, x
