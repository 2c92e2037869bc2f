#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests when it is missing.
# Playwright drives this binary; it never downloads a browser of its own.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
sudo=()
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "browser.sh: chromium is missing and installing it needs root" >&2
        exit 1
    }
    sudo=(sudo)
fi
echo "Installing Debian's chromium"
"${sudo[@]}" apt-get update -qq
# env, not a bare prefix: after an expanded "$sudo" an assignment would run as a command.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium >/dev/null
echo "chromium installed: $(dpkg-query -W -f='${Version}' chromium)"
