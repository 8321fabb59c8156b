"""``POST /generate`` (text-generation-inference's API), and the run that every generating route shares.

Request: ``{"inputs": str, "parameters": {...}, "stream": bool}``; parameters ``max_new_tokens``
(1 .. ``max_new_tokens_limit``), ``temperature`` (0 .. 2; 0, or under 0.001, is greedy), ``top_k`` (>= 1),
``top_p`` (0 < p <= 1), ``seed`` (0 <= seed < 2**63), ``stop`` (at most ``max_stop_sequences``
non-empty strings of at most 64 characters) and ``do_sample`` (false: greedy, the default). A value
out of range, an empty prompt, a prompt that with ``max_new_tokens`` does not fit the context: 422.
Every slot and waiting place taken: 429 ``overloaded``.

Answer: ``{"generated_text", "details": {"finish_reason", "generated_tokens", "prompt_tokens",
"seed"}}``; with ``stream`` Server-Sent Events, one per token ``{"token": {"id", "text",
"special"}, "generated_text": null, "details": null}``, the last one carrying the final
``generated_text`` and ``details``, then ``data: [DONE]``. An error after the stream began is an
``event: error`` with the error body, then the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import Field
from starlette.responses import JSONResponse

from c08_serving_ops.core.errors import ServiceError
from c08_serving_ops.core.schemas import ERRORS, Int, StopString, Strict
from c08_serving_ops.core.sse import DONE, EventStreamResponse, sse_event
from c08_serving_ops.generation.engine import (
    SEED_LIMIT,
    Generation,
    GenerationEngine,
    GenerationFullError,
    GenerationParams,
    TokenStep,
)
from c08_serving_ops.generation.gen_metrics import GenerationMetrics, Timings
from c08_serving_ops.server.api import ready_service, until_disconnect
from c08_serving_ops.server.service import Service

MAX_PROMPT_CHARS = 100_000
# A stream that fails after its 200 went out never reaches the error handlers: it is logged here.
LOG = logging.getLogger("c08.generation")

generation_router = APIRouter(tags=["generation"])


DEFAULT_MAX_NEW_TOKENS = 20  # or the server's max_new_tokens_limit when that is lower


class GenerateParameters(Strict):
    max_new_tokens: Int = Field(DEFAULT_MAX_NEW_TOKENS, ge=1, description=(
        f"at most the server's max_new_tokens_limit; {DEFAULT_MAX_NEW_TOKENS} (or that limit, if lower) when absent"))
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_k: Int | None = Field(None, ge=1, le=100_000)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: Int | None = Field(None, ge=0, lt=SEED_LIMIT)
    stop: list[StopString] = Field(default_factory=list)
    do_sample: bool = False


class GenerateRequest(Strict):
    inputs: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description=(
        "the prompt; with max_new_tokens it must fit the model's context (counted in tokens: 422 otherwise)"))
    parameters: GenerateParameters = Field(default_factory=lambda: GenerateParameters.model_validate({}))
    stream: bool = False


def engine_of(request: Request) -> tuple[Service, GenerationEngine]:
    """The ready service and its generation engine (made on first use); 503 when generation is off."""
    service, components = ready_service(request)
    if components.chat is None:
        raise ServiceError(503, "not_ready", "generation is off on this server (start it with C08_GENERATION=true)")
    engine: GenerationEngine | None = getattr(request.app.state, "generation", None)
    if engine is None:
        # the series are registered once per app: an engine that failed to start is retried with the same ones
        metrics: GenerationMetrics | None = getattr(request.app.state, "generation_metrics", None)
        if metrics is None:
            metrics = request.app.state.generation_metrics = GenerationMetrics(service.metrics.registry)
        engine = GenerationEngine(components.chat, service.settings, metrics)
        request.app.state.generation = engine
    return service, engine


async def generation_engine(request: Request) -> tuple[Service, GenerationEngine]:
    """The dependency behind :data:`Generating` (async: FastAPI calls it on the loop)."""
    return engine_of(request)


# A handler parameter ``generating: Generating`` receives (service, engine), or the request gets 503 first.
Generating = Annotated[tuple[Service, GenerationEngine], Depends(generation_engine)]


def check_limits(service: Service, max_new_tokens: int, stop: Sequence[str]) -> None:
    """422 for more new tokens or stop strings than the settings allow."""
    # BEGIN SOLUTION c08.9: name the field, the value and the limit
    settings = service.settings
    if max_new_tokens > settings.max_new_tokens_limit:
        raise ServiceError(422, "validation_error",
                           f"max_new_tokens: {max_new_tokens} is over the limit of {settings.max_new_tokens_limit}")
    if len(stop) > settings.max_stop_sequences:
        raise ServiceError(422, "validation_error",
                           f"stop: {len(stop)} sequences, at most {settings.max_stop_sequences}")
    # END SOLUTION


class Run:
    """One admitted generation: its steps (timed), its ``generate`` span, and its end (cache and slot freed)."""

    def __init__(self, service: Service, engine: GenerationEngine, generation: Generation, route: str,
                 stream: bool, started: float, parent: otel_context.Context) -> None:
        self.service, self.engine, self.generation = service, engine, generation
        self.route, self.stream = route, stream
        self.timings = Timings(started)
        self.span = service.tracer.start_span("generate", context=parent, attributes={
            "generation.route": route, "generation.stream": stream,
            "generation.prompt_tokens": generation.prompt_tokens})
        self.ended = False

    @property
    def done(self) -> bool:
        return self.generation.done

    async def next(self) -> TokenStep:
        step = await self.engine.step(self.generation)
        self.timings.tokens.append(time.perf_counter())
        return step

    async def end(self, cancelled: bool = False, error: BaseException | None = None) -> None:
        """Free the cache and the slot, then record metrics and close the span (once)."""
        if self.ended:
            return
        self.ended = True
        try:
            await self.engine.release(self.generation, cancelled=cancelled)
        finally:
            if self.service.settings.observability:  # the generation's series and span attributes
                record(self, cancelled, error)
            self.span.end()


def record(run: Run, cancelled: bool, error: BaseException | None) -> None:
    """Generation metrics (TTFT, inter-token, end to end, tokens) and the span's attributes."""
    # BEGIN SOLUTION c08.12: observe the timings; finish reason, token count, ttft, cancelled on the span
    run.engine.metrics.observe(run.route, run.stream, run.timings)
    generation = run.generation
    run.span.set_attribute("generation.generated_tokens", generation.generated_tokens)
    run.span.set_attribute("generation.finish_reason", generation.finish_reason or
                           ("cancelled" if cancelled else "error"))
    if run.timings.ttft is not None:
        run.span.set_attribute("generation.ttft_ms", round(run.timings.ttft * 1000, 3))
    if cancelled:
        run.span.set_attribute("generation.cancelled", True)
    if error is not None:
        run.span.record_exception(error)
        run.span.set_status(trace.Status(trace.StatusCode.ERROR, str(error)))
    # END SOLUTION


async def start_run(service: Service, engine: GenerationEngine, prompt_text: str, params: GenerationParams,
                    route: str, stream: bool) -> Run:
    """Tokenize (a ``tokenize`` span), check the context (422), take a slot (429), start the run."""
    # BEGIN SOLUTION c08.9: encode in a thread; 422 for a bad prompt; 429 when full; then the run
    started = time.perf_counter()
    parent = otel_context.get_current()
    with service.tracer.start_as_current_span("tokenize") as span:
        try:
            prompt = await asyncio.to_thread(engine.encode, prompt_text)
            generation = engine.new(prompt, params)
        except ValueError as err:
            raise ServiceError(422, "validation_error", f"inputs: {err}") from err
        span.set_attribute("generation.prompt_tokens", len(prompt))
    try:
        await engine.admit()
    except GenerationFullError as err:
        service.metrics.rejections.labels("overloaded").inc()
        raise ServiceError(429, "overloaded", str(err), {"Retry-After": "1"}) from err
    return Run(service, engine, generation, route, stream, started, parent)
    # END SOLUTION


async def run_to_end(run: Run) -> None:
    """Every step of a non-streaming run; the run ends (freed) however this stops."""
    try:
        # BEGIN SOLUTION c08.9: step until the generation is done, then end the run
        while not run.done:
            await run.next()
        await run.end()
        # END SOLUTION
    except asyncio.CancelledError:  # the client went away
        await end_cancelled(run)
        raise
    except Exception as err:
        raise await end_failed(run, err) from err


async def end_cancelled(run: Run) -> None:
    """The client went away: the run ends as cancelled (its cache and slot freed, the cancellation counted)."""
    # BEGIN SOLUTION c08.10: end the run as cancelled
    await run.end(cancelled=True)
    # END SOLUTION


async def end_failed(run: Run, err: Exception) -> ServiceError:
    """A step failed: the run ends with the error; the answer is a 500 naming it (or, streaming, an error event)."""
    # BEGIN SOLUTION c08.10: end the run with the error; a 500 generation_error naming the exception
    await run.end(error=err)
    return ServiceError(500, "generation_error", f"generation failed: {type(err).__name__}: {err}")
    # END SOLUTION


def stream_error(message: str) -> dict[str, Any]:
    """The body of the ``error`` event that ends a failed stream (the service's error shape)."""
    return {"error": message, "error_type": "generation_error"}


async def stream_events(run: Run, event: Callable[[TokenStep], dict[str, Any] | None],
                        last: Callable[[], dict[str, Any] | None] | None = None,
                        error: Callable[[str], dict[str, Any]] = stream_error) -> AsyncIterator[bytes]:
    """SSE bytes: ``event(step)`` per step, ``last()`` if any, ``[DONE]``; ``error(message)`` ends a failed stream."""
    try:
        # BEGIN SOLUTION c08.9: an event per step (None: skip it); end the run; the last event; [DONE]
        while not run.done:
            step = await run.next()
            chunk = event(step)
            if chunk is not None:
                yield sse_event(chunk)
        await run.end()  # freed and recorded before the client can see the end of the stream
        final = last() if last is not None else None
        if final is not None:
            yield sse_event(final)
        yield DONE
        # END SOLUTION
    except (asyncio.CancelledError, GeneratorExit):  # the client went away, or the response closed the stream
        await end_cancelled(run)
        raise
    except Exception as err:  # the status line is sent: an error event ends the stream, and no [DONE] follows
        LOG.error("generation failed after the stream began", exc_info=err)
        failed = await end_failed(run, err)
        yield sse_event(error(failed.message), event="error")
    finally:
        await run.end()  # a no-op when the run has ended


# Below this temperature decoding is greedy: logits / T overflows float32 for T under ~1e-36 (NaN probabilities),
# and long before that the distribution is one-hot in all but ties. The limit of sampling as T -> 0 is greedy.
GREEDY_BELOW = 1e-3


def samples(temperature: float) -> bool:
    """Whether ``temperature`` samples (else greedy): 0, and anything under :data:`GREEDY_BELOW`, is greedy."""
    return temperature >= GREEDY_BELOW


def generation_params(p: GenerateParameters) -> GenerationParams:
    """The request's parameters for the engine (do_sample with no temperature samples at 1.0)."""
    temperature = p.temperature if p.temperature is not None else 1.0
    return GenerationParams(max_new_tokens=p.max_new_tokens, temperature=temperature, top_k=p.top_k,
                            top_p=p.top_p if p.top_p is not None else 1.0, seed=p.seed, stop=tuple(p.stop),
                            do_sample=p.do_sample and samples(temperature))


def details(generation: Generation) -> dict[str, Any]:
    return {"finish_reason": generation.finish_reason, "generated_tokens": generation.generated_tokens,
            "prompt_tokens": generation.prompt_tokens, "seed": generation.seed}


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """Tokens the language model read and wrote, under OpenAI's field names (/v1/chat/completions, /rag)."""
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


@generation_router.post("/generate", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def generate(body: GenerateRequest, request: Request, generating: Generating) -> Any:
    """Generate a continuation of ``inputs``: one JSON answer, or (``stream``) one SSE event per token."""
    # BEGIN SOLUTION c08.9: engine; limits; run; JSON, or an event stream (token events, final details)
    service, engine = generating
    parameters = body.parameters
    if "max_new_tokens" not in parameters.model_fields_set:  # the default never exceeds the server's limit
        limit = min(DEFAULT_MAX_NEW_TOKENS, service.settings.max_new_tokens_limit)
        parameters = parameters.model_copy(update={"max_new_tokens": limit})
    check_limits(service, parameters.max_new_tokens, parameters.stop)
    params = generation_params(parameters)
    run = await start_run(service, engine, body.inputs, params, "/generate", body.stream)
    generation = run.generation
    if not body.stream:
        await until_disconnect(request, run_to_end(run))
        return JSONResponse({"generated_text": generation.text, "details": details(generation)})

    def token_event(step: TokenStep) -> dict[str, Any]:
        final = generation.done
        return {"token": {"id": step.id, "text": step.text, "special": step.special},
                "generated_text": generation.text if final else None,
                "details": details(generation) if final else None}

    return EventStreamResponse(stream_events(run, token_event), service.settings.keepalive_s)
    # END SOLUTION
