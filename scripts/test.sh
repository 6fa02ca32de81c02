#!/usr/bin/env bash
# Install rnnkit with its test dependencies and run the whole test suite, one worker
# process per CPU core (pytest-xdist), each worker's torch on one thread (the workers
# already fill the cores; more threads than cores slows torch's thread pool down).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/nn -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
if [ $# -eq 0 ]; then set -- tests; fi
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" python -m pytest -q -p no:cacheprovider -n auto --dist worksteal "$@"
