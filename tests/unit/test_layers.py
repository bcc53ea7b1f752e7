"""The package's import layers (import-linter contracts in pyproject.toml) hold, and a planted
upward import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_contracts_hold_and_a_planted_upward_import_breaks_them(tmp_path):
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy)
    for package in ("llm_assets", "llm_assets_demo"):
        shutil.copytree(ROOT / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    kept = _lint(copy)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "broken" not in kept.stdout.lower().replace("0 broken", "")
    models = copy / "llm_assets" / "core" / "models.py"
    models.write_text(models.read_text() + "\nfrom llm_assets.defs import build  # noqa\n")
    broken = _lint(copy)
    assert broken.returncode != 0
    assert "llm_assets.core.models -> llm_assets.defs.build" in broken.stdout, broken.stdout
