"""
The incremental SSE codec: any split of the byte stream gives the same events.
"""

from __future__ import annotations

from aigclabel.middleware.sse import SSEDecoder, encode_event
from hypothesis import given
from hypothesis import strategies as st

from tests.growth import assert_linear

BODY = (
    b": keep-alive\n\n"
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b'data: {"text":"\xe4\xbd\xa0\xe5\xa5\xbd"}\r\n\r\n'
    b"retry: 1000\nid: 7\ndata: line one\ndata: line two\n\n"
    b"data: [DONE]\n\n"
)


def decode_all(chunks: list[bytes]) -> list[tuple[str | None, str | None, list[str]]]:
    decoder = SSEDecoder()
    events = [ev for chunk in chunks for ev in decoder.feed(chunk)] + decoder.flush()
    return [(ev.event, ev.data, ev.other) for ev in events]


def test_decodes_fields_comments_and_crlf() -> None:
    """
    Event type, joined data lines, other fields and CRLF line ends are understood.
    """
    assert [
        (None, None, [": keep-alive"]),
        ("message_start", '{"type":"message_start"}', []),
        (None, '{"text":"你好"}', []),
        (None, "line one\nline two", ["retry: 1000", "id: 7"]),
        (None, "[DONE]", []),
    ] == decode_all([BODY])


def test_every_single_split_point_gives_the_same_events() -> None:
    """
    Splitting the body at any byte offset (inside a UTF-8 sequence or a CRLF too) changes nothing.
    """
    whole = decode_all([BODY])

    for i in range(len(BODY) + 1):
        assert whole == decode_all([BODY[:i], BODY[i:]])


@given(st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    """
    Any number of split points gives the same events as one chunk.
    """
    points = sorted(set(cuts))
    chunks = [BODY[a:b] for a, b in zip([0, *points], [*points, len(BODY)], strict=True)]

    assert decode_all([BODY]) == decode_all(chunks)


def test_unterminated_last_event_is_flushed() -> None:
    """
    A final event without its blank line comes out of flush().
    """
    decoder = SSEDecoder()

    assert [] == decoder.feed(b"data: tail")
    assert ["tail"] == [ev.data for ev in decoder.flush()]


def test_raw_bytes_pass_through() -> None:
    """
    Each event keeps its raw bytes, so an event that is not rewritten goes out unchanged.
    """
    decoder = SSEDecoder()
    raw = b'event: ping\ndata: {"type":"ping"}\n\n'

    assert raw == decoder.feed(raw)[0].raw


def test_encode_round_trips() -> None:
    """
    encode_event output decodes to the same event.
    """
    data = encode_event("content_block_delta", '{"a":1}', ["id: 3"])

    assert [("content_block_delta", '{"a":1}', ["id: 3"])] == decode_all([data])


def test_leading_byte_order_mark_is_ignored() -> None:
    """
    A UTF-8 BOM before the first field is not part of the field name, even when split.
    """
    body = b"\xef\xbb\xbf" + b'data: {"a":1}\n\n'

    assert [(None, '{"a":1}', [])] == decode_all([body[:2], body[2:]])


def test_byte_at_a_time_gives_the_same_events() -> None:
    """
    Feeding one byte per call (every CR, LF and blank line split from its neighbours) changes nothing.
    """
    body = BODY + b"data: a\r\rdata: b\r\n\r\ndata: c\n\r\n"

    assert decode_all([body]) == decode_all([body[i : i + 1] for i in range(len(body))])


def test_one_big_event_in_small_chunks_is_linear() -> None:
    """
    One large event fed in 16 KB chunks costs time linear in its size (8x the event < 20x the time).
    """
    chunk = 16 * 1024

    def make(kb: int) -> list[bytes]:
        body = b'data: {"text":"' + "模型输出".encode() * (kb * 1024 // 12) + b'"}\r\n\r\n'
        return [body[i : i + chunk] for i in range(0, len(body), chunk)]

    def run(chunks: list[bytes]) -> None:
        decoder = SSEDecoder()
        events = [ev for piece in chunks for ev in decoder.feed(piece)]
        assert 1 == len(events)

    assert_linear(run, make, base=256)
