"""
A fake upstream LLM server at the transport seam.

`handler(lib, scenario)` returns a request handler for `lib.MockTransport`, where *lib* is the `httpx`
or the `httpx2` module. It answers the four generation endpoints with the bodies the real APIs send on
the wire, so that the real SDK clients parse them into their typed objects:

* `POST .../chat/completions`: OpenAI Chat Completions, JSON or SSE `data:` chunks ended by `[DONE]`;
* `POST .../completions`: OpenAI legacy Completions, JSON or SSE;
* `POST .../responses`: OpenAI Responses, JSON or the `event:` + `data:` event sequence;
* `POST .../messages`: Anthropic Messages, JSON or the `event:` + `data:` event sequence.

What the upstream answers is set by a `Scenario`; what it was sent is kept in `Upstream.requests`.
Ids and timestamps are fixed so that the bodies are reproducible.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = [
    "CREATED",
    "TOOL_ARGUMENTS",
    "RecordedRequest",
    "Scenario",
    "Upstream",
    "encode_sse",
    "handler",
    "sse_events",
]

Json = dict[str, Any]

#: The `created` timestamp of every generated object (seconds since the epoch).
CREATED = 1_700_000_000
#: The arguments of the tool call a `Scenario(tool_call=True)` returns, as the compact JSON the APIs send.
TOOL_ARGUMENTS = '{"location":"Paris","unit":"celsius"}'
#: The tool name used when the request declares no tool.
DEFAULT_TOOL = "get_weather"
#: What a socket reset mid-body looks like.
DROPPED = "[Errno 104] Connection reset by peer"

_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid value for 'messages': empty array."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: test."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Country not supported."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min (RPM)."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "messages: at least one message is required"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass(frozen=True)
class Scenario:
    """
    What the fake upstream answers.
    """

    #: The assistant text; a list gives one text per choice when the request asks for `n` > 1.
    text: str | list[str] = "Hello! How can I help you today?"
    #: Characters per streamed delta.
    chunk_size: int = 5
    #: Also return a tool call (chat: `tool_calls`; responses: a `function_call` item; anthropic: `tool_use`).
    tool_call: bool = False
    #: The text is JSON, as with `response_format={"type": "json_object"}` (non-JSON text gets wrapped).
    json_mode: bool = False
    #: A refusal instead of text (chat: the `refusal` field; responses: a `refusal` content part).
    refusal: str | None = None
    #: A non-2xx status returns the API's error body instead.
    status: int = 200
    #: SSE: drop the connection after this many events (the body raises the library's `ReadError`).
    break_after: int | None = None
    #: SSE: interleave a `: keep-alive` comment and an event of an unknown type.
    malformed_line: bool = False
    #: Compress the body when the request's `accept-encoding` allows gzip.
    gzip: bool = False
    #: The `model` of the returned objects.
    model: str = "gpt-4o-mini"

    def texts(self, n: int = 1) -> list[str]:
        """
        The text of each of *n* choices exactly as the upstream returns it.
        """
        texts = [self.text] if isinstance(self.text, str) else list(self.text)
        return [self._as_returned(texts[i % len(texts)]) for i in range(n)]

    @property
    def output_text(self) -> str:
        """
        The text of the first (or only) choice.
        """
        return self.texts()[0]

    def pieces(self, text: str) -> list[str]:
        """
        *text* cut into the deltas of a stream.
        """
        size = max(1, self.chunk_size)
        return [text[i : i + size] for i in range(0, len(text), size)]

    def _as_returned(self, text: str) -> str:
        if not self.json_mode:
            return text
        try:
            json.loads(text)
        except ValueError:
            return json.dumps({"answer": text}, ensure_ascii=False)
        return text


@dataclass(frozen=True)
class RecordedRequest:
    """
    One request the upstream received.
    """

    method: str
    path: str
    #: Header names in lower case.
    headers: dict[str, str]
    body: bytes
    #: The library's own request object.
    raw: Any

    @property
    def json(self) -> Any:
        """
        The decoded JSON body (None when the body is empty).
        """
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class _Event:
    event: str | None
    data: str
    #: Junk sent verbatim instead of an event (comments, stray lines): not counted by `break_after`.
    raw: bytes | None = None

    def encode(self) -> bytes:
        return self.raw if self.raw is not None else encode_sse(self.event, self.data)


def encode_sse(event: str | None, data: str) -> bytes:
    """
    One SSE event on the wire: an optional `event:` line, one `data:` line per line of *data*, a blank line.
    """
    lines = [] if event is None else [f"event: {event}"]
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def sse_events(body: bytes) -> list[tuple[str | None, str]]:
    """
    The `(event, data)` pairs of an SSE body, skipping comments and unknown fields (WHATWG rules).
    """
    events: list[tuple[str | None, str]] = []
    event: str | None = None
    data: list[str] = []
    for line in body.decode().replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if event is not None or data:
                events.append((event, "\n".join(data)))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if event is not None or data:
        events.append((event, "\n".join(data)))
    return events


class _Frames:
    """
    A response body sent one frame at a time, optionally failing like a dropped connection.
    """

    def __init__(self, frames: list[bytes], error: Any) -> None:
        self._frames = frames
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        yield from self._frames
        if self._error is not None:
            raise self._error(DROPPED)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for frame in self._frames:
            yield frame
        if self._error is not None:
            raise self._error(DROPPED)

    def close(self) -> None:
        """
        Nothing to release.
        """

    async def aclose(self) -> None:
        """
        Nothing to release.
        """


_STREAM_TYPES: dict[str, type[_Frames]] = {}


def _stream_type(lib: ModuleType) -> type[_Frames]:
    """
    `_Frames` as a sync and async byte stream of *lib* (each library checks its own base classes).
    """
    if lib.__name__ not in _STREAM_TYPES:
        bases = (_Frames, lib.SyncByteStream, lib.AsyncByteStream)
        _STREAM_TYPES[lib.__name__] = type(f"{lib.__name__}Frames", bases, {})
    return _STREAM_TYPES[lib.__name__]


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _padding(delta: str) -> str:
    """
    The `obfuscation` field the real API adds to deltas to even out their sizes (fixed here).
    """
    return "x" * (16 - len(delta) % 16)


def _dump(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Upstream:
    """
    The request handler: dispatches on the request path and `stream`, records every request.
    """

    def __init__(self, lib: ModuleType, scenario: Scenario) -> None:
        self.lib = lib
        self.scenario = scenario
        self.requests: list[RecordedRequest] = []

    def transport(self) -> Any:
        """
        A `lib.MockTransport` serving this upstream (for both sync and async clients).
        """
        return self.lib.MockTransport(self)

    @property
    def last(self) -> RecordedRequest:
        """
        The most recent request.
        """
        return self.requests[-1]

    def __call__(self, request: Any) -> Any:
        body = request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            raw=request,
        )
        self.requests.append(recorded)
        payload: Json = recorded.json or {}
        path = recorded.path.rstrip("/")
        anthropic = path.endswith("/messages")
        if request.method != "POST" or not path.endswith(
            ("/chat/completions", "/completions", "/responses", "/messages")
        ):
            return self._error(request, 404, anthropic=anthropic)
        if self.scenario.status >= 300:
            return self._error(request, self.scenario.status, anthropic=anthropic)
        stream = bool(payload.get("stream"))
        reply: _Reply
        if path.endswith("/chat/completions"):
            reply = _ChatCompletions(self.scenario, payload)
        elif path.endswith("/completions"):
            reply = _Completions(self.scenario, payload)
        elif path.endswith("/responses"):
            reply = _Responses(self.scenario, payload)
        else:
            reply = _Messages(self.scenario, payload)
        if stream:
            return self._sse(request, reply.events(), anthropic=anthropic)
        return self._json(request, self.scenario.status, reply.body(), anthropic=anthropic)

    def _headers(self, content_type: str, *, anthropic: bool) -> dict[str, str]:
        if anthropic:
            return {"content-type": content_type, "request-id": "req_011CUpstream0000000000001"}
        return {
            "content-type": content_type,
            "x-request-id": "req_upstream0000000000000000000001",
            "openai-version": "2020-10-01",
            "openai-processing-ms": "42",
        }

    def _gzip(self, request: Any) -> bool:
        return self.scenario.gzip and "gzip" in request.headers.get("accept-encoding", "")

    def _json(self, request: Any, status: int, body: Json, *, anthropic: bool) -> Any:
        headers = self._headers("application/json", anthropic=anthropic)
        # OpenAI pretty-prints its JSON bodies, Anthropic sends them compact.
        content = (_dump(body) if anthropic else json.dumps(body, ensure_ascii=False, indent=2)).encode()
        if self._gzip(request):
            compressor = zlib.compressobj(wbits=31)
            content = compressor.compress(content) + compressor.flush()
            headers["content-encoding"] = "gzip"
        # A stream, not `content=`: the body stays unread, as it is when it comes off a socket.
        stream = _stream_type(self.lib)([content], None)
        return self.lib.Response(status, headers=headers, stream=stream, request=request)

    def _error(self, request: Any, status: int, *, anthropic: bool) -> Any:
        if anthropic:
            kind, message = _ANTHROPIC_ERRORS.get(status, ("api_error", "Internal server error"))
            body: Json = {
                "type": "error",
                "error": {"type": kind, "message": message},
                "request_id": "req_011CUpstream0000000000001",
            }
        else:
            kind, code, message = _OPENAI_ERRORS.get(status, ("server_error", None, "Upstream error."))
            body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return self._json(request, status, body, anthropic=anthropic)

    def _sse(self, request: Any, events: list[_Event], *, anthropic: bool) -> Any:
        headers = self._headers("text/event-stream; charset=utf-8", anthropic=anthropic)
        headers["cache-control"] = "no-cache"
        if self.scenario.malformed_line:
            events = _with_junk(events, anthropic=anthropic)
        frames: list[bytes] = []
        counted = 0
        broken = False
        for event in events:
            if self.scenario.break_after is not None and counted >= self.scenario.break_after:
                broken = True
                break
            frames.append(event.encode())
            counted += event.raw is None
        if self._gzip(request):
            headers["content-encoding"] = "gzip"
            compressor = zlib.compressobj(wbits=31)
            frames = [compressor.compress(frame) + compressor.flush(zlib.Z_SYNC_FLUSH) for frame in frames]
            if not broken:
                frames.append(compressor.flush())
        stream = _stream_type(self.lib)(frames, self.lib.ReadError if broken else None)
        return self.lib.Response(self.scenario.status, headers=headers, stream=stream, request=request)


def handler(lib: ModuleType, scenario: Scenario | None = None) -> Upstream:
    """
    A handler for `lib.MockTransport` (*lib* is `httpx` or `httpx2`) answering as *scenario* says.
    """
    return Upstream(lib, scenario or Scenario())


def _with_junk(events: list[_Event], *, anthropic: bool) -> list[_Event]:
    """
    *events* with the junk real streams carry: comments, a stray blank line, an unknown field line.

    Anthropic and Responses streams also get an event of an unknown type, which their docs say clients must
    ignore. Chat and legacy Completions streams do not: they carry no `event:` field, and the OpenAI SDK
    yields every `data:` payload there as a chunk.
    """
    junk = [_Event(None, "", raw=b": keep-alive\n\n"), *events[:1]]
    if anthropic:
        junk.append(_Event("future_event", _dump({"type": "future_event"})))
    elif events and (events[0].event or "").startswith("response."):
        junk.append(_Event("response.future_event", _dump({"type": "response.future_event"})))
    junk += [_Event(None, "", raw=b":\n\n\n"), _Event(None, "", raw=b"x-upstream-junk: 1\n")]
    return junk + events[1:]


class _Reply:
    """
    The answer of one endpoint to one request body.
    """

    def __init__(self, scenario: Scenario, payload: Json) -> None:
        self.s = scenario
        self.payload = payload
        self.n = int(payload.get("n") or 1)
        options = payload.get("stream_options") or {}
        self.include_usage = bool(options.get("include_usage"))
        self.prompt_tokens = _tokens(json.dumps(payload.get("messages", payload.get("prompt", ""))))

    def body(self) -> Json:
        raise NotImplementedError

    def events(self) -> list[_Event]:
        raise NotImplementedError

    def tool_name(self) -> str:
        """
        The first function tool the request declares, else `DEFAULT_TOOL`.
        """
        for tool in self.payload.get("tools") or []:
            name = tool.get("name") or (tool.get("function") or {}).get("name")
            if name:
                return str(name)
        return DEFAULT_TOOL


class _ChatCompletions(_Reply):
    ID = "chatcmpl-Upstream000000000000000000001"
    FINGERPRINT = "fp_0123456789"

    def usage(self) -> Json:
        completion = sum(_tokens(t) for t in self.s.texts(self.n))
        completion += self.n * _tokens(TOOL_ARGUMENTS) if self.s.tool_call else 0
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def finish_reason(self) -> str:
        return "tool_calls" if self.s.tool_call else "stop"

    def tool_call(self, index: int) -> Json:
        return {
            "id": f"call_Upstream{index:010d}",
            "type": "function",
            "function": {"name": self.tool_name(), "arguments": TOOL_ARGUMENTS},
        }

    def body(self) -> Json:
        choices = []
        for index, text in enumerate(self.s.texts(self.n)):
            message: Json = {
                "role": "assistant",
                "content": None if self.s.refusal is not None else text,
                "refusal": self.s.refusal,
                "annotations": [],
            }
            if self.s.tool_call:
                message["tool_calls"] = [self.tool_call(index)]
            choices.append(
                {"index": index, "message": message, "logprobs": None, "finish_reason": self.finish_reason()}
            )
        return {
            "id": self.ID,
            "object": "chat.completion",
            "created": CREATED,
            "model": self.s.model,
            "choices": choices,
            "usage": self.usage(),
            "service_tier": "default",
            "system_fingerprint": self.FINGERPRINT,
        }

    def chunk(self, choices: list[Json], *, usage: Json | None = None) -> _Event:
        chunk: Json = {
            "id": self.ID,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.s.model,
            "service_tier": "default",
            "system_fingerprint": self.FINGERPRINT,
            "choices": choices,
        }
        if choices:
            chunk["obfuscation"] = _padding(choices[0]["delta"].get("content") or "")
        if self.include_usage:
            chunk["usage"] = usage
        return _Event(None, _dump(chunk))

    def delta(self, index: int, delta: Json, finish_reason: str | None = None) -> _Event:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self.chunk([choice])

    def events(self) -> list[_Event]:
        field = "content" if self.s.refusal is None else "refusal"
        texts = self.s.texts(self.n) if self.s.refusal is None else [self.s.refusal] * self.n
        first: Json = {"role": "assistant", "content": "", "refusal": None}
        if self.s.refusal is not None:
            first = {"role": "assistant", "content": None, "refusal": ""}
        events = [self.delta(index, first) for index in range(self.n)]
        pieces = [self.s.pieces(text) for text in texts]
        for step in range(max((len(p) for p in pieces), default=0)):
            events += [self.delta(i, {field: p[step]}) for i, p in enumerate(pieces) if step < len(p)]
        if self.s.tool_call:
            for index in range(self.n):
                call = self.tool_call(index)
                start = {**call, "index": 0, "function": {"name": call["function"]["name"], "arguments": ""}}
                events.append(self.delta(index, {"tool_calls": [start]}))
                for piece in self.s.pieces(TOOL_ARGUMENTS):
                    arguments = {"index": 0, "function": {"arguments": piece}}
                    events.append(self.delta(index, {"tool_calls": [arguments]}))
        events += [self.delta(index, {}, self.finish_reason()) for index in range(self.n)]
        if self.include_usage:
            events.append(self.chunk([], usage=self.usage()))
        return [*events, _Event(None, "[DONE]")]


class _Completions(_Reply):
    ID = "cmpl-Upstream000000000000000000001"

    def usage(self) -> Json:
        completion = sum(_tokens(t) for t in self.s.texts(self.n))
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def completion(self, choices: list[Json], **extra: Any) -> Json:
        return {
            "id": self.ID,
            "object": "text_completion",
            "created": CREATED,
            "model": self.s.model,
            "choices": choices,
            **extra,
        }

    @staticmethod
    def choice(index: int, text: str, finish_reason: str | None) -> Json:
        return {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}

    def body(self) -> Json:
        choices = [self.choice(i, text, "stop") for i, text in enumerate(self.s.texts(self.n))]
        return self.completion(choices, usage=self.usage(), system_fingerprint=None)

    def events(self) -> list[_Event]:
        pieces = [self.s.pieces(text) for text in self.s.texts(self.n)]
        events = []
        for step in range(max((len(p) for p in pieces), default=0)):
            for index, p in enumerate(pieces):
                if step < len(p):
                    events.append(_Event(None, _dump(self.completion([self.choice(index, p[step], None)]))))
        for index in range(self.n):
            events.append(_Event(None, _dump(self.completion([self.choice(index, "", "stop")]))))
        if self.include_usage:
            events.append(_Event(None, _dump(self.completion([], usage=self.usage()))))
        return [*events, _Event(None, "[DONE]")]


class _Responses(_Reply):
    ID = "resp_Upstream000000000000000000000000000000000001"
    MESSAGE_ID = "msg_Upstream000000000000000000000000000000000001"
    CALL_ITEM_ID = "fc_Upstream000000000000000000000000000000000001"
    CALL_ID = "call_Upstream0000000001"

    def __init__(self, scenario: Scenario, payload: Json) -> None:
        super().__init__(scenario, payload)
        self.prompt_tokens = _tokens(json.dumps(payload.get("input", "")))
        self.text = scenario.output_text if scenario.refusal is None else scenario.refusal
        self.sequence = 0

    def part(self, text: str) -> Json:
        if self.s.refusal is not None:
            return {"type": "refusal", "refusal": text}
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def message(self, status: str, parts: list[Json]) -> Json:
        return {
            "id": self.MESSAGE_ID,
            "type": "message",
            "status": status,
            "content": parts,
            "role": "assistant",
        }

    def function_call(self, status: str, arguments: str) -> Json:
        return {
            "id": self.CALL_ITEM_ID,
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": self.CALL_ID,
            "name": self.tool_name(),
        }

    def output(self) -> list[Json]:
        output = [self.message("completed", [self.part(self.text)])]
        if self.s.tool_call:
            output.append(self.function_call("completed", TOOL_ARGUMENTS))
        return output

    def usage(self) -> Json:
        output = _tokens(self.text) + (_tokens(TOOL_ARGUMENTS) if self.s.tool_call else 0)
        return {
            "input_tokens": self.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.prompt_tokens + output,
        }

    def response(self, status: str, output: list[Json], usage: Json | None) -> Json:
        text_format = {"type": "json_object"} if self.s.json_mode else {"type": "text"}
        return {
            "id": self.ID,
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "background": False,
            "completed_at": CREATED + 1 if status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "instructions": self.payload.get("instructions"),
            "max_output_tokens": self.payload.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": self.s.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": self.payload.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": text_format, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": list(self.payload.get("tools") or []),
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    def body(self) -> Json:
        return self.response("completed", self.output(), self.usage())

    def event(self, kind: str, **fields: Any) -> _Event:
        """
        One event: `sequence_number` counts every event of the stream from 0.
        """
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return _Event(kind, _dump(data))

    def events(self) -> list[_Event]:
        self.sequence = 0
        where = {"item_id": self.MESSAGE_ID, "output_index": 0, "content_index": 0}
        refusal = self.s.refusal is not None
        kind = "response.refusal" if refusal else "response.output_text"
        empty: Json = {} if refusal else {"logprobs": []}
        done: Json = {"refusal": self.text} if refusal else {"text": self.text, "logprobs": []}
        events = [
            self.event("response.created", response=self.response("in_progress", [], None)),
            self.event("response.in_progress", response=self.response("in_progress", [], None)),
            self.event("response.output_item.added", output_index=0, item=self.message("in_progress", [])),
            self.event("response.content_part.added", **where, part=self.part("")),
            *(
                self.event(f"{kind}.delta", **where, delta=piece, **empty, obfuscation=_padding(piece))
                for piece in self.s.pieces(self.text)
            ),
            self.event(f"{kind}.done", **where, **done),
            self.event("response.content_part.done", **where, part=self.part(self.text)),
            self.event("response.output_item.done", output_index=0, item=self.output()[0]),
        ]
        if self.s.tool_call:
            call = {"item_id": self.CALL_ITEM_ID, "output_index": 1}
            events += [
                self.event(
                    "response.output_item.added", output_index=1, item=self.function_call("in_progress", "")
                ),
                *(
                    self.event("response.function_call_arguments.delta", **call, delta=piece)
                    for piece in self.s.pieces(TOOL_ARGUMENTS)
                ),
                self.event("response.function_call_arguments.done", **call, arguments=TOOL_ARGUMENTS),
                self.event("response.output_item.done", output_index=1, item=self.output()[1]),
            ]
        events.append(self.event("response.completed", response=self.body()))
        return events


class _Messages(_Reply):
    ID = "msg_01UpstreamAAAAAAAAAAAAAAAA"
    TOOL_ID = "toolu_01UpstreamAAAAAAAAAAAAAA"

    def __init__(self, scenario: Scenario, payload: Json) -> None:
        super().__init__(scenario, payload)
        self.text = scenario.output_text

    def output_tokens(self) -> int:
        return _tokens(self.text) + (_tokens(TOOL_ARGUMENTS) if self.s.tool_call else 0)

    def stop_reason(self) -> str:
        return "tool_use" if self.s.tool_call else "end_turn"

    def message(self, content: list[Json], stop_reason: str | None, output_tokens: int) -> Json:
        return {
            "id": self.ID,
            "type": "message",
            "role": "assistant",
            "model": self.s.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self.prompt_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": output_tokens,
                "service_tier": "standard",
            },
        }

    def tool_use(self, tool_input: Json) -> Json:
        return {"type": "tool_use", "id": self.TOOL_ID, "name": self.tool_name(), "input": tool_input}

    def body(self) -> Json:
        content: list[Json] = [{"type": "text", "text": self.text}]
        if self.s.tool_call:
            content.append(self.tool_use(json.loads(TOOL_ARGUMENTS)))
        return self.message(content, self.stop_reason(), self.output_tokens())

    @staticmethod
    def event(kind: str, **fields: Any) -> _Event:
        return _Event(kind, _dump({"type": kind, **fields}))

    def events(self) -> list[_Event]:
        events = [
            self.event("message_start", message=self.message([], None, 1)),
            self.event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
            self.event("ping"),
            *(
                self.event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
                for piece in self.s.pieces(self.text)
            ),
            self.event("content_block_stop", index=0),
        ]
        if self.s.tool_call:
            events += [
                self.event("content_block_start", index=1, content_block=self.tool_use({})),
                *(
                    self.event(
                        "content_block_delta",
                        index=1,
                        delta={"type": "input_json_delta", "partial_json": part},
                    )
                    for part in ["", *self.s.pieces(TOOL_ARGUMENTS)]
                ),
                self.event("content_block_stop", index=1),
            ]
        return [
            *events,
            self.event(
                "message_delta",
                delta={"stop_reason": self.stop_reason(), "stop_sequence": None},
                usage={"output_tokens": self.output_tokens()},
            ),
            self.event("message_stop"),
        ]
