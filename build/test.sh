#!/usr/bin/env bash
# Set up (packages, .venv with test tools) and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash build/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh --test
exec .venv/bin/python -m pytest "$@"
