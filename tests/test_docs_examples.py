"""Every Python code block of README.md and docs/*.md runs, and prints what the page shows.

The conventions, for every page:
- Each ```python (or ```py) block runs, in page order, in one namespace per page, as a reader
  pasting them into one session would; a page's blocks run in a fresh temporary folder (the
  examples write files such as graph.svg).
- A Python block followed directly (only blank lines between) by a ```text block must print
  exactly that text, so the page cannot drift from the library.
- A block opts out only with the marker `# not run: <reason>` on its first line.
- A block that needs something optional (Graphviz, onnx, onnxruntime, torch; found in its
  imports and calls, see `requirements`) is skipped, with the reason, when that is missing,
  and so is a later block that uses a name it defines. A missing `dot` program fails under
  CI instead (conftest's `require_tool`), as everywhere else in the suite.
docs/nn-and-optim.md, the page of checked examples, must moreover pair every block with its
output.
"""
from __future__ import annotations

import ast
import contextlib
import shutil
import importlib.util
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from minigrad import creation, dtypes

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
PYTHON = ("python", "py")
NOT_RUN = re.compile(r"#\s*not run:\s*(\S.*)")

# what an optional package is for, and how to get it
PACKAGES = {
    "graphviz": "pip install graphviz (the Python package; the `dot` program as well)",
    "onnx": "pip install onnx",
    "onnxruntime": "pip install onnxruntime",
    "torch": "pip install torch",
    "matplotlib": "pip install matplotlib",
}


@dataclass
class Block:
    line: int            # where the fence opens, 1-based
    source: str
    expected: str | None  # the ```text block right after it, if any
    not_run: str | None   # the reason given by a `# not run:` marker


def code_blocks(markdown: str) -> list[Block]:
    """The page's Python blocks, in order, each with the output block after it (if any)."""
    fences = list(FENCE.finditer(markdown))
    blocks = []
    for i, fence in enumerate(fences):
        if fence.group(1) not in PYTHON:
            continue
        expected = None
        if i + 1 < len(fences):
            after = fences[i + 1]
            between = markdown[fence.end():after.start()]
            if after.group(1) == "text" and not between.strip():
                expected = after.group(2)
        source = fence.group(2)
        first = source.lstrip("\n").split("\n", 1)[0].strip()
        marker = NOT_RUN.fullmatch(first)
        line = markdown.count("\n", 0, fence.start()) + 1
        blocks.append(Block(line, source, expected, marker.group(1) if marker else None))
    return blocks


def requirements(source: str) -> tuple[list[str], bool]:
    """The optional packages a block imports or calls for, and whether it runs `dot`."""
    packages = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            packages.add(node.module.split(".")[0])
    packages &= set(PACKAGES)
    # minigrad's own optional paths: the renderer (graphviz and `dot`), the exporters
    renders = "minigrad.viz" in source or re.search(r"\bviz\.(render|draw|explore)\(", source)
    if renders:
        packages.add("graphviz")
    if re.search(r"\bto_onnx\(", source):
        packages.add("onnx")
    if re.search(r"\b(to|from)_torch_\w+\(|\bto_torch_module\(", source):
        packages.add("torch")
    return sorted(packages), bool(renders)


def defined_names(source: str) -> set[str]:
    """The names a block binds (assignments, imports, defs, loop and with targets)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


@dataclass
class Outcome:
    ran: list[tuple[Block, str]]          # (block, what it printed)
    skipped: list[tuple[Block, str]]      # (block, why)
    missing_dot: bool


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def run_page(blocks: list[Block], page: str, dot_available: bool = True,
             available: Callable[[str], bool] = installed) -> Outcome:
    """Run the blocks in order in one namespace; skip what needs a missing package (or
    `dot`) and what uses a name that a skipped block would have defined."""
    namespace: dict = {"__name__": "docs_" + re.sub(r"\W", "_", page)}
    outcome = Outcome([], [], False)
    unavailable: dict = {}  # name -> line of the skipped block that defines it
    for block in blocks:
        if block.not_run is not None:
            outcome.skipped.append((block, f"marked `# not run: {block.not_run}`"))
            continue
        packages, renders = requirements(block.source)
        missing = [p for p in packages if not available(p)]
        if renders and not dot_available:
            outcome.missing_dot = True
            missing.append("the `dot` program")
        if missing:
            outcome.skipped.append((block, f"needs {', '.join(missing)}"))
            unavailable.update(dict.fromkeys(defined_names(block.source), block.line))
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(block.source, f"{page}:{block.line}", "exec"), namespace)
            except NameError as err:
                if err.name not in unavailable:
                    raise AssertionError(f"the code block at {page} line {block.line} raised "
                                         f"NameError: {err}") from err
                outcome.skipped.append(
                    (block, f"uses {err.name!r} from the skipped block at line "
                            f"{unavailable[err.name]}"))
                unavailable.update(dict.fromkeys(defined_names(block.source), block.line))
                continue
            except Exception as err:
                raise AssertionError(f"the code block at {page} line {block.line} raised "
                                     f"{type(err).__name__}: {err}") from err
        outcome.ran.append((block, printed.getvalue()))
    return outcome


def _lines(text: str) -> list:
    return [line.rstrip() for line in text.rstrip().splitlines()]


# ---- the machinery itself -----------------------------------------------------------------

def test_code_blocks_pairs_each_python_block_with_the_output_right_after_it() -> None:
    page = ("intro\n```python\nprint(1)\n```\n\n```text\n1\n```\n"
            "```py\nx = 2\n```\nprose\n```text\nnot an output\n```\n"
            "```math\na\n```\n```python\nprint(x)\n```\n```text\n2\n```\n")
    blocks = code_blocks(page)
    assert [(b.line, b.source, b.expected) for b in blocks] == [
        (2, "print(1)\n", "1\n"), (9, "x = 2\n", None), (19, "print(x)\n", "2\n")]
    outcome = run_page(blocks, "page")
    assert [printed for _, printed in outcome.ran] == ["1\n", "", "2\n"]


def test_a_wrong_output_or_a_raising_block_is_caught() -> None:
    ((_, printed),) = run_page(code_blocks("```python\nprint(3)\n```\n```text\n4\n```\n"), "p").ran
    assert _lines(printed) != ["4"]
    with pytest.raises(AssertionError, match=r"line 1 raised ZeroDivisionError"):
        run_page(code_blocks("```python\n1 / 0\n```\n"), "p")
    with pytest.raises(AssertionError, match=r"line 1 raised NameError"):
        run_page(code_blocks("```python\nprint(undefined_name)\n```\n"), "p")


def test_only_an_explicit_marker_with_a_reason_opts_a_block_out() -> None:
    page = ("```python\n# not run: it downloads a data set\n1 / 0\n```\n"
            "```python\n# not run:\n1 / 0\n```\n")
    first, second = code_blocks(page)
    assert first.not_run == "it downloads a data set"
    assert second.not_run is None  # a marker without a reason does not count
    with pytest.raises(AssertionError, match="line 5 raised ZeroDivisionError"):
        run_page([first, second], "p")


def test_a_block_needing_a_missing_package_is_skipped_with_those_that_use_its_names() -> None:
    page = ("```python\nimport no_such_package_xyz\n```\n"      # not optional: must fail
            "```python\nimport torch\nnet = torch.nn.Linear(1, 1)\n```\n"
            "```python\nprint(net)\n```\n"
            "```python\nimport minigrad.viz\nminigrad.viz.render(loss, 'g.svg')\n```\n"
            "```python\nprint('still runs')\n```\n")
    blocks = code_blocks(page)
    assert requirements(blocks[1].source) == (["torch"], False)
    assert requirements(blocks[3].source) == (["graphviz"], True)
    assert requirements("from minigrad.export import to_onnx\nto_onnx(m, x, 'm.onnx')") == (
        ["onnx"], False)
    with pytest.raises(AssertionError, match="ModuleNotFoundError"):
        run_page(blocks, "p")
    outcome = run_page(blocks[1:], "p", dot_available=False,
                       available=lambda package: package != "torch")
    assert outcome.missing_dot
    assert [(b.line, why) for b, why in outcome.skipped] == [
        (4, "needs torch"), (8, "uses 'net' from the skipped block at line 4"),
        (11, "needs the `dot` program")]
    assert [printed for _, printed in outcome.ran] == ["still runs\n"]


# ---- the pages ----------------------------------------------------------------------------

def test_the_pages_have_code_and_nn_and_optim_checks_all_of_its_blocks() -> None:
    assert len(PAGES) >= 10
    counted = {page.name: len(code_blocks(page.read_text(encoding="utf-8"))) for page in PAGES}
    assert sum(counted.values()) >= 40
    blocks = code_blocks((ROOT / "docs" / "nn-and-optim.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 15
    unchecked = [b.line for b in blocks if b.expected is None]
    assert not unchecked, f"python blocks without an output block after them, at lines {unchecked}"


WITH_CODE = [p for p in PAGES if code_blocks(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", WITH_CODE, ids=[p.name for p in WITH_CODE])
def test_every_block_runs_and_prints_what_the_page_shows(page: Path, tmp_path: Path,
                                                         monkeypatch: Any,
                                                         require_tool: Any) -> None:
    blocks = code_blocks(page.read_text(encoding="utf-8"))
    # the pages seed minigrad's generator and may set its default dtype or torch's: give the
    # rest of the suite its own back afterwards; the files they write go to tmp_path
    monkeypatch.setattr(creation, "_generator", creation.generator())
    monkeypatch.setattr(dtypes, "_default_dtype", dtypes.get_default_dtype())
    torch_dtype = sys.modules["torch"].get_default_dtype() if "torch" in sys.modules else None
    monkeypatch.chdir(tmp_path)
    try:
        outcome = run_page(blocks, page.name, dot_available=shutil.which("dot") is not None)
    finally:
        if "torch" in sys.modules:  # torch starts with float32
            torch = sys.modules["torch"]
            torch.set_default_dtype(torch_dtype or torch.float32)
    for block, printed in outcome.ran:
        if block.expected is not None:
            assert _lines(printed) == _lines(block.expected), (
                f"the block at {page.name} line {block.line} printed:\n{printed}\n"
                f"but the page shows:\n{block.expected}")
    if outcome.missing_dot:
        require_tool("dot")  # fails under CI, skips locally
    if outcome.skipped:
        pytest.skip(f"{page.name}: {len(outcome.ran)} blocks ran and printed what the page "
                    f"shows; skipped: " + "; ".join(f"line {b.line} ({why})"
                                                    for b, why in outcome.skipped))
