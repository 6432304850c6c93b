"""The ``headwater learn`` configuration file (TOML): ``[kinesis]`` and one ``[learner]``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from headwater.config_files import read_toml
from headwater.ml.online import OnlineLearningSettings


class LearnConfigError(ValueError):
    """A learner configuration that cannot be used."""


@dataclasses.dataclass(frozen=True, slots=True)
class LearnConfig:
    settings: OnlineLearningSettings
    model: str  # "module:function" returning a fresh LearnerState
    lease_store: str
    endpoint_url: str | None = None
    region: str = "us-east-1"


_PATHS = ("state_path",)
_REQUIRED = ("stream", "application", "label_field", "id_field", "model")


def _beside(base: Path, value: str) -> str:
    return value if "://" in value else str((base / value).resolve())


def parse_learn_config(data: dict[str, Any], base: Path = Path(".")) -> LearnConfig:
    learner = dict(data.get("learner") or {})
    missing = [name for name in _REQUIRED if not learner.get(name)]
    if missing:
        raise LearnConfigError(f"[learner] needs {', '.join(missing)}")
    model = str(learner.pop("model"))
    known = {field.name for field in dataclasses.fields(OnlineLearningSettings)}
    unknown = sorted(set(learner) - known)
    if unknown:
        raise LearnConfigError(f"[learner]: unknown settings {unknown}")
    learner.setdefault("state_path", f"{learner['application']}.state.pickle")
    for name in _PATHS:
        learner[name] = Path(_beside(base, str(learner[name])))
    if learner.get("online_store"):
        store = str(learner["online_store"])
        learner["online_store"] = store if "://" in store else f"sqlite:///{_beside(base, store)}"
    try:
        settings = OnlineLearningSettings(**learner)
    except TypeError as error:
        raise LearnConfigError(f"[learner]: {error}") from None
    if settings.checkpoint_records <= 0 or settings.checkpoint_interval <= 0:
        raise LearnConfigError("[learner]: checkpoint_records and checkpoint_interval must be > 0")
    kinesis = data.get("kinesis") or {}
    return LearnConfig(
        settings,
        model,
        _beside(base, str(kinesis.get("lease_store", "headwater-learner-leases.sqlite"))),
        kinesis.get("endpoint_url"),
        kinesis.get("region", "us-east-1"),
    )


def load_learn_config(path: str | Path) -> LearnConfig:
    path = Path(path)
    return parse_learn_config(read_toml(path, LearnConfigError), path.parent)
