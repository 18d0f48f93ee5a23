"""Take a trained model out of minigrad: to ONNX (`to_onnx`) or into PyTorch
(`to_torch_state_dict`, `from_torch_state_dict`, `to_torch_module`). docs/exporting.md
explains when and how.

    from minigrad.export import to_onnx
    to_onnx(model, x[:1], "model.onnx")      # outputs mu and sigma for a GaussianHead model

Neither onnx nor torch is needed to import this package; each is imported when used.
"""
from minigrad.export.onnx import (ExportError, OnnxGraph, identity, max_difference,
                                  register_onnx, supported_modules, to_onnx, unregister_onnx)
from minigrad.export import onnx_heads  # noqa: F401  (registers the mixture and multivariate heads)
from minigrad.export.torch import (from_torch_state_dict, register_torch_layout,
                                   to_torch_module, to_torch_state_dict)

__all__ = [
    "ExportError", "OnnxGraph", "from_torch_state_dict", "identity", "max_difference",
    "register_onnx", "register_torch_layout", "supported_modules", "to_onnx",
    "to_torch_module", "to_torch_state_dict", "unregister_onnx",
]
