"""Fault injection settings (latency, errors, timeouts, 429 storms, webhook mishaps), seeded."""

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta

DEFAULT_SEED = 1234


@dataclass
class FaultSettings:
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 35
    storm_429_seconds: float = 0
    storm_429_until: datetime | None = None
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_delay_seconds: float = 1.0
    # The request is carried out, then its answer held back this long: past a client's read
    # timeout the answer is lost although the work (a token rotation, a write) is done. Keap
    # rotates refresh tokens with no grace, so a lost refresh answer locks the connection out
    # (shared/reference/keap.md §1 "Rotation", §8 gotcha 6).
    late_answer_seconds: float = 0.0
    endpoints: list[str] = field(default_factory=list)
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def update_from_json(self, body: dict, now: datetime | None = None) -> None:
        """Apply known keys; `storm_429_seconds` starts a storm lasting that long from `now`."""
        names = {f.name for f in fields(self)}
        unknown = set(body) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        for name, value in body.items():
            if name == "storm_429_until":
                value = datetime.fromisoformat(value) if value else None
            elif name == "endpoints":
                value = list(value or [])
            setattr(self, name, value)
        if "seed" in body:
            self.set_seed(int(body["seed"]))
        if body.get("storm_429_seconds") and now is not None:
            self.storm_429_until = now + timedelta(seconds=float(body["storm_429_seconds"]))

    def to_json(self) -> dict:
        data = asdict(self)
        data["storm_429_until"] = self.storm_429_until.isoformat() if self.storm_429_until else None
        return data

    def set_seed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._random.seed(seed)

    def chance(self, rate: float) -> bool:
        """One deterministic draw: True with probability `rate`."""
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def applies_to(self, path: str) -> bool:
        return not self.endpoints or any(path.startswith(prefix) for prefix in self.endpoints)

    def storming(self, now: datetime) -> bool:
        return self.storm_429_until is not None and now < self.storm_429_until

    def reset(self) -> None:
        defaults = FaultSettings()
        for f in fields(self):
            setattr(self, f.name, getattr(defaults, f.name))
        self.set_seed(DEFAULT_SEED)
