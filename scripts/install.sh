#!/usr/bin/env bash
# Install rnnkit and what it needs, at the exact versions CI tests (constraints.txt).
# torch goes first (2.13.0, the CPU build): installed before anything else, no
# dependency can pull another build. pyproject.toml itself declares lower bounds only.
# Usage: bash scripts/install.sh [extra]   e.g. `bash scripts/install.sh test`
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
cd "$(dirname "$0")/.."
python -m pip install --quiet torch==2.13.0
if [ $# -gt 0 ]; then
    python -m pip install --quiet -c constraints.txt -e ".[$1]"
else
    python -m pip install --quiet -c constraints.txt -e .
fi
