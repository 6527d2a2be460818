#!/usr/bin/env bash
# Install everything the tests need (a venv, the package with all extras, Debian's chromium for
# the browser test) and run the whole test suite. Used by the README and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch is pinned to the CPU build that lies on this machine's disk (see pyproject.toml).
.venv/bin/python -m pip install -q -e '.[all]'
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "could not install chromium; the browser test will be skipped" >&2
  else
    echo "chromium is not installed and we are not root; the browser test will be skipped" >&2
  fi
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
