"""The `requires_tool` marker of tests/conftest.py: a missing program skips the test with
install advice locally, and fails it when CI is set."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
TEST = '''
import pytest

@pytest.mark.requires_tool("dot")
def test_marked():
    pass

def test_by_fixture(require_tool):
    require_tool("dot")
'''


def run_pytest(tmp_path, ci):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_tool.py").write_text(TEST)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(tmp_path)  # no `dot` on this PATH
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run([sys.executable, "-m", "pytest", "-rsf", "-p", "no:cacheprovider",
                             str(tmp_path)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    return result.returncode, result.stdout


def test_a_missing_program_skips_with_install_advice(tmp_path):
    code, out = run_pytest(tmp_path, ci=None)
    assert code == 0, out
    assert "2 skipped" in out
    assert "Graphviz's `dot` program is not installed; install it with: apt-get install graphviz" in out


def test_a_missing_program_fails_under_ci(tmp_path):
    code, out = run_pytest(tmp_path, ci="true")
    assert code == 1, out
    # the marker fails in setup (an error), the fixture inside the test (a failure)
    assert "1 failed, 1 error" in out and "passed" not in out and "skipped" not in out
    assert out.count("CI is set, so a missing program fails the run") >= 2


@pytest.mark.parametrize("value, ci", [("true", True), ("1", True), ("yes", True),
                                       ("", False), ("0", False), ("false", False),
                                       ("False", False), (None, False)])
def test_which_values_of_ci_count_as_ci(monkeypatch, value, ci):
    from conftest import in_ci  # tests/conftest.py, loaded by pytest under this name

    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is ci
