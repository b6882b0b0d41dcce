"""The command line the README's quick start runs."""

from __future__ import annotations

import re

import pytest

from sknas.cli import main


def test_demo_runs_a_real_search_and_reports_test_accuracy(capsys):
    assert main(["demo", "--time-budget", "6", "--verbose", "0", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Leaderboard (top 3 of" in out
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.9


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
