#!/usr/bin/env bash
# Installs one Debian package when its command is missing: `apt_install.sh COMMAND PACKAGE`.
# Used by browser.sh (chromium) and redis/redis.sh (redis-server); waits for another apt/dpkg
# run to finish rather than failing on its lock.
set -euo pipefail
command_name="$1" package="$2"
command -v "$command_name" >/dev/null 2>&1 && exit 0
sudo=()
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "apt_install.sh: $package is missing and installing it needs root" >&2
        exit 1
    }
    sudo=(sudo)
fi
echo "Installing Debian's $package"
# apt-get update takes no lock timeout (DPkg::Lock::Timeout covers only dpkg's lock): retry
# while another apt run holds the lists lock, up to five minutes.
for attempt in $(seq 60); do
    if errors="$("${sudo[@]}" apt-get update -qq 2>&1 >/dev/null)"; then
        break
    fi
    if [[ "$errors" != *"Could not get lock"* || "$attempt" == 60 ]]; then
        echo "$errors" >&2
        exit 100
    fi
    sleep 5
done
# env, not a bare prefix: after an expanded "$sudo" an assignment would run as a command.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$package" >/dev/null
echo "$package installed: $(dpkg-query -W -f='${Version}' "$package")"
