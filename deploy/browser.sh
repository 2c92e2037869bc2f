#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests when it is missing.
# Playwright drives this binary; it never downloads a browser of its own.
set -euo pipefail
exec bash "$(dirname "$0")/apt_install.sh" chromium chromium
