"""Chat backends: one small protocol, three implementations.

* :class:`ScriptedBackend`: replies from a script (a list or a function of the
  messages), deterministic; what the graded tests use to exercise parsing and failures;
* :class:`OpenAIBackend`: any server that speaks OpenAI's ``POST /v1/chat/completions``
  (vLLM, llama.cpp's server, Ollama, a hosted API), over httpx with a timeout;
* :class:`SmolLMBackend`: SmolLM2 in process, through c05's public ``c05_nlp_transformers.chat``
  API (imported only when this backend is created, so c07 works without it).

Every failure to get a reply (connection refused, a timeout, an HTTP error, a body
that is not a chat completion, c05 missing) is a :class:`BackendError` with a message
naming the URL or the cause; the policy turns it into a failed decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from c07_agents_systems.actions import count_tokens

Messages = list[dict[str, str]]


class BackendError(RuntimeError):
    """No usable reply from the chat model."""


class BackendUnavailableError(BackendError):
    """The backend cannot be created here (c05 part 2 is not installed)."""


@dataclass(frozen=True)
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int


class ChatBackend(Protocol):
    name: str

    def complete(self, messages: Messages, *, max_new_tokens: int = 160, temperature: float = 0.0) -> ChatReply: ...


@dataclass
class ScriptedBackend:
    """Replies taken in order from ``script`` (strings), or computed by ``script(messages)``."""

    script: Sequence[str] | Callable[[Messages], str]
    name: str = "scripted"
    calls: list[Messages] = field(default_factory=list)

    def complete(self, messages: Messages, *, max_new_tokens: int = 160, temperature: float = 0.0) -> ChatReply:
        # BEGIN SOLUTION c07.3: next scripted reply (BackendError when exhausted); count tokens
        self.calls.append(messages)
        if callable(self.script):
            text = self.script(messages)
        elif len(self.calls) <= len(self.script):
            text = self.script[len(self.calls) - 1]
        else:
            raise BackendError(f"the script has only {len(self.script)} replies")
        return ChatReply(text, sum(count_tokens(m["content"]) for m in messages), count_tokens(text))
        # END SOLUTION


class OpenAIBackend:
    """An OpenAI-compatible chat-completions endpoint at ``base_url`` (e.g. ``http://127.0.0.1:8000``)."""

    def __init__(self, base_url: str, *, api_key: str | None = None, model: str = "default",
                 timeout_s: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.url = base_url.rstrip("/") + "/v1/chat/completions"
        self.name = f"openai:{model}"
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers)

    def close(self) -> None:
        self.client.close()

    def complete(self, messages: Messages, *, max_new_tokens: int = 160, temperature: float = 0.0) -> ChatReply:
        # BEGIN SOLUTION c07.3: POST; map every failure to BackendError; read usage
        body = {"model": self.model, "messages": messages, "max_tokens": max_new_tokens, "temperature": temperature}
        try:
            response = self.client.post(self.url, json=body)
        except httpx.TimeoutException as err:
            raise BackendError(f"{self.url} did not answer in time ({type(err).__name__})") from err
        except httpx.HTTPError as err:
            raise BackendError(f"cannot reach {self.url}: {type(err).__name__}: {err}") from err
        if response.status_code >= 400:
            raise BackendError(f"{self.url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            data: dict[str, Any] = response.json()
            text = data["choices"][0]["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise BackendError(f"{self.url} sent a body that is not a chat completion: "
                               f"{response.text[:200]!r}") from err
        usage = data.get("usage") or {}
        return ChatReply(text, int(usage.get("prompt_tokens", sum(count_tokens(m["content"]) for m in messages))),
                         int(usage.get("completion_tokens", count_tokens(text))))
        # END SOLUTION


class SmolLMBackend:
    """SmolLM2 in process through c05 part 2 (``load_chat_model`` / ``ChatModel.generate_chat``)."""

    def __init__(self, model: Any, *, name: str = "smollm2") -> None:
        self.model, self.name = model, name

    @classmethod
    def load(cls, *, quantization: str = "fp32", threads: int | None = None) -> SmolLMBackend:
        """Load the model through c05.

        Raises:
            BackendUnavailableError: ``c05_nlp_transformers.chat`` cannot be imported.
        """
        # BEGIN SOLUTION c07.3: import c05 lazily; a clear error when it is not there
        try:
            from c05_nlp_transformers.chat import load_chat_model  # type: ignore[import-not-found,unused-ignore]
        except ImportError as err:
            raise BackendUnavailableError(f"SmolLM2 needs c05 part 2 (c05_nlp_transformers.chat): {err}") from err
        return cls(load_chat_model(quantization=quantization, threads=threads), name=f"smollm2-{quantization}")
        # END SOLUTION

    def complete(self, messages: Messages, *, max_new_tokens: int = 160, temperature: float = 0.0) -> ChatReply:
        # BEGIN SOLUTION c07.3: greedy (seeded) generation; stop after the JSON object closes a line
        try:
            result = self.model.generate_chat(messages, max_new_tokens=max_new_tokens, temperature=temperature,
                                              seed=0, stop=("\n\n",))
        except Exception as err:  # the model's own failure, whatever its type
            raise BackendError(f"{self.name} failed to generate: {type(err).__name__}: {err}") from err
        return ChatReply(str(result.text), int(result.prompt_tokens), int(result.completion_tokens))
        # END SOLUTION
