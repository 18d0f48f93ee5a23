"""The code on docs/nn-and-optim.md runs, and prints exactly what the page says it prints.

Every ```python block of the page runs in page order in one namespace, as a reader pasting
them into one session would. A ```python block followed directly (only blank lines between)
by a ```text block must print exactly that text, so the page cannot drift from the library.
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from minigrad import creation, dtypes

PAGE = Path(__file__).resolve().parents[1] / "docs" / "nn-and-optim.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def code_blocks(markdown: str) -> list:
    """(line number, python source, expected output or None) for each ```python block."""
    fences = list(FENCE.finditer(markdown))
    blocks = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        expected = None
        if i + 1 < len(fences):
            after = fences[i + 1]
            between = markdown[fence.end():after.start()]
            if after.group(1) == "text" and not between.strip():
                expected = after.group(2)
        line = markdown.count("\n", 0, fence.start()) + 1
        blocks.append((line, fence.group(2), expected))
    return blocks


def run_blocks(blocks: list) -> list:
    """Run the blocks in order in one namespace; (line, expected, printed) per block."""
    namespace: dict = {"__name__": "docs_nn_and_optim"}
    results = []
    for line, source, expected in blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(source, f"{PAGE.name}:{line}", "exec"), namespace)
            except Exception as err:
                raise AssertionError(
                    f"the code block at {PAGE.name} line {line} raised "
                    f"{type(err).__name__}: {err}") from err
        results.append((line, expected, printed.getvalue()))
    return results


def _lines(text: str) -> list:
    return [line.rstrip() for line in text.rstrip().splitlines()]


def test_code_blocks_pairs_each_python_block_with_the_output_right_after_it() -> None:
    page = ("intro\n```python\nprint(1)\n```\n\n```text\n1\n```\n"
            "```python\nx = 2\n```\nprose\n```text\nnot an output\n```\n"
            "```math\na\n```\n```python\nprint(x)\n```\n```text\n2\n```\n")
    assert code_blocks(page) == [(2, "print(1)\n", "1\n"), (9, "x = 2\n", None),
                                 (19, "print(x)\n", "2\n")]
    results = run_blocks(code_blocks(page))
    assert [printed for _, _, printed in results] == ["1\n", "", "2\n"]


def test_a_wrong_output_or_a_raising_block_is_caught() -> None:
    ((_, expected, printed),) = run_blocks(code_blocks("```python\nprint(3)\n```\n```text\n4\n```\n"))
    assert _lines(printed) != _lines(expected)
    with pytest.raises(AssertionError, match=r"line 1 raised ZeroDivisionError"):
        run_blocks(code_blocks("```python\n1 / 0\n```\n"))


def test_the_page_has_checked_examples() -> None:
    blocks = code_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 15
    unchecked = [line for line, _, expected in blocks if expected is None]
    assert not unchecked, f"python blocks without an output block after them, at lines {unchecked}"


def test_every_example_runs_and_prints_what_the_page_shows(monkeypatch) -> None:
    # the page seeds minigrad's generator; give the rest of the suite its own back afterwards
    monkeypatch.setattr(creation, "_generator", creation.generator())
    monkeypatch.setattr(dtypes, "_default_dtype", dtypes.get_default_dtype())
    blocks = code_blocks(PAGE.read_text(encoding="utf-8"))
    for line, expected, printed in run_blocks(blocks):
        if expected is None:
            continue
        assert _lines(printed) == _lines(expected), (
            f"the block at {PAGE.name} line {line} printed:\n{printed}\n"
            f"but the page shows:\n{expected}")
