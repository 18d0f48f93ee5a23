"""Optimisers: update parameters in place from their gradients, as ``torch.optim`` does;
``optim.lr_scheduler`` changes their learning rates over training."""

from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD
from minigrad.optim.adam import Adam
from minigrad.optim.adamw import AdamW
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim import lr_scheduler

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
