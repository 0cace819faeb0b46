"""
Batch output files on the paths a user hits less often: a failed download, bodies without an ``object``,
Anthropic results that did not succeed, lines that look like JSON but are not, a file read by the async
client in pieces without a final line end, and a file that is not JSON lines read in pieces.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from aigclabel import Labeler, verify
from aigclabel.middleware import wrap

from tests.helpers import KEY, visible

TEXT = "Batch answers are released later, but they are generated text all the same."
FILE_URL = "http://upstream.test/v1/files/file-abc/content"


def _line(custom_id: str, body: dict[str, Any]) -> bytes:
    response = {"status_code": 200, "request_id": "req_1", "body": body}
    doc = {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": None}
    return json.dumps(doc).encode() + b"\n"


def _chat(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text, "refusal": None}
    return {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": message}],
    }


class _Pieces(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """
    A body sent *size* bytes at a time.
    """

    def __init__(self, body: bytes, size: int) -> None:
        self._chunks = [body[i : i + size] for i in range(0, len(body), size)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def _client(body: bytes, labeler: Labeler, *, status: int = 200, size: int | None = None) -> httpx2.Client:
    def answer(request: Any) -> Any:
        if size is None:
            return httpx2.Response(status, content=body)
        return httpx2.Response(status, stream=_Pieces(body, size))

    return wrap(httpx2.Client(transport=httpx2.MockTransport(answer)), labeler)


def _openai(body: bytes, labeler: Labeler, *, status: int = 200) -> openai.OpenAI:
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(
            transport=httpx2.MockTransport(lambda request: httpx2.Response(status, content=body))
        ),
    )
    return wrap(client, labeler)


def test_a_failed_download_of_an_output_file_passes_through(labeler: Labeler) -> None:
    """
    A 404 for a file's content reaches the SDK as its `NotFoundError` with the upstream's error body.
    """
    error = {"error": {"message": "No such File object: file-abc", "type": "invalid_request_error"}}

    with pytest.raises(openai.NotFoundError) as caught:
        _openai(json.dumps(error).encode(), labeler, status=404).files.content("file-abc")

    assert error == caught.value.response.json()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"id": "c1", "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}}]}, "chat"),
        ({"id": "c1", "choices": [{"index": 0, "text": TEXT, "finish_reason": "stop"}]}, "completions"),
        (
            {
                "id": "r1",
                "output": [
                    {"type": "message", "id": "m1", "content": [{"type": "output_text", "text": TEXT}]}
                ],
            },
            "responses",
        ),
    ],
    ids=["chat", "completions", "responses"],
)
def test_a_body_without_object_is_labeled_by_its_shape(
    labeler: Labeler, body: dict[str, Any], where: str
) -> None:
    """
    A batch line whose body has no `object` (as some compatible servers write) is labeled by its shape.
    """
    content = _client(_line("r1", body), labeler).get(FILE_URL).content

    out = json.loads(content)["response"]["body"]
    text = {
        "chat": lambda: out["choices"][0]["message"]["content"],
        "completions": lambda: out["choices"][0]["text"],
        "responses": lambda: out["output"][0]["content"][0]["text"],
    }[where]()
    assert ("confirmed", TEXT) == (verify(text, key=KEY).tier, visible(text)[: len(TEXT)])


def test_a_body_without_object_or_known_shape_passes_through(labeler: Labeler) -> None:
    """
    A batch line whose body has no `object` and neither choices nor output (embeddings) is returned as sent.
    """
    line = _line("r1", {"data": [{"index": 0, "embedding": [0.1, 0.2]}], "model": "text-embedding-3-small"})

    assert line == _client(line, labeler).get(FILE_URL).content


def test_anthropic_results_that_did_not_succeed_pass_through(labeler: Labeler) -> None:
    """
    Anthropic batch results that errored, were canceled or expired are returned byte for byte.
    """
    lines = [
        {
            "custom_id": "a",
            "result": {"type": "errored", "error": {"type": "error", "error": {"type": "api_error"}}},
        },
        {"custom_id": "b", "result": {"type": "canceled"}},
        {"custom_id": "c", "result": {"type": "expired"}},
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    http = httpx2.Client(transport=httpx2.MockTransport(lambda request: httpx2.Response(200, content=body)))
    client = anthropic.Anthropic(
        api_key="test", base_url="http://upstream.test", max_retries=0, http_client=http
    )
    wrapped = wrap(client, labeler)

    out = wrapped.get("/v1/messages/batches/msgbatch_01/results", cast_to=httpx2.Response)

    assert body == out.read()


def test_a_line_that_names_custom_id_but_is_not_json_is_kept(labeler: Labeler) -> None:
    """
    After batch output has started, a line that mentions `"custom_id"` but does not parse is returned as sent.
    """
    broken = b'{"custom_id": "r2", "response": \n'
    body = _line("r1", _chat(TEXT)) + broken

    lines = _client(body, labeler).get(FILE_URL).content.splitlines(keepends=True)

    text = json.loads(lines[0])["response"]["body"]["choices"][0]["message"]["content"]
    assert ("confirmed", broken) == (verify(text, key=KEY).tier, lines[1])


def test_blank_lines_before_the_output_are_kept(labeler: Labeler) -> None:
    """
    Blank lines ahead of the first batch line are returned as sent; the batch line after them is labeled.
    """
    body = b"\n\n" + _line("r1", _chat(TEXT))

    content = _client(body, labeler).get(FILE_URL).content

    text = json.loads(content[2:])["response"]["body"]["choices"][0]["message"]["content"]
    assert (b"\n\n", "confirmed") == (content[:2], verify(text, key=KEY).tier)


def test_a_file_that_is_not_json_lines_passes_through_in_pieces(labeler: Labeler) -> None:
    """
    A CSV file read in 4-byte pieces is returned exactly as sent.
    """
    body = b"custom_id,answer\nr1,hello\nr2,world\n"

    assert body == _client(body, labeler, size=4).get(FILE_URL).content


def test_async_output_in_pieces_without_a_final_line_end_is_labeled(labeler: Labeler) -> None:
    """
    Read by the async client 11 bytes at a time, an output file whose last line has no line end is labeled
    line by line, the last line included.
    """
    body = _line("r1", _chat(TEXT)) + _line("r2", _chat(TEXT)).rstrip(b"\n")
    inner = httpx2.MockTransport(lambda request: httpx2.Response(200, stream=_Pieces(body, 11)))

    async def main() -> bytes:
        async with wrap(httpx2.AsyncClient(transport=inner), labeler) as client:
            return (await client.get(FILE_URL)).content

    lines = asyncio.run(main()).splitlines()
    texts = [json.loads(line)["response"]["body"]["choices"][0]["message"]["content"] for line in lines]
    assert ["confirmed", "confirmed"] == [verify(text, key=KEY).tier for text in texts]
