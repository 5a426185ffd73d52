#!/usr/bin/env bash
# Install the LiteLLM proxy into bench/.venv-litellm for the comparison benchmark only.
# It is never a dependency of distillguard. The version is pinned exactly: PyPI's
# litellm 1.82.7 and 1.82.8 shipped a credential stealer (OSV MAL-2026-2144) and 1.107.0
# was reported compromised as well, so never float this pin. (1.108+ splits the proxy into
# a litellm-proxy package that the index here does not carry.)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${LITELLM_VERSION:-1.106.12}"
case "$VERSION" in
  1.82.7|1.82.8|1.107.0) echo "refusing compromised litellm $VERSION" >&2; exit 2 ;;
esac
PY="${PYTHON:-python3}"
if [ ! -x .venv-litellm/bin/python ]; then
  "$PY" -m venv .venv-litellm
fi
.venv-litellm/bin/pip install -q --upgrade pip
.venv-litellm/bin/pip install -q "litellm[proxy]==${VERSION}"
.venv-litellm/bin/litellm --version 2>/dev/null || .venv-litellm/bin/python -c "import litellm; print('litellm', litellm.__version__ if hasattr(litellm,'__version__') else '$VERSION')"
