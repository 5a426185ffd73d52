#!/usr/bin/env bash
# Create bench/.venv-nomenklatura: a separate venv with OpenSanctions' nomenklatura (logic-v2),
# used ONLY as the benchmark baseline (through bench/screening/nk_score.py in a subprocess).
# It never enters distillguard's runtime dependencies.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="$here/.venv-nomenklatura"
py="${PYTHON:-python3.11}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "nomenklatura==${NOMENKLATURA_VERSION:-4.17.4}"
"$venv/bin/python" -c "import nomenklatura, sys; print('nomenklatura', nomenklatura.__version__ if hasattr(nomenklatura,'__version__') else '?', sys.version.split()[0])"
