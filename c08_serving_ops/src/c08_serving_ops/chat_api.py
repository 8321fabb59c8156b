"""``POST /v1/chat/completions`` and ``GET /v1/models``: OpenAI's API, so existing clients and SDKs work unchanged.

The messages go through the model's chat template (c05's ChatML), the answer stops at the
end-of-turn token, a stop string (``finish_reason: "stop"``) or ``max_tokens`` (``"length"``).
With ``stream`` the answer arrives as ``chat.completion.chunk`` events (the first carries the role,
each next one a piece of ``content``, the last an empty delta and the finish reason), then
``data: [DONE]``. Fields OpenAI defines that this server does not implement (penalties, logprobs,
tools) are accepted and ignored, as many servers do; ``n`` must be 1; an unknown ``model`` is 422.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import JSONResponse

from c08_serving_ops.api import until_disconnect
from c08_serving_ops.errors import ServiceError
from c08_serving_ops.generate_api import check_limits, engine_of, run_to_end, start_run, stream_events, usage
from c08_serving_ops.generation import SEED_LIMIT, GenerationParams, TokenStep
from c08_serving_ops.schemas import ERRORS
from c08_serving_ops.sse import EventStreamResponse

MAX_MESSAGES = 256
DEFAULT_MAX_TOKENS = 256  # when the request gives neither max_tokens nor max_completion_tokens
StopString = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FINISH_REASONS = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}

chat_router = APIRouter(tags=["openai"])


class Lenient(BaseModel):
    """Strict types, unknown fields ignored (clients send optional fields this server does not use)."""

    model_config = ConfigDict(extra="ignore", strict=True)


class ChatMessage(Lenient):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=100_000)


class ChatRequest(Lenient):
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)  # the newer name of max_tokens
    seed: int | None = Field(None, ge=0, lt=SEED_LIMIT)
    stop: StopString | list[StopString] | None = None
    stream: bool = False
    n: int = Field(1, ge=1, le=1)


def chat_prompt(body: ChatRequest, model_name: str) -> tuple[str, GenerationParams]:
    """The ChatML prompt and the engine's parameters; 422 for an unknown model."""
    # BEGIN SOLUTION c08.11: check the model name; apply the chat template; map OpenAI's fields
    from c05_nlp_transformers.llama_tokenizer import apply_chat_template

    if body.model != model_name:
        raise ServiceError(422, "validation_error", f"model: unknown model {body.model!r}; this server serves "
                           f"{model_name!r} (GET /v1/models)")
    prompt = apply_chat_template([m.model_dump() for m in body.messages])
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    max_tokens = body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS
    return prompt, GenerationParams(max_new_tokens=max_tokens, temperature=body.temperature, top_p=body.top_p,
                                    seed=body.seed, stop=stop, do_sample=body.temperature > 0)
    # END SOLUTION


@chat_router.get("/v1/models")
async def list_models(request: Request) -> JSONResponse:
    """The one model this server serves, in OpenAI's list shape."""
    # BEGIN SOLUTION c08.11: an OpenAI list (object list; data: one model with id, created, owned_by)
    service, _ = engine_of(request)
    return JSONResponse({"object": "list", "data": [
        {"id": service.settings.model_name, "object": "model", "created": 0, "owned_by": "c08_serving_ops"}]})
    # END SOLUTION


@chat_router.post("/v1/chat/completions", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    """An assistant message for the conversation, or (``stream``) its ``chat.completion.chunk`` events."""
    # BEGIN SOLUTION c08.11: prompt; run; a chat.completion, or chunks (role first, finish last), [DONE]
    service, engine = engine_of(request)
    name = service.settings.model_name
    prompt, params = chat_prompt(body, name)
    check_limits(service, params.max_new_tokens, params.stop)
    run = await start_run(service, engine, prompt, params, "/v1/chat/completions", body.stream)
    generation = run.generation
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if not body.stream:
        await until_disconnect(request, run_to_end(run))
        return JSONResponse({
            "id": ident, "object": "chat.completion", "created": created, "model": name,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": generation.text},
                         "logprobs": None, "finish_reason": FINISH_REASONS[generation.finish_reason or "length"]}],
            "usage": usage(generation.prompt_tokens, generation.generated_tokens)})
    first = True

    def chunk(step: TokenStep) -> dict[str, Any] | None:
        nonlocal first
        delta: dict[str, Any] = {"role": "assistant", "content": step.text} if first else {"content": step.text}
        first = False
        finish = FINISH_REASONS[generation.finish_reason] if generation.done and generation.finish_reason else None
        if finish is not None and not step.text and "role" not in delta:
            delta = {}
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": name,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    return EventStreamResponse(stream_events(run, chunk), service.settings.keepalive_s)
    # END SOLUTION
