#!/usr/bin/env bash
# Install rnnkit and run the main demonstration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python examples/demo.py
