"""Settings read once from the environment into a frozen model.

Order: explicit arguments, then TENTHS_* / OPENAI_* variables, then defaults.
The API key is held as a SecretStr so it never shows in a repr or a log line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, SecretStr

from .errors import ConfigError

DEFAULT_HOME = Path(os.path.expanduser("~")) / ".tenths"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    engine: Literal["offline", "openai", "local"] = "offline"
    model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    local_model: str | None = None
    db_url: str = f"sqlite:///{DEFAULT_HOME / 'tenths.db'}"
    cache_dir: Path = DEFAULT_HOME / "cache"
    token_budget: int = 2_000_000
    concurrency: int = 4


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    engine = env.get("TENTHS_ENGINE", "offline").strip().lower() or "offline"
    if engine not in ("offline", "openai", "local"):
        raise ConfigError(f"TENTHS_ENGINE={engine!r} is not one of offline, openai, local")
    db_url = env.get("TENTHS_DB") or f"sqlite:///{DEFAULT_HOME / 'tenths.db'}"
    if env.get("TENTHS_CACHE"):
        cache = Path(env["TENTHS_CACHE"])
    elif db_url.startswith("sqlite:///") and db_url != "sqlite:///:memory:":
        cache = Path(db_url.removeprefix("sqlite:///")).parent / "cache"
    else:
        cache = DEFAULT_HOME / "cache"
    key = env.get("OPENAI_API_KEY")
    return Settings(
        engine=engine,
        model=env.get("TENTHS_MODEL") or "gpt-4o-mini",
        openai_base_url=env.get("OPENAI_BASE_URL") or None,
        openai_api_key=SecretStr(key) if key else None,
        local_model=env.get("TENTHS_LOCAL_MODEL") or None,
        db_url=db_url,
        cache_dir=cache,
        token_budget=int(env.get("TENTHS_TOKEN_BUDGET", "2000000")),
        concurrency=int(env.get("TENTHS_CONCURRENCY", "4")),
    )
