"""An interactive explorer of a minigrad graph: one self-contained HTML page (or a Jupyter
cell) with the Graphviz picture of `minigrad.viz`, a panel holding every value and gradient,
a step-through of backward in the engine's order, and the first NaN/inf marked on its node.

    import minigrad.viz
    minigrad.viz.explore(loss, "loss.html")     # open it from the file system, no network
    minigrad.viz.explore(loss)                  # last expression of a Jupyter cell: shown inline

Everything shown is computed here, in Python, by the engine; the page's script only draws
it. Nothing touches `.grad` or frees the graph. `Timeline` records the same data at chosen
training steps, scrubbed with a slider beside a loss curve.
"""
from __future__ import annotations

import html
import json
import math
import os
import re
import uuid
from typing import Any

import numpy as np

from minigrad.autograd import Function, grad as engine_grad
from minigrad.autograd.engine import backward_steps
from minigrad.tensor import Tensor
from minigrad import viz

__all__ = ["BINS", "HEAT", "SMALL", "Explorer", "Timeline", "explore"]

SMALL = 64   # arrays with at most this many elements are embedded whole, every number exact
HEAT = 32    # larger ones: a heat map of at most HEAT x HEAT evenly spaced entries (4 digits)
BINS = 24    # ... and a histogram of all their finite elements, with their statistics
ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "explorer_assets")


# ---- the engine's numbers ----------------------------------------------------------------

def _engine_gradients(root: Tensor, tensors: list, seed: Any) -> list:
    """d(root)/d(t) for each t of `tensors` (None where no gradient reaches it), from one
    engine pass that keeps the graph and writes no `.grad`."""
    if not root.requires_grad:
        return [None] * len(tensors)
    found = engine_grad(root, tensors, grad_outputs=seed, retain_graph=True, allow_unused=True)
    return [None if g is None else g.data for g in found]


# ---- arrays as data for the page ---------------------------------------------------------

def _number(x: float) -> Any:
    """A float for JSON; NaN and infinities (which JSON lacks) become strings JS's Number reads."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _array_info(array: Any) -> dict:
    """Shape, dtype, statistics of the finite elements, NaN/inf counts; every number when the
    array has at most SMALL elements, else a sampled heat map and a histogram."""
    a = np.asarray(array)
    f = a.astype(np.float64) if a.dtype != np.float64 else a
    finite = np.isfinite(f)
    info: dict = {"shape": list(a.shape), "dtype": str(a.dtype), "size": int(a.size),
                  "nan": int(np.isnan(f).sum()), "inf": int((~finite).sum() - np.isnan(f).sum())}
    good = f[finite]
    if good.size:
        info["stats"] = {"mean": float(good.mean()), "std": float(good.std()),
                         "min": float(good.min()), "max": float(good.max())}
    if a.size <= SMALL:
        if a.dtype.kind == "f" and a.dtype.itemsize < 8:  # float32's own shortest digits
            info["exact"] = [_number(float(str(v))) for v in a.ravel()]
        else:
            info["exact"] = [_number(float(v)) for v in f.ravel()]
        return info
    grid = f.reshape(-1, f.shape[-1]) if f.ndim >= 2 else f.reshape(1, -1)
    step = [max(1, -(-n // HEAT)) for n in grid.shape]
    sample = grid[::step[0], ::step[1]]
    info["heat"] = {"rows": int(sample.shape[0]), "cols": int(sample.shape[1]), "step": step,
                    "data": [_number(float(f"{v:.4g}")) for v in sample.ravel()]}
    if good.size:
        counts, edges = np.histogram(good, bins=BINS)
        info["hist"] = {"lo": float(edges[0]), "hi": float(edges[-1]),
                        "counts": [int(c) for c in counts]}
    return info


def _first_bad(array: np.ndarray) -> Any:
    """(index, value text) of the first NaN/inf in `array`, or None when all are finite."""
    f = np.asarray(array, dtype=np.float64)
    bad = ~np.isfinite(f)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return list(index), str(f[index])


def _doc_parts(node: Function) -> tuple:
    """(formula, derivative) from the op's docstring "formula;  derivative." convention."""
    doc = (type(node).__doc__ or "").strip().split("\n\n")[0]
    doc = " ".join(line.strip() for line in doc.splitlines())
    if ";" in doc:
        formula, derivative = doc.split(";", 1)
        return formula.strip(), derivative.strip()
    return doc, ""


# ---- collecting one graph ----------------------------------------------------------------

def _check_root(root: Any, mode: str) -> None:
    if not isinstance(root, Tensor):
        raise TypeError(f"explore: expected a minigrad Tensor as root, got {type(root).__name__}; "
                        f"pass the tensor to explore, e.g. the loss")
    if mode not in viz.MODES:
        raise ValueError(f"explore: mode must be one of {', '.join(viz.MODES)}; got {mode!r}")
    if mode != "forward" and root.grad_fn is not None:
        for node in _reachable_nodes(root.grad_fn):
            if node.saved_tensors is None:
                raise RuntimeError(
                    f"explore: the graph was freed by an earlier backward() (node {node.name} "
                    f"has no saved tensors), so its gradients cannot be shown; call explore "
                    f"before backward(), or call backward(retain_graph=True). mode='forward' "
                    f"still works")


def _reachable_nodes(root: Function) -> list:
    """The nodes reachable from `root`, without the engine's freed-graph check."""
    seen, stack = {id(root): root}, [root]
    while stack:
        for t in stack.pop().inputs:
            fn = t.grad_fn
            if fn is not None and id(fn) not in seen:
                seen[id(fn)] = fn
                stack.append(fn)
    return list(seen.values())


class _Snapshot:
    """The picture (SVG text) and the data of one graph, as the page reads them."""

    def __init__(self, root: Tensor, mode: str, collapse: bool | int, grad: Any) -> None:
        backward = mode != "forward"
        with np.errstate(all="ignore"):  # non-finite values are reported on the page instead
            dot = viz.draw(root, mode=mode, collapse=collapse, grad=grad)  # draw's checks, limit
            self.svg = _clean_svg(_pipe_svg(dot))
            self.graph = graph = viz._Graph(root)
            layout = viz._Layout(graph, collapse)
            grads = self._gradients(root, grad) if backward else {}
            self.data: dict[str, Any] = {
                "mode": mode,
                "tensors": {graph.ids[id(t)]: self._tensor(t, grads, backward)
                            for t in graph.tensors},
                "ops": {graph.ids[id(n)]: self._op(n, layout) for n in graph.nodes},
                "drawn": self._drawn(layout, mode),
            }
            self.data["steps"], self.data["diamonds"] = (
                self._steps(root, grads) if backward else ([], {}))
            self.data["nonfinite"] = self._nonfinite()

    def _gradients(self, root: Tensor, grad: Any) -> dict:
        seed = np.ones_like(root.data) if grad is None else np.asarray(
            grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
        wanted = [t for t in self.graph.tensors if t.requires_grad]
        found = _engine_gradients(root, wanted, grad)
        grads = {id(t): g for t, g in zip(wanted, found) if g is not None}
        grads[id(root)] = seed
        return grads

    def _tensor(self, t: Tensor, grads: dict, backward: bool) -> dict:
        g = grads.get(id(t))
        return {"name": viz._tensor_name(t, self.graph), "kind": viz._tensor_kind(t, self.graph),
                "value": _array_info(t.data),
                "grad": _array_info(g) if g is not None else None,
                "requires_grad": bool(t.requires_grad), "has_grad": backward and g is not None}

    def _op(self, node: Function, layout: Any) -> dict:
        formula, derivative = _doc_parts(node)
        scope = layout.scope[id(node)]
        return {"name": node.name, "formula": formula, "derivative": derivative,
                "module": layout.module_label(scope) if scope else "",
                "inputs": [self.graph.ids[id(t)] for t in node.inputs],
                "output": self.graph.ids[id(self.graph.output[id(node)])]}

    def _drawn(self, layout: Any, mode: str) -> dict:
        """Drawn node name in the SVG -> what it shows: the names viz gives each vertex (its
        prefix, `t`/`op` ids, one `m` box per collapsed module in order of first op)."""
        graph, drawn = self.graph, {}
        passes = {"forward": [("", False)], "backward": [("", True)],
                  "both": [("f_", False), ("b_", True)]}[mode]
        for prefix, backward in passes:
            side = "b" if backward else "f"
            for t in graph.tensors:
                visible, _ = layout.tensor_placement(t)
                if visible and not (backward and not t.requires_grad):
                    drawn[prefix + graph.ids[id(t)]] = {"tensor": graph.ids[id(t)], "pass": side}
            boxes: dict = {}
            for node in graph.nodes:
                if id(node) in layout.box:
                    box = layout.box[id(node)]
                    key = viz._key(box)
                    if key not in boxes:
                        boxes[key] = f"{prefix}m{len(boxes)}"
                        drawn[boxes[key]] = {"box": layout.module_label(box), "ops": [],
                                             "pass": side}
                    drawn[boxes[key]]["ops"].append(graph.ids[id(node)])
                else:
                    drawn[prefix + graph.ids[id(node)]] = {"op": graph.ids[id(node)],
                                                           "pass": side}
        return drawn

    def _steps(self, root: Tensor, grads: dict) -> tuple:
        """Backward, one entry per node the engine runs, in its order: the gradient the node
        receives and what it sends along each input edge; and, for every tensor that receives
        gradients from several consumers (a diamond), the parts and their running sums."""
        ids = self.graph.ids
        steps: list[dict] = []
        parts: dict = {}
        steps_run = backward_steps(root, grads[id(root)]) if root.requires_grad else []
        for node, _, sent in steps_run:
            out = self.graph.output[id(node)]
            edges = []
            for k, (t, gi) in enumerate(zip(node.inputs, sent)):
                edge = {"to": ids[id(t)], "slot": k, "grad": None}
                if gi is not None:
                    edge["grad"] = _array_info(gi)
                    parts.setdefault(id(t), []).append((ids[id(node)], len(steps), k, gi))
                edges.append(edge)
            # the incoming gradient is the output's own (the tensor's "grad" on the page)
            steps.append({"op": ids[id(node)], "out": ids[id(out)], "edges": edges})
        diamonds = {}
        for key, received in parts.items():
            if len(received) < 2:  # the one part is the whole gradient: not embedded twice
                op, step, slot, gi = received[0]
                steps[step]["edges"][slot]["grad"] = "whole"
                continue
            running, entries = None, []
            for op, step, slot, gi in received:
                running = gi if running is None else running + gi
                entries.append({"op": op, "step": step, "slot": slot,
                                "sum": _array_info(running)})
                steps[step]["edges"][slot]["partial"] = [len(entries), len(received)]
                steps[step]["edges"][slot]["sum"] = entries[-1]["sum"]
            tid = next(ids[id(t)] for t in self.graph.tensors if id(t) == key)
            diamonds[tid] = entries
        return steps, diamonds

    def _nonfinite(self) -> dict:
        """The first NaN/inf of forward (a leaf, else the first op in creation order whose
        output has one) and of backward (the first step sending one), with the inputs."""
        found: dict = {}
        for t in self.graph.tensors:
            if t.grad_fn is None and _first_bad(t.data):
                index, value = _first_bad(t.data)
                found["forward"] = {"tensor": self.graph.ids[id(t)], "index": index,
                                    "value": value, "op": None, "inputs": []}
                break
        if "forward" not in found:
            for node in sorted(self.graph.nodes, key=lambda n: n.seq):
                bad = _first_bad(self.graph.output[id(node)].data)
                if bad:
                    op = self.data["ops"][self.graph.ids[id(node)]]
                    found["forward"] = {"tensor": op["output"], "index": bad[0], "value": bad[1],
                                        "op": self.graph.ids[id(node)], "inputs": op["inputs"]}
                    break
        for i, step in enumerate(self.data["steps"]):
            for edge in step["edges"]:
                g = edge["grad"]
                if g == "whole":
                    g = self.data["tensors"][edge["to"]]["grad"]
                if g is not None and (g["nan"] or g["inf"]):
                    found["backward"] = {"step": i, "op": step["op"], "tensor": edge["to"],
                                         "slot": edge["slot"], "nan": g["nan"], "inf": g["inf"],
                                         "inputs": self.data["ops"][step["op"]]["inputs"]}
                    return found
        return found


def _pipe_svg(dot: Any) -> str:
    import graphviz
    try:
        return dot.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound as err:
        raise viz.GraphvizNotFound(
            "explore: the Graphviz program `dot` was not found on PATH; the explorer lays the "
            "graph out with it. Install Graphviz (apt-get install graphviz, brew install "
            "graphviz, conda install graphviz)") from err


_NODE = re.compile(r'<g id="[^"]*" class="(node|edge)">\s*<title>([^<]*)</title>')


def _clean_svg(svg: str) -> str:
    """dot's SVG made embeddable: no XML prolog or comments, no document-wide ids (several
    explorers share a notebook), each node and edge tagged with its DOT name."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.DOTALL)

    def tag(m: re.Match) -> str:
        name = html.unescape(m.group(2))
        attr = "data-node" if m.group(1) == "node" else "data-edge"
        return f'<g class="{m.group(1)}" {attr}="{html.escape(name)}">'

    svg = _NODE.sub(tag, svg)
    # size: a big graph repeats these thousands of times; the stylesheet sets the font instead
    svg = svg.replace(' font-family="Helvetica,sans-Serif"', "").replace("&#45;", "-")
    return re.sub(r' id="(graph0|clust\d+)"', "", svg)


# ---- the page ---------------------------------------------------------------------------

def _asset(name: str) -> str:
    with open(os.path.join(ASSETS, name), encoding="utf-8") as f:
        return f.read()


def _script_json(payload: Any) -> str:
    """JSON safe inside <script>: no "</script>", "<!--" or line separators can end it early."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class Explorer:
    """The page of one graph or of a training timeline. `save(path)` writes it; Jupyter
    shows it through `_repr_html_`; `to_html()` is the whole standalone page."""

    def __init__(self, snapshots: list, timeline: dict | None = None,
                 title: str = "minigrad explorer") -> None:
        self.snapshots = snapshots
        self.timeline = timeline
        self.title = title

    @property
    def data(self) -> dict:
        """What the page embeds: the snapshots' SVG and data, and the timeline."""
        return {"title": self.title, "timeline": self.timeline,
                "snapshots": [dict(s.data, svg=s.svg) for s in self.snapshots]}

    def id_of(self, obj: Any, snapshot: int = -1) -> str:
        """The page's id ("t3", "op4") of a tensor or node of the graph of `snapshot`."""
        return self.snapshots[snapshot].graph.ids[id(obj)]

    def _fragment(self, uid: str) -> str:
        css = _asset("explorer.css")
        js = _asset("explorer.js")
        return (f'<div class="mgx" id="{uid}" tabindex="0"><style>{css}</style>'
                f'<script type="application/json" class="mgx-data">{_script_json(self.data)}'
                f"</script><noscript>The explorer needs JavaScript.</noscript></div>"
                f"<script>(function(){{\n{js}\nmgxStart(document.getElementById({json.dumps(uid)}));"
                f"\n}})();</script>")

    def _repr_html_(self) -> str:
        # a fresh id per display: several explorers (or one shown twice) never share state
        return self._fragment("mgx-" + uuid.uuid4().hex[:12])

    def to_html(self) -> str:
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
                f"<title>{html.escape(self.title)}</title></head><body>"
                f"{self._fragment('mgx-page')}</body></html>\n")

    def save(self, path: str | os.PathLike) -> str:
        path = _checked_path(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html())
        return path


def _checked_path(path: str | os.PathLike) -> str:
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"explore: the folder {folder!r} for {path!r} does not exist; create it first "
            f"(os.makedirs) or choose a path in an existing folder")
    return path


def explore(root: Tensor, path: str | os.PathLike | None = None, mode: str = "both",
            collapse: bool | int = False, *, grad: Any = None) -> Explorer:
    """An interactive page of the graph that made `root` (see the module docstring).

    mode and collapse are `viz.draw`'s; grad is the seed for a root with several elements.
    Values and gradients are the engine's, from one backward that keeps the graph and writes
    no `.grad`. With `path`, the page is also written there (one HTML file, no network).
    """
    _check_root(root, mode)
    if path is not None:
        _checked_path(path)  # before the work, so a typo costs nothing
    explorer = Explorer([_Snapshot(root, mode, collapse, grad)])
    if path is not None:
        explorer.save(path)
    return explorer


class Timeline:
    """Snapshots of a training run: `record(step, loss)` before the step's `backward()` keeps
    the graph's values and gradients (the engine's) and its picture; `log(step, value)` adds a
    point to the loss curve; `save(path)` writes a page with a slider over the snapshots."""

    def __init__(self, mode: str = "both", collapse: bool | int = False,
                 title: str = "minigrad training timeline", at: Any = None,
                 max_snapshots: int = 12) -> None:
        if mode not in viz.MODES:
            raise ValueError(f"Timeline: mode must be one of {', '.join(viz.MODES)}; got {mode!r}")
        self.mode, self.collapse, self.title = mode, collapse, title
        self.at = None if at is None else {int(s) for s in at}
        self.max_snapshots = max_snapshots
        self.snapshots: list = []
        self.steps: list = []
        self.losses: list = []

    def wants(self, step: int) -> bool:
        """Whether `step(step, loss)` records a snapshot: a step of `at`, or by default step 0
        and the powers of two (dense early, where training changes most), up to
        `max_snapshots` snapshots in all."""
        if len(self.snapshots) >= self.max_snapshots:
            return False
        if self.at is not None:
            return step in self.at
        return step == 0 or (step & (step - 1)) == 0

    def step(self, step: int, loss: Tensor) -> None:
        """Call once per training step, before `backward()`: logs the loss, records if wanted."""
        if self.wants(step):
            self.record(step, loss)
        else:
            self.log(step, loss.item() if loss.data.size == 1 else float(loss.data.mean()))

    def log(self, step: int, loss: float) -> None:
        self.losses.append([int(step), _number(float(loss))])

    def record(self, step: int, loss: Tensor) -> None:
        _check_root(loss, self.mode)
        self.snapshots.append(_Snapshot(loss, self.mode, self.collapse, None))
        self.steps.append(int(step))
        if not self.losses or self.losses[-1][0] != int(step):
            self.log(step, loss.item() if loss.data.size == 1 else float(loss.data.mean()))

    def explorer(self) -> Explorer:
        if not self.snapshots:
            raise ValueError("Timeline: nothing recorded; call record(step, loss) during training")
        return Explorer(self.snapshots, {"steps": self.steps,
                                         "losses": sorted(self.losses)}, self.title)

    def save(self, path: str | os.PathLike) -> str:
        return self.explorer().save(path)

    def _repr_html_(self) -> str:
        return self.explorer()._repr_html_()
