#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests when it is missing.
# Playwright drives this binary; it never downloads a browser of its own.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [[ "$(id -u)" -eq 0 ]]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "browser.sh: chromium is missing and cannot be installed without root" >&2
    exit 1
fi
$sudo apt-get update -qq
$sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "chromium installed: $(chromium --version)"
