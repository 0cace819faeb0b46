"""
The stream rewriters' fast path (delta events matched against a learned template instead of
parsed) gives exactly the bytes of the full path, for every API and every shape of event it
might be fooled by: escapes, unicode, lone surrogates, several choices, tool calls, unusual
field order and spacing, duplicate keys, varying padding and counters, any chunking (inside
a multi-byte character or an escape), CRLF line ends, and a wrong Content-Type.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.ids import ProduceIdParts, produce_id_from_parts
from aigclabel.middleware import wrap
from aigclabel.middleware.anthropic_messages import MessagesStream
from aigclabel.middleware.apis import APIS
from aigclabel.middleware.endpoints import Endpoint, RequestInfo
from aigclabel.middleware.fastpath import Shape, Template, learn
from aigclabel.middleware.openai_chat import ChatStream
from aigclabel.middleware.rewrite import StreamRewriter
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import KEY, PRODUCER
from tests.middleware.test_rewrite import upstream_body
from tests.middleware.upstream import Scenario

LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
POLICIES = {
    "default": LABELER,
    "start": Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="start")),
    "middle": Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="middle")),
    "no marks": Labeler(LabelPolicy(producer=PRODUCER, key=KEY, marks=False)),
}
TEXT = "杭州是浙江省的省会，以西湖闻名。\n\n春秋两季气候宜人。Hangzhou is an hour from Shanghai. " * 5
BASE = '"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m"'


@contextmanager
def same_ids() -> Iterator[None]:
    """
    Every stream gets the ProduceIDs 1, 2, 3…: two runs over the same events give the same bytes.
    """
    counter = itertools.count(1)

    def fixed() -> tuple[str, ProduceIdParts]:
        parts = ProduceIdParts(1_700_000_000_000, 7, next(counter))
        return produce_id_from_parts(parts), parts

    with mock.patch("aigclabel.labeler.new_produce_id", fixed):
        yield


def _counting(cls: type[StreamRewriter], *, fast: bool) -> type[StreamRewriter]:
    """
    *cls* counting the events its fast path took, or with no fast path at all.
    """

    class Counting(cls):  # type: ignore[valid-type,misc]
        hits = 0

        def fast_shape(self, doc: dict[str, Any]) -> Shape | None:
            return super().fast_shape(doc) if fast else None

        def fast_event(self, template: Any, values: list[Any], raw: bytes) -> bytes | None:
            out: bytes | None = super().fast_event(template, values, raw)
            self.hits += out is not None
            return out

    return Counting


def rewrite(
    endpoint: Endpoint,
    chunks: list[bytes],
    *,
    fast: bool,
    labeler: Labeler = LABELER,
    structured: bool = False,
) -> tuple[bytes, int]:
    """
    The rewritten stream and how many events took the fast path.
    """
    cls = _counting(APIS[endpoint].stream, fast=fast)
    info = RequestInfo(endpoint, True, "m", structured, {})
    with same_ids():
        rewriter = cls(labeler, info, None)
        out = b"".join(rewriter.feed(c) for c in chunks) + rewriter.close()
    return out, rewriter.hits  # type: ignore[attr-defined]


def events(body: bytes) -> list[bytes]:
    return [e + b"\n\n" for e in body.split(b"\n\n") if e]


def assert_same(endpoint: Endpoint, body: bytes, *, min_hits: int = 1, **kw: Any) -> bytes:
    """
    The fast path, fed one event per chunk, gives the full path's bytes, and was taken.
    """
    full, none = rewrite(endpoint, events(body), fast=False, **kw)
    fast, hits = rewrite(endpoint, events(body), fast=True, **kw)
    assert none == 0
    assert full == fast
    assert hits >= min_hits
    return fast


def chat_body(contents: list[str], *, base: str = BASE, extra: str = "", sep: str = ",") -> bytes:
    """
    A chat stream whose deltas carry *contents*, as its raw JSON text (escapes kept as written).
    """
    choice = '"choices":[{{"index":0,"delta":{{"content":{}}},"finish_reason":null}}]'
    chunks = [f"data: {{{base}{sep}{choice.format(c)}{extra}}}\n\n" for c in contents]
    chunks.append(f'data: {{{base},"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}}\n\n')
    return ("".join(chunks) + "data: [DONE]\n\n").encode()


def quoted(texts: list[str]) -> list[str]:
    return [json.dumps(t, ensure_ascii=False) for t in texts]


WORDS = [TEXT[i : i + 7] for i in range(0, len(TEXT), 7)]


# -- every API, real upstream shapes ------------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(Endpoint))
@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_api_gives_the_full_paths_bytes(endpoint: Endpoint, policy: str) -> None:
    """
    Chat, completions, Responses and Anthropic streams (with obfuscation padding where the
    real APIs send it), under several policies: identical bytes, and the fast path was taken.
    """
    body = upstream_body(endpoint, stream=True, scenario=Scenario(text=TEXT, chunk_size=3))

    assert_same(endpoint, body, labeler=POLICIES[policy])


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_deltas_changed_by_marks_are_rendered_from_the_template(endpoint: Endpoint) -> None:
    """
    A long answer gets marks in many deltas: those deltas, compact JSON upstream, are written
    from the template's pieces, byte for byte what parsing and re-serialising gives.
    """
    body = upstream_body(endpoint, stream=True, scenario=Scenario(text=TEXT * 12, chunk_size=4))
    render = Template.render

    with mock.patch.object(Template, "render", autospec=True, side_effect=render) as spy:
        assert_same(endpoint, body)

    assert [True] * 3 == [out is not None for out in (render(*c.args) for c in spy.call_args_list[:3])]


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_structured_output_gives_the_full_paths_bytes(endpoint: Endpoint) -> None:
    """
    JSON-mode output (nothing added to the text) takes the fast path too.
    """
    scenario = Scenario(
        text='{"city": "杭州", "note": "a \\"quoted\\" word"}' * 4, chunk_size=3, json_mode=True
    )
    body = upstream_body(endpoint, stream=True, scenario=scenario)

    assert_same(endpoint, body, structured=True)


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_tool_calls_and_junk_between_deltas(endpoint: Endpoint) -> None:
    """
    Tool calls, keep-alive comments and events of unknown types among the deltas.
    """
    scenario = Scenario(text=TEXT, chunk_size=4, tool_call=True, malformed_line=True)
    body = upstream_body(endpoint, stream=True, scenario=scenario)

    assert_same(endpoint, body)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(list(Endpoint)), st.lists(st.integers(min_value=0, max_value=20_000), max_size=30))
def test_any_chunking_gives_the_same_bytes(endpoint: Endpoint, cuts: list[int]) -> None:
    """
    The body cut anywhere (inside a multi-byte character, an escape, the blank line) gives the
    bytes of the full path fed one event per chunk.
    """
    body = upstream_body(endpoint, stream=True, scenario=Scenario(text=TEXT + 'a "q" \\ é\n', chunk_size=5))
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]

    full, _ = rewrite(endpoint, events(body), fast=False)
    fast, _ = rewrite(endpoint, chunks, fast=True)

    assert full == fast


def test_several_events_in_one_chunk_take_the_fast_path() -> None:
    """
    A network read holding many events: each is matched on its own.
    """
    body = chat_body(quoted(WORDS))

    full, _ = rewrite(Endpoint.CHAT, events(body), fast=False)
    fast, hits = rewrite(Endpoint.CHAT, [body[:500], body[500:]], fast=True)

    assert (full, True) == (fast, hits > len(WORDS) // 2)


@pytest.mark.parametrize("held", [b'data: {"choices"', b'data: {"x":1}\r', b"data: {}\n", b"\r"])
def test_a_whole_event_after_held_bytes_is_not_taken_alone(held: bytes) -> None:
    """
    A chunk that is exactly a learned delta event, after bytes the decoder holds (a partial
    event, a CR that may start a CRLF, an event waiting for its blank line): it belongs to
    what came before, as on the full path.
    """
    parts = events(chat_body(quoted(WORDS[:30])))
    chunks = [*parts[:12], held, *parts[12:]]

    full, _ = rewrite(Endpoint.CHAT, chunks, fast=False)
    fast, hits = rewrite(Endpoint.CHAT, chunks, fast=True)

    assert (full, True) == (fast, hits > 10)


# -- chat deltas that try to fool the template --------------------------------------------------

ESCAPED = [
    r'"line\nbreak"',
    r'"a \"quote\" and a \\ backslash"',
    r'"\u00e9t\u00e9 \u676d\u5dde"',
    r'"emoji \ud83d\ude00 pair"',
    r'"slash \/ tab \t"',
    r'"\"},\"finish_reason\":\"stop\"}]}"',
    '"   "',
    '""',
    '"\u2028\u2029 separators"',
]


def test_deltas_with_escapes_and_unicode() -> None:
    """
    JSON escapes of every kind, a delta that spells the template's suffix, empty and blank
    deltas, U+2028: the full path's bytes.
    """
    contents = ['""', '""', *quoted(WORDS[:6]), *ESCAPED * 3, *quoted(WORDS[6:12])]

    assert_same(Endpoint.CHAT, chat_body(contents))


def test_a_lone_surrogate_escape() -> None:
    """
    A lone surrogate (legal as a JSON escape, not UTF-8) in a delta: where a change forces
    re-serialisation, the full path's ASCII fallback.
    """
    contents = quoted(WORDS[:6]) + [r'"broken \ud800 half"'] * 20 + quoted(WORDS[6:9])

    assert_same(Endpoint.CHAT, chat_body(contents))


def test_invalid_deltas_pass_as_the_full_path_passes_them() -> None:
    """
    A raw control character, an unterminated string, a bad escape, invalid UTF-8: what the full
    path does (pass the event through) is what happens.
    """
    good = chat_body(quoted(WORDS[:8]))
    bad = [
        b"data: {"
        + BASE.encode()
        + b',"choices":[{"index":0,"delta":{"content":"tab\there"},"finish_reason":null}]}\n\n',
        b"data: {"
        + BASE.encode()
        + b',"choices":[{"index":0,"delta":{"content":"open},"finish_reason":null}]}\n\n',
        b"data: {"
        + BASE.encode()
        + b',"choices":[{"index":0,"delta":{"content":"\\x"},"finish_reason":null}]}\n\n',
        b"data: {"
        + BASE.encode()
        + b',"choices":[{"index":0,"delta":{"content":"\xff\xfe"},"finish_reason":null}]}\n\n',
        b"data: {"
        + BASE.encode()
        + b',"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]} \n\n',
    ]
    parts = events(good)
    body = b"".join(parts[:5] + bad + parts[5:])

    assert_same(Endpoint.CHAT, body)


def test_a_stream_without_its_final_chunk() -> None:
    """
    Deltas then `[DONE]` with no finish reason: the synthesized final chunk copies the ids of
    the last delta, whichever path took it (a delta with another id comes in between).
    """

    def deltas(words: list[str], base: str) -> bytes:
        return b"".join(events(chat_body(quoted(words), base=base))[:-2])  # no final chunk, no [DONE]

    other = BASE.replace("chatcmpl-1", "chatcmpl-0")
    body = deltas(WORDS[:10], BASE) + deltas(WORDS[10:11], other) + deltas(WORDS[11:30], BASE)

    out = assert_same(Endpoint.CHAT, body + b"data: [DONE]\n\n")
    assert out.count(b'"id":"chatcmpl-1"') == 30  # 29 deltas and the synthesized final chunk


def test_two_choices_interleaved() -> None:
    """
    `n=2`: the deltas of two choices alternate; each has its own template and stream.
    """
    lines = []
    for i, word in enumerate(WORDS[:30]):
        index = i % 2
        lines.append(
            f'data: {{{BASE},"choices":[{{"index":{index},"delta":{{"content":{json.dumps(word)}}},'
            f'"finish_reason":null}}]}}\n\n'
        )
    for index in (0, 1):
        lines.append(
            f'data: {{{BASE},"choices":[{{"index":{index},"delta":{{}},"finish_reason":"stop"}}]}}\n\n'
        )
    body = ("".join(lines) + "data: [DONE]\n\n").encode()

    assert_same(Endpoint.CHAT, body, min_hits=20)


def test_two_choices_in_one_chunk_are_never_fast() -> None:
    """
    A chunk with two choices (not a fast shape) amid single-choice ones.
    """
    two = (
        f'data: {{{BASE},"choices":[{{"index":0,"delta":{{"content":"x"}},"finish_reason":null}},'
        f'{{"index":1,"delta":{{"content":"y"}},"finish_reason":null}}]}}\n\n'
    ).encode()
    parts = events(chat_body(quoted(WORDS[:20])))
    body = b"".join(parts[:6] + [two] * 3 + parts[6:])

    assert_same(Endpoint.CHAT, body)


def test_unusual_field_order_spacing_and_padding() -> None:
    """
    Fields in another order, spaces after separators (re-serialised compactly where changed,
    as the full path does), and a varying `obfuscation` after the choices.
    """
    # Empty deltas before any text, and after a first text held back (its language undecided).
    contents = ['""', '""', '"H"', '""', '""', *quoted(WORDS[:30])]
    lines = [
        f'data: {{"choices": [{{"delta": {{"content": {c}, "role": "assistant"}}, "finish_reason": null, '
        f'"index": 0}}], "model": "m", "id": "x", "obfuscation": "{"p" * (i % 7)}"}}\n\n'
        for i, c in enumerate(contents)
    ]
    body = ("".join(lines) + 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n').encode()

    assert_same(Endpoint.CHAT, body)


def test_duplicate_keys_are_never_learned() -> None:
    """
    A duplicate key on the path to the text (the parser keeps the last one): no template, the
    full path for every event.
    """
    lines = [
        f'data: {{"model":"m","choices":[{{"index":0,"delta":{{"content":"decoy","content":{c}}},'
        f'"finish_reason":null}}]}}\n\n'
        for c in quoted(WORDS[:20])
    ]
    body = "".join(lines).encode()

    assert_same(Endpoint.CHAT, body, min_hits=0)
    assert learn(events(body)[3], Shape(("choices", 0, "delta", "content"), 0)) is None


def test_usage_reasoning_and_finish_in_delta_chunks() -> None:
    """
    Chunks that look like deltas but carry usage, reasoning or a finish reason, among deltas.
    """
    parts = events(chat_body(quoted(WORDS[:20])))
    usage = (
        f'data: {{{BASE},"choices":[{{"index":0,"delta":{{"content":"u"}},"finish_reason":null}}],'
        '"usage":{"prompt_tokens":3}}\n\n'
    )
    think = (
        f'data: {{{BASE},"choices":[{{"index":0,"delta":{{"content":"","reasoning_content":"hmm"}},'
        '"finish_reason":null}]}\n\n'
    )
    body = b"".join([*parts[:8], usage.encode(), think.encode(), *parts[8:]])

    assert_same(Endpoint.CHAT, body)


def test_crlf_bom_comments_and_other_fields() -> None:
    """
    CRLF line ends, a byte order mark, comments, `id:` lines and `data:` without a space.
    """
    body = chat_body(quoted(WORDS[:24]))
    parts = events(body)
    parts[5] = parts[5].replace(b"data: ", b"id: 5\ndata: ")
    parts[7] = parts[7].replace(b"data: ", b"data:")
    parts[9] = b": keep-alive\n\n" + parts[9]
    crlf = b"\xef\xbb\xbf" + b"".join(parts).replace(b"\n", b"\r\n")

    full, _ = rewrite(Endpoint.CHAT, [crlf], fast=False)
    fast, hits = rewrite(Endpoint.CHAT, [crlf[i : i + 61] for i in range(0, len(crlf), 61)], fast=True)

    assert (full, True) == (fast, hits > 0)


# -- Responses and Anthropic specifics ------------------------------------------------------------


RESPONSE_CREATED = (
    "event: response.created\n"
    'data: {"type":"response.created","sequence_number":0,"response":{"model":"m","output":[]}}\n\n'
)


def _responses_delta(seq: str, delta: str, *, item: str = "msg_1", kind: str = "output_text") -> str:
    name = f"response.{kind}.delta"
    index = "summary_index" if kind == "reasoning_summary_text" else "content_index"
    return (
        f'event: {name}\ndata: {{"type":"{name}","sequence_number":{seq},"item_id":"{item}",'
        f'"output_index":0,"{index}":0,"delta":{delta}}}\n\n'
    )


def test_responses_sequence_numbers_of_every_form() -> None:
    """
    Sequence numbers that are not plain integers (`5.0`, `1e1`, `-0`, `true`, a string) are
    never read as one; the full path's bytes.
    """
    head = RESPONSE_CREATED
    deltas = [_responses_delta(str(i + 1), d) for i, d in enumerate(quoted(WORDS[:30]))]
    for at, odd in zip((8, 12, 14, 16, 18, 20), ("5.0", "1e1", "-0", "true", '"7"', "00"), strict=True):
        deltas[at] = _responses_delta(odd, json.dumps(WORDS[at]))
    body = (head + "".join(deltas)).encode()

    assert_same(Endpoint.RESPONSES, body)


def test_responses_spaced_json_and_empty_deltas() -> None:
    """
    Deltas with spaces after the separators and empty deltas before the first text: sent as
    they came wherever the full path sends them so.
    """
    deltas = ['""', '""', *quoted(WORDS[:30])]
    body = RESPONSE_CREATED + "".join(
        _responses_delta(str(i + 1), d).replace('","', '", "').replace('":', '": ')
        for i, d in enumerate(deltas)
    )

    assert_same(Endpoint.RESPONSES, body.encode())


def test_responses_shifted_sequence_numbers() -> None:
    """
    A reasoning summary's tail injected before the answer shifts every later sequence number:
    re-serialised deltas, as on the full path.
    """
    head = RESPONSE_CREATED
    seq = itertools.count(1)
    summary = [
        _responses_delta(str(next(seq)), d, item="rs_1", kind="reasoning_summary_text")
        for d in quoted(WORDS[:10])
    ]
    done = (
        'event: response.reasoning_summary_text.done\ndata: {"type":"response.reasoning_summary_text.done",'
        f'"sequence_number":{next(seq)},"item_id":"rs_1","output_index":0,"summary_index":0,"text":"x"}}\n\n'
    )
    answer = [_responses_delta(str(next(seq)), d) for d in quoted(WORDS[10:40])]
    body = (head + "".join(summary) + done + "".join(answer)).encode()

    out = assert_same(Endpoint.RESPONSES, body)
    assert b'"sequence_number":' + str(next(seq)).encode() in out  # shifted past the injected delta


def test_anthropic_two_blocks_and_thinking() -> None:
    """
    Two text blocks with a thinking block between them, empty deltas before the first text.
    """
    start = 'event: message_start\ndata: {"type":"message_start","message":{"model":"m","content":[]}}\n\n'

    def block(index: int, kind: str, texts: list[str]) -> str:
        field = "text" if kind == "text" else "thinking"
        out = (
            f'event: content_block_start\ndata: {{"type":"content_block_start","index":{index},'
            f'"content_block":{{"type":"{kind}","{field}":""}}}}\n\n'
        )
        for t in texts:
            # Spaces after the separators: a needless re-serialisation would show.
            out += (
                f'event: content_block_delta\ndata: {{"type": "content_block_delta", "index": {index}, '
                f'"delta": {{"type": "{kind}_delta", "{field}": {t}}}}}\n\n'
            )
        return out + f'event: content_block_stop\ndata: {{"type":"content_block_stop","index":{index}}}\n\n'

    body = (
        start
        + block(0, "text", ['""', '""', '" "', *quoted(WORDS[:15]), *ESCAPED])
        + block(1, "thinking", quoted(WORDS[:5]))
        + block(2, "text", quoted(WORDS[15:30]))
    ).encode()

    assert_same(Endpoint.MESSAGES, body)
    assert issubclass(APIS[Endpoint.MESSAGES].stream, MessagesStream)


# -- through the transport ----------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/event-stream", "text/plain", "application/json", None])
def test_wrapped_client_with_any_content_type(
    monkeypatch: pytest.MonkeyPatch, content_type: str | None
) -> None:
    """
    Through a wrapped openai client, whatever the Content-Type: the bytes the SDK reads are
    those of the full path.
    """
    body = chat_body(quoted(WORDS[:40]))

    def read(fast: bool) -> bytes:
        if not fast:
            monkeypatch.setattr(ChatStream, "fast_shape", lambda self, doc: None)
        headers = {} if content_type is None else {"content-type": content_type}

        def handler(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, content=iter(events(body)), headers=headers)

        client = wrap(
            openai.OpenAI(
                api_key="k",
                base_url="http://upstream.test/v1",
                max_retries=0,
                http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
            ),
            LABELER,
        )
        with (
            same_ids(),
            client.chat.completions.with_streaming_response.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            ) as response,
        ):
            return b"".join(response.iter_bytes())

    fast = read(True)
    assert fast == read(False)
    assert b'"stage":"end"' in fast
