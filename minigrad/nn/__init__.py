"""Neural-network building blocks: `Module`, `Parameter`, layers, containers, heads, losses,
weight initialisation (`nn.init`) and the functional forms (`nn.functional`).

    model = nn.Sequential(nn.MLP([1, 64, 64]), nn.GaussianHead(64))
    pred = model(x)                 # (N, 2) = [mu, sigma]
"""
from minigrad.nn.parameter import Parameter
from minigrad.nn.module import IncompatibleKeys, Module
from minigrad.nn.layers import Affine, Dense, Linear
from minigrad.nn.dropout import Dropout
from minigrad.nn.activations import ReLU, Sigmoid, Softplus, Tanh
from minigrad.nn.containers import MLP, Sequential
from minigrad.nn.heads import GaussianHead, GaussianParams
from minigrad.nn.losses import GaussianKLLoss, GaussianNLLLoss, MSELoss
from minigrad.nn import functional, init, utils
from minigrad.nn.mixture import (GaussianMixtureHead, GaussianMixtureNLLLoss,
                                 GaussianMixtureParams, mixture_density, mixture_kl_upper_bound,
                                 mixture_kl_variational, mixture_mean, mixture_mode,
                                 mixture_sample, mixture_variance, mixture_weights)
from minigrad.nn.multivariate import (CholeskyParams, MultivariateGaussianHead,
                                      MultivariateGaussianKLLoss, MultivariateGaussianNLLLoss)

__all__ = [
    "MLP", "Affine", "CholeskyParams", "Dense", "Dropout", "GaussianHead", "GaussianKLLoss",
    "GaussianMixtureHead", "GaussianMixtureNLLLoss", "GaussianMixtureParams", "GaussianNLLLoss",
    "GaussianParams", "IncompatibleKeys", "Linear", "MSELoss", "Module",
    "MultivariateGaussianHead", "MultivariateGaussianKLLoss", "MultivariateGaussianNLLLoss",
    "Parameter", "ReLU", "Sequential", "Sigmoid", "Softplus", "Tanh", "functional", "init",
    "mixture_density", "mixture_kl_upper_bound", "mixture_kl_variational", "mixture_mean",
    "mixture_mode", "mixture_sample", "mixture_variance", "mixture_weights", "utils",
]
