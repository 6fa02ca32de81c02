#!/usr/bin/env bash
# Install rnnkit and what it needs. torch goes first and is pinned (2.13.0, the CPU
# build): installed before anything else, no dependency can pull another build.
# Usage: bash scripts/install.sh [extra]   e.g. `bash scripts/install.sh test`
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
cd "$(dirname "$0")/.."
python -m pip install --quiet torch==2.13.0
if [ $# -gt 0 ]; then
    python -m pip install --quiet -e ".[$1]"
else
    python -m pip install --quiet -e .
fi
