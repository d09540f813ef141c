#!/bin/sh
# Install the browser the real-browser tests drive (tests/browser): Debian's chromium, headless.
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (CI runs as root);
# never uses `playwright install` — Playwright drives the system chromium through executable_path.
set -eu
# fonts-dejavu-core also gives the PDF exports (accord.crisis.export) a Unicode font.
if [ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "install-browser: /usr/bin/chromium and DejaVu fonts present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-browser: chromium or fonts-dejavu-core missing and not root (no sudo): install them by hand" >&2
    exit 1
  fi
fi
echo "install-browser: chromium or DejaVu fonts missing; running apt-get update"
$SUDO apt-get update
echo "install-browser: apt-get install -y --no-install-recommends chromium fonts-dejavu-core"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
