"""Typed settings: defaults, then a TOML config file, then ``C08_*`` environment variables.

One :class:`Settings` object describes a server completely: where it listens, which
collection it indexes and where the indexes live, and every limit (batch budget, rate
quota, in-flight cap, payload size). The server binds to ``127.0.0.1`` unless told
otherwise: a model server should not be reachable from the network by accident.

Precedence, highest first: keyword arguments (the command line), environment variables
(``C08_PORT=9000``), the TOML file (``--config`` or ``C08_CONFIG_FILE``), the defaults.
Every value is validated; a bad one raises :class:`pydantic.ValidationError` naming the field.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from c06_retrieval_tools import MAX_SEQ_LENGTH, cache_home

CONFIG_ENV = "C08_CONFIG_FILE"
ENV_PREFIX = "C08_"


def default_index_path() -> Path:
    """``<cache home>/c08/index``: the BM25 index and the embedded Qdrant folder of the default collection."""
    return cache_home() / "c08" / "index"


class Settings(BaseSettings):
    """Everything a server needs to know; see the module docstring for where values come from."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # where it listens
    host: str = "127.0.0.1"
    port: int = Field(8008, ge=0, le=65535)  # 0: any free port (the server logs the one it got)
    # what it serves
    collection: str = "cranfield"  # a collection name known to c06, or a BEIR folder
    index_path: Path = Field(default_factory=default_index_path)
    qdrant_url: str | None = None  # a Qdrant server instead of the embedded one
    in_memory: bool = False  # keep both indexes in memory (rebuilt from the embedding cache at each start)
    model_path: Path | None = None  # the MiniLM folder (default: the installed wheel's)
    torch_threads: int = Field(1, ge=1, le=64)
    # dynamic batching (/embed and query vectors)
    batching: bool = True  # False: one request per forward pass (the baseline of the benchmark)
    max_batch_tokens: int = Field(8192, ge=MAX_SEQ_LENGTH)  # padded tokens per forward pass
    max_wait_ms: float = Field(5.0, ge=0.0, le=1000.0)
    max_queue: int = Field(1024, ge=1)  # requests waiting for the model
    max_client_batch: int = Field(32, ge=1, le=1024)  # inputs in one /embed request
    max_input_tokens: int = Field(MAX_SEQ_LENGTH, ge=8, le=MAX_SEQ_LENGTH)
    # limits
    max_body_bytes: int = Field(1_000_000, ge=1024)
    rate_per_s: float = Field(50.0, gt=0)  # per-client quota: tokens added per second
    burst: int = Field(100, ge=1)  # per-client quota: bucket capacity
    max_clients: int = Field(10_000, ge=1)  # buckets kept (only full, idle ones are evicted; else newcomers get 429)
    max_in_flight: int = Field(64, ge=1)  # requests handled at once (counted once their body is read); more: 429
    api_keys: list[str] = Field(default_factory=list)  # empty: no authentication (quotas per client address)
    trusted_proxies: list[str] = Field(default_factory=list)  # addresses/networks whose X-Forwarded-For is believed
    auth_failure_burst: int = Field(20, ge=1)  # failed authentications per address before 429
    auth_failure_rate_per_s: float = Field(0.2, gt=0)  # ... then one more failure allowed every 1/rate seconds
    # slow and greedy clients
    header_timeout_s: float = Field(10.0, gt=0)  # a connection's request line and headers must arrive within this
    body_timeout_s: float = Field(10.0, gt=0)  # the whole body must arrive within this once the headers are in (408)
    keep_alive_s: float = Field(5.0, gt=0)  # an idle keep-alive connection is closed after this
    max_header_bytes: int = Field(16_384, ge=1024)  # request line and headers, at most (larger: 400)
    max_connections_per_client: int = Field(32, ge=1)  # open connections per client address (more: 429, closed)
    cpu_workers: int = Field(2, ge=1, le=64)  # threads for tokenisation and other CPU work kept off the event loop
    # search
    cache_size: int = Field(1024, ge=0)
    cache_ttl_s: float = Field(60.0, gt=0)
    max_top_k: int = Field(100, ge=1, le=1000)
    rerank: bool = True  # train the learned reranker at start (c06), so requests may ask for it
    rerank_depth: int = Field(30, ge=1, le=200)
    rerank_train_queries: int = Field(40, ge=2)
    # generation (part 2): SmolLM2 from c05, loaded only when ``generation`` is on
    generation: bool = False
    model_name: str = "smollm2-135m-instruct"  # the id /v1/models lists and /v1/chat/completions accepts
    # c05's weights: float32, or c05.11's kernels on int8, Q8_0 or the GGUF file's own Q4_1 blocks
    quantization: Literal["fp32", "int8", "q8_0", "q4_1"] = "fp32"
    adapter_path: Path | None = None  # a LoRA adapter from c05's finetune, merged at load (not into q4_1)
    max_active_generations: int = Field(4, ge=1, le=256)  # generations interleaved token by token
    max_waiting_generations: int = Field(16, ge=0)  # more wait for a slot; beyond that 429
    max_new_tokens_limit: int = Field(512, ge=1)  # the largest max_new_tokens a request may ask for
    generate_context: int = Field(2048, ge=16)  # prompt + new tokens, at most (and at most the model's)
    max_stop_sequences: int = Field(4, ge=0, le=64)
    keepalive_s: float = Field(10.0, gt=0)  # an SSE comment after this long without an event
    # the service's layers: both on in production; a layer switched off is neither built nor run
    observability: bool = True  # request ids, access logs, the request span, the series of /metrics (c08.7)
    guard: bool = True  # quotas, keys, payload and body limits, the overload guard, slow-client defences (c08.3)
    # operations
    drain_timeout_s: float = Field(10.0, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    trace_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None  # e.g. http://127.0.0.1:4318/v1/traces

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        # BEGIN SOLUTION c08.1: cross-field checks with a message naming the fields
        if self.trace_exporter == "otlp" and not self.otlp_endpoint:
            raise ValueError("trace_exporter 'otlp' needs otlp_endpoint")
        if self.in_memory and self.qdrant_url:
            raise ValueError("in_memory and qdrant_url exclude each other")
        if self.quantization == "q4_1" and self.adapter_path is not None:
            raise ValueError("quantization 'q4_1' runs the GGUF file's own blocks: "
                             "adapter_path needs int8, q8_0 or fp32")
        if self.api_keys and not self.guard:
            raise ValueError("api_keys need the guard (guard = true): without it no key is checked")
        if any(not key or key != key.strip() for key in self.api_keys):
            raise ValueError("api_keys must be non-empty strings without surrounding spaces")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {proxy!r} is not an IP address or network") from None
        return self
        # END SOLUTION

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Settings:
        """Defaults < TOML file (``config_file`` or ``$C08_CONFIG_FILE``) < environment < ``overrides``.

        Raises:
            FileNotFoundError: the config file does not exist.
            ValueError: the file is not valid TOML (pydantic's ValidationError for a bad value).
        """
        # BEGIN SOLUTION c08.1: read the TOML file; environment beats file; overrides beat both
        path = config_file or os.environ.get(CONFIG_ENV) or None
        from_file: dict[str, Any] = {}
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise FileNotFoundError(f"config file {path} does not exist")
            try:
                from_file = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as err:
                raise ValueError(f"config file {path} is not valid TOML: {err}") from err
        from_env = {name for name in cls.model_fields if f"{ENV_PREFIX}{name}".upper() in
                    {key.upper() for key in os.environ}}
        merged = {k: v for k, v in from_file.items() if k not in from_env}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**merged)
        # END SOLUTION
