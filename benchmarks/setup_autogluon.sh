#!/usr/bin/env bash
# Create the virtual environment that benchmarks/compare.py runs AutoGluon in.
#
# AutoGluon 1.6.3 wants pandas < 3 while sknas's environment has pandas 3, so it lives in a
# venv of its own and compare.py calls benchmarks/autogluon_runner.py inside it in a
# subprocess. Only the tabular part with its three tree libraries is installed (no
# multimodal, time-series or neural tabular models). torch is pinned to the release this
# machine already holds, should a dependency pull it in (the tabular
# tree models do not need it).
#
# Usage:
#   bash benchmarks/setup_autogluon.sh            # venv at $SKNAS_AUTOGLUON_VENV
#   SKNAS_AUTOGLUON_VENV=/some/dir bash benchmarks/setup_autogluon.sh
#
# Default venv: $HOME/.cache/sknas/autogluon-venv. Rerunning is safe (pip skips what is there).
set -euo pipefail

VENV="${SKNAS_AUTOGLUON_VENV:-$HOME/.cache/sknas/autogluon-venv}"
PYTHON="${PYTHON:-python3}"
AUTOGLUON_VERSION="1.6.3"

started=$(date +%s)
mkdir -p "$(dirname "$VENV")"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip
# A constraint, not a requirement: torch comes in only if a dependency asks for it, and then
# as the CPU build of 2.13.0 that this machine keeps on disk.
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
printf 'torch==2.13.0\npandas<3\n' >"$constraints"
"$VENV/bin/python" -m pip install -c "$constraints" \
    "autogluon.tabular[lightgbm,catboost,xgboost]==${AUTOGLUON_VERSION}"
"$VENV/bin/python" - <<'EOF'
import autogluon.tabular, pandas, sklearn
print("autogluon.tabular", autogluon.tabular.__version__, "pandas", pandas.__version__,
      "sklearn", sklearn.__version__)
EOF
echo "AutoGluon venv ready at $VENV in $(( $(date +%s) - started )) s"
