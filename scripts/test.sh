#!/usr/bin/env bash
# Install rnnkit with its test dependencies and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
python -m pytest -q -p no:cacheprovider tests
