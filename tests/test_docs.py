"""The documentation in doc/ builds with Sphinx, warnings as errors (as in CI)."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a full Sphinx build

DOC_DIR = Path(__file__).resolve().parents[1] / "doc"
DOCUMENTED = [
    "sknas.NASClassifier",
    "sknas.NASClassifier.fit",
    "sknas.NASRegressor",
    "sknas.SearchFailedError",
    "sknas.strategies.Strategy",
    "sknas.strategies.FusedStrategy",
    "sknas.strategies.HyperoptStrategy",
    "sknas.strategies.RegularizedEvolutionStrategy",
    "sknas.strategies.RandomStrategy",
    "sknas.plotting.plot_search_progress",
    "sknas.plotting.plot_family_scores",
    "sknas.plotting.plot_ensemble_weights",
    "sknas.plotting.plot_architecture",
    "sknas.plotting.plot_drift",
    "sknas.load",
    "sknas.persistence.save",
    "sknas.export.to_onnx",
    "sknas.monitoring.monitor",
    "sknas.monitoring.MonitorReport",
    "sknas.study.Study",
    "sknas.strategies.Proposal",
    "sknas.fidelity.make_pruner",
]


def test_docs_build_without_warnings(tmp_path, capsys):
    build_main = pytest.importorskip("sphinx.cmd.build").build_main

    status = build_main(["-W", "--keep-going", "-b", "html", "-q", str(DOC_DIR), str(tmp_path)])

    assert status == 0, capsys.readouterr().err
    pages = {
        name: (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        for name in ["index", "quickstart", "user_guide", "architecture", "api", "benchmarks"]
    }
    assert "NASClassifier" in pages["index"]
    for name in DOCUMENTED:
        assert f'id="{name}"' in pages["api"], name
    assert "From the command line" in pages["quickstart"]
    assert "Pruning: successive halving" in pages["user_guide"]
    assert "Where is pruning decided?" in pages["architecture"]
    assert "Ablation" in pages["benchmarks"]
