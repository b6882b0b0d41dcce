"""The examples run (with small budgets) and do what they say."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_digits_example_searches_cnns_and_scores_well(capsys):
    sys.path.insert(0, str(EXAMPLES))
    try:
        from digits_nas import main
    finally:
        sys.path.remove(str(EXAMPLES))
    accuracy = main(["--time-budget", "12", "--seed", "0"])
    assert accuracy > 0.95
    assert "cnn" in capsys.readouterr().out


def test_pipeline_and_serving_example_runs(capsys):
    runpy.run_path(str(EXAMPLES / "pipeline_and_serving.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "3-fold accuracy" in out
    accuracy = float(out.split("3-fold accuracy: ")[1].split()[0])
    assert accuracy == pytest.approx(0.95, abs=0.05)
