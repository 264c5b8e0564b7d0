"""Engines: the offline one (default), an OpenAI-compatible server, or llama.cpp run locally.

    engine = get_engine(settings)        # settings: assistant.settings.Settings
    engine.narrate(items) / rewrite / code / write_letter, engine.stats, engine.name

Only `openai_engine` imports openai/instructor, and only when that engine is asked for.
Extra knobs from the environment: TENTHS_LLM_MODE (json_schema | json | tools | md_json),
TENTHS_LLM_TIMEOUT (seconds per request), TENTHS_LLM_BATCH (items per request, default 20).
"""

from __future__ import annotations

import os
from typing import Mapping

from ..errors import ConfigError
from ..settings import Settings
from .base import CodeItem, Engine, EngineStats, NarrateItem, RewriteItem
from .offline import OfflineEngine

__all__ = ["get_engine", "Engine", "EngineStats", "NarrateItem", "RewriteItem", "CodeItem", "OfflineEngine"]


def engine_options(env: Mapping[str, str] | None = None) -> dict:
    env = os.environ if env is None else env
    opts: dict = {}
    try:
        if env.get("TENTHS_LLM_MODE"):
            opts["mode"] = env["TENTHS_LLM_MODE"]
        if env.get("TENTHS_LLM_TIMEOUT"):
            opts["timeout"] = float(env["TENTHS_LLM_TIMEOUT"])
        if env.get("TENTHS_LLM_BATCH"):
            opts["batch_size"] = int(env["TENTHS_LLM_BATCH"])
    except ValueError as e:
        raise ConfigError(f"bad engine setting: {e}") from None
    return opts


def get_engine(settings: Settings, **options) -> Engine:
    """The engine `settings.engine` names; keyword options override TENTHS_LLM_* variables."""
    if settings.engine == "offline":
        return OfflineEngine()
    opts = {**engine_options(), **options}
    if settings.engine == "openai":
        from .openai_engine import OpenAIEngine

        return OpenAIEngine(settings, **opts)
    if settings.engine == "local":
        from .local import LocalEngine

        return LocalEngine(settings, **opts)
    raise ConfigError(f"unknown engine {settings.engine!r}")
