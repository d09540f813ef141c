#!/bin/sh
# Install the browser the real-browser tests drive (tests/browser): Debian's chromium, headless.
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (CI runs as root);
# never uses `playwright install` — Playwright drives the system chromium through executable_path.
set -eu
if [ -x /usr/bin/chromium ]; then
  echo "install-browser: /usr/bin/chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-browser: /usr/bin/chromium missing and not root (no sudo): install Debian's chromium by hand" >&2
    exit 1
  fi
fi
echo "install-browser: /usr/bin/chromium missing; running apt-get update"
$SUDO apt-get update
echo "install-browser: apt-get install -y --no-install-recommends chromium fonts-dejavu-core"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
