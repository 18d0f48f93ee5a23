"""Draw a minigrad graph with Graphviz: the forward pass with every value, the backward pass
with every gradient, or both side by side.

    import minigrad.viz
    minigrad.viz.render(loss, "graph.svg", mode="both")   # forward left, backward right
    minigrad.viz.draw(loss, collapse=True)                # a graphviz.Digraph (Jupyter shows it)

The graph is read through public attributes only (`tensor.grad_fn`, `node.inputs`,
`node.name`, `node.scope`, `tensor.name`, `.requires_grad`, `.data`). Legend:

    parameter (leaf that requires grad)   green box          op (forward)      blue ellipse
    input / constant (leaf, no grad)      grey dashed box    op (backward)     orange ellipse
    intermediate tensor                   white box          collapsed module  purple 3-D box
    root (the tensor drawn from)          gold box, bold     module            dashed cluster
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Iterable
from typing import Any

import numpy as np

try:
    import graphviz
except ImportError as err:  # minigrad itself never needs graphviz, only this module does
    raise ImportError(
        "minigrad.viz needs the graphviz Python package: pip install graphviz "
        "(or pip install 'minigrad-numpy[viz]'); rendering to .svg/.png/.pdf also needs the Graphviz "
        "program `dot` (apt-get install graphviz, brew install graphviz, conda install graphviz)"
    ) from err

from minigrad.autograd import grad as engine_grad, topological_order
from minigrad.tensor import Tensor

__all__ = ["GraphvizNotFound", "RenderError", "draw", "explore", "render", "summarize"]

MODES = ("forward", "backward", "both")
TINY = 6             # arrays with at most this many elements show every entry
BIG_GRAPH = 400      # above this many drawn nodes, cheaper layout settings keep `dot` quick
MAX_NODES = 3000     # render refuses more drawn nodes (both passes count): dot would take minutes
TIMEOUT = 60.0       # seconds render lets `dot` run before giving up
MAX_LABEL = 200      # characters per label line; longer user text is cut, marked with "..."
SOURCE_FORMATS = ("dot", "gv")
IMAGE_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps", "json")

STYLE = {
    "parameter": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d4f0d4"},
    "input": {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": "#eeeeee"},
    "intermediate": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "root": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffe49c",
             "penwidth": "2"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#d6e4fa"},
    "op_backward": {"shape": "ellipse", "style": "filled", "fillcolor": "#fbdcc6"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#e6dcf6"},
}


class GraphvizNotFound(RuntimeError):
    """The Graphviz program `dot` is not installed (or not on PATH)."""


class RenderError(RuntimeError):
    """`dot` failed, ran past the timeout, or the graph is too large to render quickly."""


# ---- numbers as text --------------------------------------------------------------------

def _number(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, (float, np.floating)) else str(x)


def _nested(a: np.ndarray) -> str:
    if a.ndim == 0:
        return _number(a.item())
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def summarize(array: Any, tiny: int = TINY) -> list:
    """An array as label lines: the number for one element, the entries for a tiny array,
    otherwise `mean/std` and `min/max` (4 significant digits)."""
    a = np.asarray(array)
    if a.size == 1:
        return [_number(a.reshape(()).item())]
    if a.size <= tiny:
        return [_nested(a)]
    f = a.astype(np.float64)
    mean = f.mean()
    if abs(mean) < 1e-12 * np.abs(f).max():  # rounding noise of a mean that is really 0
        mean = 0.0
    return [f"mean {mean:.4g}, std {f.std():.4g}", f"min {f.min():.4g}, max {f.max():.4g}"]


def _shape_text(t: Tensor) -> str:
    shape = "scalar" if t.data.ndim == 0 else str(tuple(t.data.shape))
    return shape if t.data.dtype == np.float64 else f"{shape} {t.data.dtype}"


# Characters XML 1.0 forbids (all C0 controls but tab/newline/CR, and lone surrogates) and
# the line breaks DOT would interpret: shown as U+FFFD so the SVG is always well-formed.
_NOT_IN_XML = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _clean(line: Any) -> str:
    """One label line as safe text: no XML-invalid characters, at most MAX_LABEL long."""
    text = _NOT_IN_XML.sub("\ufffd", str(line))
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 3] + "..."


def _label(lines: Iterable[str]) -> str:
    """DOT label text: user text keeps its backslashes, lines join with DOT's centred break."""
    return graphviz.nohtml("\\n".join(_clean(line).replace("\\", "\\\\") for line in lines))


# ---- walking the graph ------------------------------------------------------------------

class _Graph:
    """The nodes and tensors reachable from a root, in a fixed walk order (forward order).

    Ids are handed out in walk order (never `id()`), so identical graphs give identical DOT.
    """

    def __init__(self, root: Tensor) -> None:
        self.root = root
        self.nodes = topological_order(root.grad_fn) if root.grad_fn is not None else []
        self.output: dict = {}            # id(node) -> the tensor it made
        self.consumers: dict = {}         # id(tensor) -> nodes that read it, in walk order
        self.tensors: list = []           # every tensor, in walk order
        self.ids: dict = {}               # id(tensor or node) -> "t3" / "op4"
        for node in self.nodes:
            for t in node.inputs:
                if t.grad_fn is not None:
                    self.output[id(t.grad_fn)] = t
        if root.grad_fn is not None:
            self.output[id(root.grad_fn)] = root
        counter = 0
        for node in self.nodes:
            for t in node.inputs:
                self.consumers.setdefault(id(t), []).append(node)
                if t.grad_fn is None and id(t) not in self.ids:
                    self.ids[id(t)] = f"t{counter}"
                    self.tensors.append(t)
                    counter += 1
            self.ids[id(node)] = f"op{counter}"
            out = self.output[id(node)]
            self.ids[id(out)] = f"t{counter + 1}"
            self.tensors.append(out)
            counter += 2
        if root.grad_fn is None:
            self.ids[id(root)] = "t0"
            self.tensors.append(root)


def _gradients(graph: _Graph, grad: Any) -> dict:
    """d(root)/d(tensor) for every tensor that requires grad, keyed by id(tensor).

    One engine pass (`minigrad.grad` with retain_graph=True): the same rules and order as
    `backward()`, but the results come back here, so no `.grad` changes and no saved array
    is freed.
    """
    root = graph.root
    for node in graph.nodes:
        if node.saved_tensors is None:
            raise RuntimeError(
                f"viz: the graph was freed by an earlier backward() (node {node.name} has no "
                f"saved tensors), so its gradients cannot be drawn; render before calling "
                f"backward(), or call backward(retain_graph=True). mode='forward' still works")
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"viz: the root has shape {root.shape}; the backward picture needs a single-"
                f"element root (reduce it with .sum() or .mean()) or grad= an array of that shape")
        seed = np.ones_like(root.data)
    else:
        seed = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
        if seed.shape != root.shape:
            raise ValueError(
                f"viz: grad has shape {seed.shape} but the root has shape {root.shape}")
    if not root.requires_grad:
        return {id(root): seed}
    wanted = [t for t in graph.tensors if t.requires_grad]
    found = engine_grad(root, wanted, grad_outputs=seed, retain_graph=True, allow_unused=True)
    return {id(t): g.data for t, g in zip(wanted, found) if g is not None}


# ---- modules: clusters and collapsed boxes ----------------------------------------------

@functools.cache
def _parameter_class() -> Any:
    try:
        from minigrad.nn import Parameter
    except ImportError:  # nn not available: no tensor is treated as a module parameter
        return ()
    return Parameter


def _common_prefix(scopes: list) -> tuple:
    first = scopes[0]
    n = len(first)
    for s in scopes[1:]:
        n = min(n, len(s))
        n = next((i for i in range(n) if s[i] is not first[i]), n)
    return first[:n]


def _key(scope: tuple) -> tuple:
    return tuple(id(m) for m in scope)


class _Layout:
    """Where each node goes: the module cluster of every tensor and op, and which modules
    are drawn as one box (`collapse`)."""

    def __init__(self, graph: _Graph, collapse: bool | int) -> None:
        if isinstance(collapse, bool) or collapse is None:
            self.depth = None
            self.innermost = bool(collapse)
        elif isinstance(collapse, (int, np.integer)) and collapse >= 0:
            self.depth, self.innermost = int(collapse), False
        else:
            raise ValueError(
                f"draw: collapse must be True/False or a depth >= 0 (modules deeper than it "
                f"become single boxes), got {collapse!r}"
            )
        self.graph = graph
        self._paths: dict = {}      # id(outermost module) -> {id(module): dotted path}
        self._children: dict = {}   # id(module) -> has child modules
        parameter = _parameter_class()
        self.scope: dict = {}       # id(tensor or node) -> the modules it sits in
        for node in graph.nodes:
            self.scope[id(node)] = tuple(getattr(node, "scope", ()) or ())
            self.scope[id(graph.output[id(node)])] = self.scope[id(node)]
        for t in graph.tensors:
            if t.grad_fn is None:
                consumers = graph.consumers.get(id(t), [])
                owned = (parameter and isinstance(t, parameter)) or _is_constant(t)
                scopes = [self.scope[id(n)] for n in consumers]
                self.scope[id(t)] = _common_prefix(scopes) if owned and scopes else ()
        self.box: dict = {}         # id(node) -> the scope prefix of the box it is drawn in
        for node in graph.nodes:
            prefix = self._collapsed_prefix(self.scope[id(node)])
            if prefix:
                self.box[id(node)] = prefix

    def _collapsed_prefix(self, scope: tuple) -> tuple:
        if self.depth is not None:
            return scope[:self.depth + 2] if len(scope) > self.depth + 1 else ()
        if self.innermost:
            for i, module in enumerate(scope):
                if not self._has_children(module):
                    return scope[:i + 1]
        return ()

    def _has_children(self, module: Any) -> bool:
        if id(module) not in self._children:
            named = getattr(module, "named_modules", None)
            self._children[id(module)] = named is not None and any(
                sub is not module for _, sub in named())
        return self._children[id(module)]

    def module_label(self, scope: tuple) -> str:
        """"path: describe()" of the innermost module of `scope`, the path taken from the
        outermost module's `named_modules()`."""
        outer, module = scope[0], scope[-1]
        if id(outer) not in self._paths:
            named = getattr(outer, "named_modules", None)
            self._paths[id(outer)] = {id(m): p for p, m in named()} if named else {}
        path = self._paths[id(outer)].get(id(module), "")
        describe = getattr(module, "describe", None)
        text = describe() if callable(describe) else type(module).__name__
        return f"{path}: {text}" if path else text

    def tensor_placement(self, t: Tensor) -> Any:
        """(visible, scope) of a tensor; hidden tensors live wholly inside a collapsed box."""
        scope = self.scope[id(t)]
        if t.grad_fn is not None and id(t.grad_fn) in self.box:
            prefix = self.box[id(t.grad_fn)]
            outside = t is self.graph.root or any(
                _key(self.box.get(id(n), ())) != _key(prefix)
                for n in self.graph.consumers.get(id(t), []))
            return outside, prefix[:-1]
        if t.grad_fn is None and scope:
            prefix = self._collapsed_prefix(scope)
            if prefix:
                return False, prefix
        return True, scope


def _is_constant(t: Tensor) -> bool:
    """An unnamed one-element leaf without grad: a number written into the code."""
    return t.grad_fn is None and not t.requires_grad and t.name is None and t.data.size == 1


# ---- DOT ---------------------------------------------------------------------------------

class _Cluster:
    """A module cluster: its nodes (id, attrs) and its nested clusters, in walk order."""

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.nodes: list = []
        self.children: dict = {}


def _tensor_kind(t: Tensor, graph: _Graph) -> str:
    if t is graph.root:
        return "root"
    if t.grad_fn is not None:
        return "intermediate"
    parameter = _parameter_class()
    return "parameter" if t.requires_grad or (parameter and isinstance(t, parameter)) else "input"


def _tensor_name(t: Tensor, graph: _Graph) -> str:
    if t.name:
        return str(t.name)
    if t.grad_fn is None and not t.requires_grad:
        return "const" if t.data.size == 1 else "input"
    return "output" if t is graph.root else graph.ids[id(t)]


def _tensor_lines(t: Tensor, graph: _Graph, grads: Any) -> list:
    lines = [_tensor_name(t, graph), _shape_text(t)]
    if grads is None:
        return lines + summarize(t.data)
    g = grads.get(id(t))
    if g is None:
        return lines + ["grad None"]
    first, *rest = summarize(g)
    return lines + ["grad " + first] + rest


def _add_pass(dot: graphviz.Digraph, graph: _Graph, layout: _Layout, grads: Any,
              prefix: str) -> None:
    """Add one pass (forward if `grads` is None, else backward) to `dot`, ids prefixed."""
    backward = grads is not None
    top = _Cluster()
    clusters: dict = {(): top}

    def cluster_for(scope: tuple) -> _Cluster:
        key = _key(scope)
        if key not in clusters:
            parent = cluster_for(scope[:-1])
            clusters[key] = parent.children[key] = _Cluster(layout.module_label(scope))
        return clusters[key]

    vertex: dict = {}  # id(tensor or node) -> drawn id, or None when hidden
    boxes: dict = {}   # box key -> drawn id
    for t in graph.tensors:
        visible, scope = layout.tensor_placement(t)
        if not visible or (backward and not t.requires_grad):
            vertex[id(t)] = None
            continue
        vertex[id(t)] = prefix + graph.ids[id(t)]
        attrs = dict(STYLE[_tensor_kind(t, graph)], label=_label(_tensor_lines(t, graph, grads)))
        cluster_for(scope).nodes.append((id(t), vertex[id(t)], attrs))
    suffix = " backward" if backward else ""
    for node in graph.nodes:
        if id(node) in layout.box:
            box = layout.box[id(node)]
            if _key(box) not in boxes:
                boxes[_key(box)] = f"{prefix}m{len(boxes)}"
                attrs = dict(STYLE["module"], label=_label([layout.module_label(box) + suffix]))
                cluster_for(box[:-1]).nodes.append((id(node), boxes[_key(box)], attrs))
            vertex[id(node)] = boxes[_key(box)]
            continue
        vertex[id(node)] = prefix + graph.ids[id(node)]
        attrs = dict(STYLE["op_backward" if backward else "op"], label=_label([node.name + suffix]))
        cluster_for(layout.scope[id(node)]).nodes.append((id(node), vertex[id(node)], attrs))

    order = {id(t): i for i, t in enumerate(graph.tensors)}
    order.update({id(n): i for i, n in enumerate(graph.nodes)})
    _emit_cluster(dot, top, prefix, [0])
    # (tail, head, k) in data-flow direction; a dict keeps the walk order. An op reading one
    # tensor twice (x * x) gets two edges (k = input slot); a box gets each edge once (k = 0).
    edges: dict = {}
    for node in graph.nodes:
        v = vertex[id(node)]
        boxed = id(node) in layout.box
        for k, t in enumerate(node.inputs):
            src = vertex[id(t)]
            if src is not None and not (t.grad_fn is not None and vertex[id(t.grad_fn)] == v):
                edges[(src, v, 0 if boxed else k)] = None
        out = vertex[id(graph.output[id(node)])]
        if out is not None:
            edges[(v, out, 0)] = None
    for tail, head, _ in edges:
        if backward:
            dot.edge(head, tail, color="#c0561e")
        else:
            dot.edge(tail, head)


def _emit_cluster(dot: graphviz.Digraph, cluster: _Cluster, prefix: str, count: list) -> None:
    for _, name, attrs in cluster.nodes:
        dot.node(name, **attrs)
    for child in cluster.children.values():
        with dot.subgraph(name=f"cluster_{prefix}{count[0]}") as sub:
            count[0] += 1
            sub.attr(label=_label([child.label]), style="rounded,dashed", color="#7a6a99",
                     fontcolor="#4b3c6b", labeljust="l")
            _emit_cluster(sub, child, prefix, count)


def draw(root: Tensor, mode: str = "forward", collapse: bool | int = False, *, grad: Any = None,
         rankdir: str = "TB") -> graphviz.Digraph:
    """The graph that made `root`, as a `graphviz.Digraph`.

    mode: "forward" (values, edges along the data flow), "backward" (d(root)/d(tensor) on
    every tensor that requires grad, edges from the root to the leaves) or "both" (forward
    left, backward right). collapse: True draws each innermost module as one box; an int N
    draws every module deeper than N (the outermost module is depth 0) as one box.
    grad: the seed gradient for a root with more than one element.
    Gradients are computed here, leaving every `.grad` and the saved arrays untouched.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw: expected a minigrad Tensor, got {type(root).__name__}")
    if mode not in MODES:
        raise ValueError(f"draw: mode must be one of {', '.join(MODES)}; got {mode!r}")
    if mode != "forward" and not root.requires_grad:
        raise ValueError(
            "draw: the root does not require grad, so it has no backward pass; use "
            "mode='forward' or build it from tensors with requires_grad=True"
        )
    graph = _Graph(root)
    layout = _Layout(graph, collapse)
    grads = _gradients(graph, grad) if mode != "forward" else None
    dot = graphviz.Digraph(name="minigrad")
    # ordering=in: an op's inputs stand left to right in argument order
    dot.attr(rankdir=rankdir, ordering="in", fontname="Helvetica", fontsize="11",
             nodesep="0.25", ranksep="0.35")
    dot.attr("node", fontname="Helvetica", fontsize="10", height="0.3", margin="0.08,0.04")
    dot.attr("edge", arrowsize="0.6")
    drawn = len(graph.tensors) + len(graph.nodes)
    if drawn * (2 if mode == "both" else 1) > BIG_GRAPH:
        # cap dot's slow phases on thousands of nodes: crossing minimisation (mclimit,
        # remincross) and the network-simplex passes that place nodes (nslimit, nslimit1)
        dot.attr(mclimit="0.1", nslimit="0.5", nslimit1="0.5", remincross="false")
    if mode == "both":
        for name, g in (("forward", None), ("backward", grads)):
            with dot.subgraph(name=f"cluster_{name}") as sub:
                sub.attr(label=f"{name} pass", style="rounded", color="#999999", fontsize="12")
                _add_pass(sub, graph, layout, g, prefix=name[0] + "_")
    else:
        _add_pass(dot, graph, layout, grads, prefix="")
    return dot


def render(root: Tensor, path: str | os.PathLike, mode: str = "forward",
           collapse: bool | int = False, *, max_nodes: int = MAX_NODES,
           timeout: float = TIMEOUT, **options: Any) -> str:
    """Draw `root` (see `draw`) into `path`; its extension picks the format.

    .dot/.gv write the DOT source (no Graphviz program needed); .svg, .png, .pdf (and the
    other formats of `dot -T`) run the `dot` program, for at most `timeout` seconds, on at
    most `max_nodes` drawn nodes (both passes count; more raise RenderError suggesting
    collapse=). Label text is cleaned so the output is always well-formed: characters XML
    forbids become U+FFFD and lines are cut at MAX_LABEL characters. Every failure of
    `dot` raises RenderError. Returns the path written.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in SOURCE_FORMATS + IMAGE_FORMATS:
        raise ValueError(
            f"render: cannot tell the format from {path!r}; end the path with one of "
            f"{', '.join('.' + e for e in SOURCE_FORMATS + IMAGE_FORMATS)}"
        )
    dot = draw(root, mode=mode, collapse=collapse, **options)
    if ext in SOURCE_FORMATS:
        with open(path, "w", encoding="utf-8") as f:
            f.write(dot.source)
        return path
    drawn = sum(1 for line in dot.body if "->" not in line and "[" in line
                and not line.lstrip().startswith(("graph", "node", "edge", "label", "style")))
    if drawn > max_nodes:
        raise RenderError(
            f"render: the drawing has {drawn} nodes, more than max_nodes={max_nodes}, which "
            f"`dot` could take minutes to lay out; pass collapse=True (or collapse=1) to draw "
            f"modules as boxes, mode='forward' for one pass, a .dot path for the source only, "
            f"or a larger max_nodes=")
    try:
        data = _run_dot(dot.source, "jpeg" if ext == "jpg" else ext, timeout)
    except FileNotFoundError as err:
        raise GraphvizNotFound(
            f"render: the Graphviz program `dot` was not found on PATH, and {path!r} needs it. "
            f"Install Graphviz (apt-get install graphviz, brew install graphviz, conda install "
            f"graphviz, or https://graphviz.org/download/), or write the source with a .dot path"
        ) from err
    with open(path, "wb") as f:
        f.write(data)
    return path


def explore(root: Tensor, path: str | os.PathLike | None = None, mode: str = "both",
            collapse: bool | int = False, **options: Any) -> Any:
    """An interactive page of `root`'s graph (values, gradients, backward step by step):
    shown inline in Jupyter, written as one self-contained HTML file given `path`.
    See minigrad/explorer.py."""
    from minigrad.explorer import explore as _explore  # late: explorer imports this module
    return _explore(root, path, mode=mode, collapse=collapse, **options)


def _run_dot(source: str, fmt: str, timeout: float) -> bytes:
    """`dot -T<fmt>` on `source`; RenderError for a timeout or any failure of the program."""
    try:
        # check=False: a failing `dot` is reported below with its own message
        done = subprocess.run(["dot", f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"render: `dot` ran for more than timeout={timeout} s and was "
                          "stopped; draw less (collapse=True, mode='forward') or pass a larger "
                          "timeout=") from None
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise RenderError(f"render: `dot` could not be run: {err}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[:500]
        raise RenderError(f"render: `dot -T{fmt}` failed (exit status {done.returncode}): "
                          f"{message or 'no message'}")
    return done.stdout
