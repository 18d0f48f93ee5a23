"""Serve a model exported by `train_mlp.py --export model.onnx` with onnxruntime, no minigrad needed.

    python examples/train_mlp.py --export model.onnx
    python examples/serve_onnx.py model.onnx                      # mu, sigma on a grid of x
    python examples/serve_onnx.py model.onnx --x -1.5 0 2.25      # at these inputs
    python examples/serve_onnx.py model.onnx --checkpoint runs/<stamp>/checkpoint.npz

Each --x value is one input row (comma-separated for several input columns). The file's
metadata carries the run's input/target scaling (identity for the synthetic task), so the
printed mu and sigma are in the data's units, as train_mlp.py reports them. With
--checkpoint, minigrad computes the same predictions from the checkpoint and the largest
difference is printed: the served model is the trained one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np


def load_session(path: str) -> tuple:
    """(onnxruntime session, scaling dict or None) for an exported file."""
    try:
        import onnxruntime
    except ImportError:
        raise SystemExit("serve_onnx.py: needs onnxruntime: pip install onnxruntime") from None
    if not os.path.isfile(path):
        raise SystemExit(f"serve_onnx.py: no such file: {path}")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    scaling = json.loads(meta["minigrad.scaling"]) if "minigrad.scaling" in meta else None
    return session, scaling


def predict(session, scaling: dict | None, x: np.ndarray) -> np.ndarray:
    """[mu, sigma] (N, 2) for raw inputs x (N, D), in the data's units."""
    model_input = session.get_inputs()[0]
    dtype = np.float32 if model_input.type == "tensor(float)" else np.float64
    if scaling is not None:  # x' = (x - mean) / std, as the network was trained on
        x = (x - np.asarray(scaling["x_mean"])) / np.asarray(scaling["x_std"])
    mu, sigma = session.run(["mu", "sigma"], {model_input.name: x.astype(dtype)})
    mu, sigma = mu.astype(np.float64), sigma.astype(np.float64)
    if scaling is not None:  # back to the data's units: mu y_std + y_mean, sigma y_std
        mu, sigma = mu * scaling["y_std"] + scaling["y_mean"], sigma * scaling["y_std"]
    return np.stack([mu, sigma], axis=1)


def minigrad_predictions(checkpoint: str, x: np.ndarray) -> np.ndarray:
    """The same predictions from a train_mlp.py checkpoint, computed by minigrad."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import train_mlp

    state = train_mlp.load_checkpoint(checkpoint)
    config, model, _, scaling = train_mlp.restore(state, checkpoint)
    return train_mlp.predict(model, x, scaling, config["dtype"])


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(prog="serve_onnx.py", description=__doc__.split("\n")[0])
    p.add_argument("model", help="an ONNX file written by train_mlp.py --export")
    p.add_argument("--x", nargs="+", metavar="ROW",
                   help="input rows, e.g. 0.5 or 0.5,1.0 (default: 7 points from -3 to 3 "
                        "on the first input, the others 0)")
    p.add_argument("--checkpoint", metavar="CKPT",
                   help="also compute the predictions in minigrad from this checkpoint and "
                        "print the largest difference")
    args = p.parse_args(argv)

    session, scaling = load_session(args.model)
    dim = session.get_inputs()[0].shape[-1]
    if args.x:
        try:
            x = np.array([[float(v) for v in row.split(",")] for row in args.x])
        except ValueError:
            p.error(f"--x rows must be numbers separated by commas, got {args.x}")
        if x.shape[1] != dim:
            p.error(f"the model takes {dim} input column(s), the --x rows have {x.shape[1]}")
    else:
        x = np.zeros((7, dim))
        x[:, 0] = np.linspace(-3, 3, 7)
    pred = predict(session, scaling, x)

    print(f"{'x':>18}  {'mu':>12}  {'sigma':>12}")
    for row, (mu, sigma) in zip(x, pred):
        print(f"{','.join(f'{v:g}' for v in row):>18}  {mu:12.6f}  {sigma:12.6f}")
    if args.checkpoint:
        reference = minigrad_predictions(args.checkpoint, x)
        print(f"largest difference from minigrad: {np.max(np.abs(pred - reference)):.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
