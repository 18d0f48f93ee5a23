"""docs/for-pytorch-users.md: its minigrad training script runs and prints what the page
shows, and it is the page's PyTorch script after exactly the replacements the page lists.

The page's conventions are those of tests/test_docs_examples.py: every ```python block runs,
in order, in one namespace; a ```text block right after one is its exact output. The
PyTorch script is the page's one ```py block (not run: the suite never needs PyTorch).
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from minigrad import creation, dtypes

PAGE = Path(__file__).resolve().parents[1] / "docs" / "for-pytorch-users.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
CHANGES = re.compile(r"^### The changes, line by line\n(.*?)(?=^#)", re.S | re.M)
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \|$", re.M)


def fences(markdown: str) -> list:
    """(info string, body, start offset, end offset) of every fenced block, in order."""
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(markdown)]


def replacements(markdown: str) -> list:
    """The (PyTorch, minigrad) pairs of the page's table of changes, in table order."""
    section = CHANGES.search(markdown)
    assert section, "the page has no '### The changes, line by line' section"
    return ROW.findall(section.group(1))


def _lines(text: str) -> list:
    return [line.rstrip() for line in text.rstrip().splitlines()]


def test_the_replacements_turn_the_pytorch_script_into_the_minigrad_one():
    page = PAGE.read_text(encoding="utf-8")
    blocks = fences(page)
    (torch_index,) = [i for i, block in enumerate(blocks) if block[0] == "py"]
    torch_script = blocks[torch_index][1]
    minigrad_script = next(b[1] for b in blocks[torch_index + 1:] if b[0] == "python")
    pairs = replacements(page)
    assert len(pairs) >= 4
    translated = torch_script
    for old, new in pairs:
        assert old in translated, f"the replacement {old!r} -> {new!r} changes nothing"
        translated = translated.replace(old, new)
    assert translated == minigrad_script
    assert "torch" not in minigrad_script


def test_every_block_runs_and_prints_what_the_page_shows(monkeypatch):
    # the script seeds minigrad's generator and sets the default dtype: restore both after
    monkeypatch.setattr(creation, "_generator", creation.generator())
    monkeypatch.setattr(dtypes, "_default_dtype", dtypes.get_default_dtype())
    page = PAGE.read_text(encoding="utf-8")
    blocks = fences(page)
    namespace: dict = {"__name__": "docs_for_pytorch_users"}
    checked = 0
    for i, (info, body, start, end) in enumerate(blocks):
        if info != "python":
            continue
        line = page.count("\n", 0, start) + 1
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(body, f"{PAGE.name}:{line}", "exec"), namespace)
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text" \
                and not page[end:blocks[i + 1][2]].strip():
            assert _lines(printed.getvalue()) == _lines(blocks[i + 1][1]), (
                f"the block at {PAGE.name} line {line} printed:\n{printed.getvalue()}")
            checked += 1
    assert checked >= 1
    # the script trained: the loss it printed last is near the noise floor (0.1^2)
    losses = [float(x) for x in re.findall(r"loss (\d+\.\d+)", page)]
    assert losses and losses[-1] < 0.06
