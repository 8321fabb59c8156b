"""``POST /v1/chat/completions``, ``GET /v1/models`` and ``/v1/models/{id}``: OpenAI's API; its SDKs work unchanged.

The messages go through the model's chat template (c05's ChatML; ``developer`` is read as
``system``, text parts are joined with newlines), the answer stops at the end-of-turn token, a stop
string (``finish_reason: "stop"``) or ``max_tokens`` (``"length"``). With ``stream`` the answer
arrives as ``chat.completion.chunk`` events (the first carries the role, each next one a piece of
``content``, the last an empty delta and the finish reason), then ``data: [DONE]``; with
``stream_options: {"include_usage": true}`` every chunk carries ``"usage": null`` and one more chunk
before ``[DONE]`` has no choices and the token counts, as OpenAI sends them.

Which fields are honoured, refused (400 naming them) or no-ops: :mod:`c08_serving_ops.generation.chat_schemas`.
Every error here is OpenAI's error object (:mod:`c08_serving_ops.core.errors`): a bad request is 400
``invalid_request_error`` with the field as ``param``; an unknown model is 404 ``model_not_found``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from c08_serving_ops.core.errors import ServiceError
from c08_serving_ops.core.schemas import OPENAI_ERRORS
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.core.sse import EventStreamResponse
from c08_serving_ops.generation.chat_schemas import ChatRequest
from c08_serving_ops.generation.engine import GenerationParams, TokenStep
from c08_serving_ops.server.api import until_disconnect
from c08_serving_ops.server.generate_api import Generating, run_to_end, samples, start_run, stream_events, usage

DEFAULT_MAX_TOKENS = 256  # when the request gives neither max_tokens nor max_completion_tokens (or the limit)
FINISH_REASONS = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}

chat_router = APIRouter(tags=["openai"])


def bad_request(param: str, message: str, code: str = "invalid_value") -> ServiceError:
    """OpenAI's 400 ``invalid_request_error`` naming ``param``."""
    return ServiceError(400, "validation_error", f"{param}: {message}", param=param, code=code)


def unknown_model(model: str, served: str) -> ServiceError:
    return ServiceError(404, "not_found", f"the model {model!r} does not exist; this server serves {served!r} "
                        "(GET /v1/models)", param="model", code="model_not_found")


def model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "c08_serving_ops"}


def chat_prompt(body: ChatRequest, settings: Settings) -> tuple[str, GenerationParams]:
    """The ChatML prompt and the engine's parameters; 404 for an unknown model, 400 for a value over a limit."""
    # BEGIN SOLUTION c08.11: the model; the limits (400 naming the field); the template; OpenAI's fields
    from c05_nlp_transformers.llama_tokenizer import apply_chat_template

    if body.model != settings.model_name:
        raise unknown_model(body.model, settings.model_name)
    limit = settings.max_new_tokens_limit
    for name in ("max_completion_tokens", "max_tokens"):
        value = getattr(body, name)
        if value is not None and value > limit:
            raise bad_request(name, f"{value} is over this server's limit of {limit}")
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    if len(stop) > settings.max_stop_sequences:
        raise bad_request("stop", f"{len(stop)} sequences, at most {settings.max_stop_sequences}")
    messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in body.messages]
    prompt = apply_chat_template(messages)
    max_tokens = body.max_completion_tokens or body.max_tokens or min(DEFAULT_MAX_TOKENS, limit)
    return prompt, GenerationParams(max_new_tokens=max_tokens, temperature=body.temperature, top_p=body.top_p,
                                    seed=body.seed, stop=stop, do_sample=samples(body.temperature))
    # END SOLUTION


@chat_router.get("/v1/models", responses=OPENAI_ERRORS)
async def list_models(generating: Generating) -> JSONResponse:
    """The one model this server serves, in OpenAI's list shape."""
    # BEGIN SOLUTION c08.11: an OpenAI list (object list; data: one model with id, created, owned_by)
    service, _ = generating
    return JSONResponse({"object": "list", "data": [model_card(service.settings.model_name)]})
    # END SOLUTION


@chat_router.get("/v1/models/{model_id}", responses=OPENAI_ERRORS)
async def retrieve_model(model_id: str, generating: Generating) -> JSONResponse:
    """One model (``client.models.retrieve``); 404 ``model_not_found`` for any other id."""
    # BEGIN SOLUTION c08.11: the served model's card, or 404 model_not_found
    service, _ = generating
    if model_id != service.settings.model_name:
        raise unknown_model(model_id, service.settings.model_name)
    return JSONResponse(model_card(model_id))
    # END SOLUTION


def openai_stream_error(message: str) -> dict[str, Any]:
    """An error after the stream began, as OpenAI's SDKs read it from a chunk."""
    return {"error": {"message": message, "type": "server_error", "param": None, "code": "generation_error"}}


@chat_router.post("/v1/chat/completions", responses={**OPENAI_ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def chat_completions(body: ChatRequest, request: Request, generating: Generating) -> Any:
    """An assistant message for the conversation, or (``stream``) its ``chat.completion.chunk`` events.

    400 also for a prompt that with ``max_tokens`` does not fit the model's context (counted in tokens).
    """
    # BEGIN SOLUTION c08.11: prompt; run; a chat.completion or chunks (role first, finish, usage), [DONE]
    service, engine = generating
    name = service.settings.model_name
    prompt, params = chat_prompt(body, service.settings)
    try:
        run = await start_run(service, engine, prompt, params, "/v1/chat/completions", body.stream)
    except ServiceError as err:
        if err.status != 422:
            raise
        raise bad_request("messages", err.message.removeprefix("inputs: "), "context_length_exceeded") from err
    generation = run.generation
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    head = {"id": ident, "created": created, "model": name, "system_fingerprint": None}
    if not body.stream:
        await until_disconnect(request, run_to_end(run))
        return JSONResponse({
            **head, "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": generation.text},
                         "logprobs": None, "finish_reason": FINISH_REASONS[generation.finish_reason or "length"]}],
            "usage": usage(generation.prompt_tokens, generation.generated_tokens)})
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    extra: dict[str, Any] = {"usage": None} if include_usage else {}
    first = True

    def chunk(step: TokenStep) -> dict[str, Any] | None:
        nonlocal first
        delta: dict[str, Any] = {"role": "assistant", "content": step.text} if first else {"content": step.text}
        first = False
        finish = FINISH_REASONS[generation.finish_reason] if generation.done and generation.finish_reason else None
        if finish is not None and not step.text and "role" not in delta:
            delta = {}
        return {**head, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}

    def usage_chunk() -> dict[str, Any] | None:
        if not include_usage:
            return None
        return {**head, "object": "chat.completion.chunk", "choices": [],
                "usage": usage(generation.prompt_tokens, generation.generated_tokens)}

    return EventStreamResponse(stream_events(run, chunk, last=usage_chunk, error=openai_stream_error),
                               service.settings.keepalive_s)
    # END SOLUTION
