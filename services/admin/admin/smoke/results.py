"""The outcome of one smoke check, and the one place a provider's refusal becomes a FAIL."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import requests

from invoicesync.errors import InvalidInput, Transient


class Outcome(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class CheckResult:
    """One assumption checked: its name (never containing ": "), what came of it, and what
    the provider showed."""

    name: str
    outcome: Outcome
    seen: str

    def line(self) -> str:
        return f"{self.outcome.value} {self.name}: {self.seen}"


def passed(name: str, seen: str) -> CheckResult:
    return CheckResult(name, Outcome.PASS, seen)


def failed(name: str, seen: str) -> CheckResult:
    return CheckResult(name, Outcome.FAIL, seen)


def skipped(name: str, seen: str) -> CheckResult:
    return CheckResult(name, Outcome.SKIP, seen)


# What the clients raise when a provider refuses or cannot be reached: a FAIL, never a crash,
# so one broken assumption does not hide the others.
PROVIDER_ERRORS = (InvalidInput, Transient, requests.RequestException)


def guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """`check()`, or a FAIL saying what the provider answered when it raised."""
    try:
        return check()
    except PROVIDER_ERRORS as exc:
        return failed(name, f"{type(exc).__name__}: {exc}")


def any_failed(results: list[CheckResult]) -> bool:
    return any(result.outcome is Outcome.FAIL for result in results)
