"""The installers' "it is missing" branches, run for real with the tool hidden from PATH.

A machine that already has Chromium and redis-server never takes these branches, so a broken
install step would otherwise stay green until a fresh machine met it. The package manager is
the real one: installing a package that is already installed is a quick no-op. The venv step
and the Kafka jar fetch need no such test: a fresh clone (as CI runs) always takes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

INSTALLERS = [
    pytest.param(["deploy/browser.sh"], "chromium", "chromium installed: ", id="chromium"),
    pytest.param(
        ["deploy/redis/redis.sh", "install"],
        "redis-server",
        "redis-server installed: ",
        id="redis-server",
    ),
]


def can_install_packages() -> bool:
    if shutil.which("apt-get") is None:
        return False
    if os.geteuid() == 0:
        return True
    sudo_asks_nothing = subprocess.run(["sudo", "-n", "true"], capture_output=True)
    return shutil.which("sudo") is not None and sudo_asks_nothing.returncode == 0


def path_without(hidden: str, into: Path) -> str:
    """A PATH of one folder linking every command of today's PATH but the hidden one."""
    into.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            link = into / entry.name
            if entry.name == hidden or link.exists() or not os.access(entry.path, os.X_OK):
                continue
            link.symlink_to(entry.path)
    return str(into)


def run_installer(command: list[str], path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", *command],
        cwd=REPO,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.skipif(not can_install_packages(), reason="installing packages needs root or sudo")
@pytest.mark.parametrize(("command", "tool", "success_line"), INSTALLERS)
def test_installer_installs_the_tool_when_it_is_missing_from_path(
    command: list[str], tool: str, success_line: str, tmp_path: Path
) -> None:
    hidden_path = path_without(tool, tmp_path / "bin")
    assert shutil.which(tool, path=hidden_path) is None

    result = run_installer(command, hidden_path)

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert f"Installing Debian's {tool}" in result.stdout
    assert success_line in result.stdout
    assert shutil.which(tool) is not None  # the real PATH has it once installed


@pytest.mark.parametrize(("command", "tool", "success_line"), INSTALLERS)
def test_installer_does_nothing_when_the_tool_is_there(
    command: list[str], tool: str, success_line: str
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed here")

    result = run_installer(command, os.environ["PATH"])

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Installing" not in result.stdout


@pytest.mark.skipif(not can_install_packages(), reason="installing packages needs root or sudo")
def test_an_install_waits_for_another_apt_run_holding_the_lists_lock(tmp_path: Path) -> None:
    """`apt-get update` has no lock timeout of its own: another apt run (unattended upgrades, a
    second installer) must make the installer wait, not fail."""
    hidden_path = path_without("redis-server", tmp_path / "bin")
    holder = subprocess.Popen(
        [
            "python3",
            "-c",
            "import fcntl, sys, time\n"
            "lock = open('/var/lib/apt/lists/lock', 'w')\n"
            "fcntl.lockf(lock, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(6)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = run_installer(["deploy/redis/redis.sh", "install"], hidden_path)
    finally:
        holder.kill()
        holder.wait()

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "redis-server installed: " in result.stdout
