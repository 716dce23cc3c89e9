#!/usr/bin/env bash
# Set up RareDesk on a fresh Debian/Ubuntu machine (Python 3.11+), then run it.
#   bash packaging/bootstrap.sh demo   # install, build the demo case and open it
#   bash packaging/bootstrap.sh test   # install (with test tools) and run the test suite
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
shift || true

say() { printf '[raredesk] %s\n' "$*" >&2; }

# -- system libraries -------------------------------------------------------------------
# Qt (PySide6) needs GL/EGL, xkbcommon, fontconfig, D-Bus and GLib even offscreen.
# libdeflate0: fast BGZF inflate for the depth engine (plain zlib without it, about 2x slower)
pkgs="libgl1 libegl1 libxkbcommon0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libx11-6 fonts-dejavu-core libdeflate0"
if [ "$mode" = test ]; then
  # reference tools the tests and benchmarks compare against, and PDF rendering for report checks
  pkgs="$pkgs bcftools samtools tabix mosdepth poppler-utils"
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  pkgs="$pkgs python3-venv"
fi
if command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing system packages:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
else
  say "apt-get not found: install these yourself if missing: $pkgs"
fi

# -- Python environment -----------------------------------------------------------------
python3 - <<'PY' || { say "RareDesk needs Python 3.11 or newer"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.raredesk-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing RareDesk and its Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[gui,test]"
  touch "$stamp"
fi

case "$mode" in
  demo)
    exec .venv/bin/raredesk demo "$@"
    ;;
  test)
    export RAREDESK_TEST_DATA="${RAREDESK_TEST_DATA:-$(cd .. && pwd)/shared/data}"
    export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
    exec .venv/bin/python -m pytest -q "$@"
    ;;
  *)
    say "usage: bash packaging/bootstrap.sh demo|test"
    exit 2
    ;;
esac
