#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: OS packages, a virtualenv, the project.
# `make setup` runs this; `make demo` and `make test` run `make setup` first, so a clean
# clone needs nothing else. Re-running it is cheap: each step checks before it acts.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.centralita-installed"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

apt_install() {
  # Debian packages the project needs on the PATH; installed only when missing.
  local missing=()
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # the browser softphone test
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  # Real SIP software the SIP trunk tests call (tests/support/sip_peers.py).
  command -v baresip >/dev/null 2>&1 || missing+=(baresip-core)
  command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing OS packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
}

install_project() {
  # Reinstall only when the dependency list changed since the last successful install.
  if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ]; then
    return 0
  fi
  # torch first, pinned to the CPU build this machine has: anything that later asks for
  # torch (sentence-transformers, silero-vad) then finds it instead of pulling CUDA builds.
  if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
    log "installing torch==2.13.0 (CPU)"
    "$VENV/bin/pip" install -q torch==2.13.0
  fi
  log "installing centralita (editable, with dev extras)"
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$STAMP"
}

apt_install
make_venv
install_project
log "ready: $VENV ($("$VENV/bin/python" --version)), espeak-ng $(espeak-ng --version | awk '{print $4}'), $(docker-compose version --short 2>/dev/null || echo 'docker-compose ?')"
