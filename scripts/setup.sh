#!/usr/bin/env bash
# Set up digitscan on a fresh Debian 12 machine with Python 3.11:
# poppler (for PDF input), a virtual environment in .venv, and digitscan with the CPU build of TensorFlow.
#   bash scripts/setup.sh          # to run digitscan
#   bash scripts/setup.sh --dev    # to run the tests too (editable install, pytest, ruff, mypy, selenium,
#                                  # and Debian's chromium + chromium-driver for the review page's browser tests)
# Exit code 3 when a system package is missing and cannot be installed from here; the message says how.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1
python=${PYTHON:-python3}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

apt_install() {  # apt_install PACKAGE...: install Debian packages, or stop with the exact command to run
  echo "digitscan setup: installing $* (apt-get)" >&2
  if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }; then
    echo "digitscan setup: could not install $* from here. Run:  sudo apt-get install -y $*" >&2
    exit 3
  fi
}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "digitscan setup: needs Python >= 3.11 as '$python' (set PYTHON=/path/to/python3.11)" >&2
  exit 3
fi
command -v pdftoppm >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1 || apt_install poppler-utils
"$python" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
if [ "$dev" = 1 ]; then  # the review page's browser tests drive Debian's Chromium through its chromedriver
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || apt_install chromium chromium-driver
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[cpu,dev]"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check ".[cpu]"
fi
echo "digitscan setup: ready ($(.venv/bin/digitscan --help >/dev/null && echo .venv/bin/digitscan))" >&2
