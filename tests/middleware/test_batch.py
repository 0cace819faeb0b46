"""
Batch output is labeled line by line: `GET /v1/files/{id}/content` and Anthropic batch results.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from aigclabel import Labeler, verify
from aigclabel.middleware import UnlabelableResponseError, wrap
from aigclabel.middleware.batch import BatchRewriter, batch_route

from tests.growth import assert_linear
from tests.helpers import KEY, visible

TEXT = "Batch answers are released later, but they are generated text all the same."
LABEL_PHRASES = ("AI-generated content", "本内容由人工智能生成")


def _labeled(text: str) -> tuple[str, bool]:
    return verify(text, key=KEY).tier, any(phrase in visible(text) for phrase in LABEL_PHRASES)


def _chat(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text, "refusal": None}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def _response(text: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [part]}
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-4o-mini",
        "output": [item],
    }


def _line(custom_id: str, body: dict[str, Any] | None, status: int = 200, error: Any = None) -> bytes:
    response = None if body is None else {"status_code": status, "request_id": "req_1", "body": body}
    doc = {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": error}
    return json.dumps(doc).encode() + b"\n"


ERROR_LINE = _line(
    "r3", None, error={"code": "batch_expired", "message": "This request could not be executed."}
)
FAILED_LINE = _line(
    "r4", {"error": {"message": "Invalid model", "type": "invalid_request_error"}}, status=400
)
EMBEDDING_LINE = _line(
    "r5", {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}]}
)
OUTPUT = _line("r1", _chat(TEXT)) + _line("r2", _response(TEXT)) + ERROR_LINE + FAILED_LINE + EMBEDDING_LINE


def _files_client(body: bytes, labeler: Labeler) -> openai.OpenAI:
    transport = httpx2.MockTransport(
        lambda r: httpx2.Response(200, headers={"content-type": "application/octet-stream"}, content=body)
    )
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
    )
    return wrap(client, labeler)


def _lines(content: bytes) -> list[bytes]:
    return content.splitlines(keepends=True)


def test_batch_output_chat_line_is_labeled(labeler: Labeler) -> None:
    """
    A chat completion in a Batch output file comes back labeled, with its `aigc` object.
    """
    content = _files_client(OUTPUT, labeler).files.content("file-abc").content
    doc = json.loads(_lines(content)[0])
    body = doc["response"]["body"]

    assert ("confirmed", True) == _labeled(body["choices"][0]["message"]["content"])
    assert (
        verify(body["choices"][0]["message"]["content"], key=KEY).produce_id
        == body["aigc"]["items"][0]["produce_id"]
    )


def test_batch_output_responses_line_is_labeled(labeler: Labeler) -> None:
    """
    A Responses object in a Batch output file comes back labeled.
    """
    content = _files_client(OUTPUT, labeler).files.content("file-abc").content
    body = json.loads(_lines(content)[1])["response"]["body"]

    assert ("confirmed", True) == _labeled(body["output"][0]["content"][0]["text"])


def test_batch_error_and_embedding_lines_pass_through_byte_for_byte(labeler: Labeler) -> None:
    """
    Lines of failed requests, expired requests and embeddings are returned exactly as the upstream sent them.
    """
    content = _files_client(OUTPUT, labeler).files.content("file-abc").content

    assert [ERROR_LINE, FAILED_LINE, EMBEDDING_LINE] == _lines(content)[2:]


def test_batch_output_streamed_in_small_chunks_is_labeled(labeler: Labeler) -> None:
    """
    Read as a stream in 7-byte chunks, the output gives the same lines, each labeled.
    """
    chunks = [OUTPUT[i : i + 7] for i in range(0, len(OUTPUT), 7)]
    rewriter = BatchRewriter(labeler, None, "openai")

    out = b"".join(rewriter.feed(c) for c in chunks) + rewriter.close()

    lines = _lines(out)
    text = json.loads(lines[0])["response"]["body"]["choices"][0]["message"]["content"]
    assert (5, ("confirmed", True), lines[2:]) == (
        len(lines),
        _labeled(text),
        [ERROR_LINE, FAILED_LINE, EMBEDDING_LINE],
    )


def test_batch_output_through_the_async_client_is_labeled(labeler: Labeler) -> None:
    """
    The async transport labels batch output too.
    """
    transport = httpx2.MockTransport(lambda r: httpx2.Response(200, content=OUTPUT))
    client = wrap(
        openai.AsyncOpenAI(
            api_key="test",
            base_url="http://upstream.test/v1",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=transport),
        ),
        labeler,
    )

    async def read() -> bytes:
        return (await client.files.content("file-abc")).content

    text = json.loads(_lines(asyncio.run(read()))[0])["response"]["body"]["choices"][0]["message"]["content"]
    assert ("confirmed", True) == _labeled(text)


def test_json_mode_batch_line_keeps_its_json(labeler: Labeler) -> None:
    """
    A chat text that is a JSON object (a JSON-mode request) stays parseable; its label is the `aigc` object.
    """
    answer = json.dumps({"answer": TEXT})
    content = _files_client(_line("r1", _chat(answer)), labeler).files.content("file-abc").content
    body = json.loads(content)["response"]["body"]

    assert (answer, 1) == (visible(body["choices"][0]["message"]["content"]), len(body["aigc"]["items"]))


def test_batch_input_file_passes_through_byte_for_byte(labeler: Labeler) -> None:
    """
    A file that is not batch output (here a batch input file) is returned exactly as uploaded.
    """
    line = {
        "custom_id": "r1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": []},
    }
    body = (json.dumps(line) + "\n").encode() * 3 + _line("r9", _chat(TEXT))

    assert body == _files_client(body, labeler).files.content("file-abc").content


@pytest.mark.parametrize("body", [b"a,b,c\n1,2,3\n", b"\x89PNG\r\n\x1a\n\x00\x00", b'{"not": "jsonl"}'])
def test_other_file_contents_pass_through_byte_for_byte(labeler: Labeler, body: bytes) -> None:
    """
    CSV, binary and plain JSON files are returned unchanged.
    """
    assert body == _files_client(body, labeler).files.content("file-abc").content


def test_unlabelable_batch_line_raises(labeler: Labeler) -> None:
    """
    A successful batch line whose body holds text in an unknown shape raises instead of being released.
    """
    bad = _line("r1", {"object": "chat.completion", "choices": [{"index": 0, "message": {"content": 7}}]})

    with pytest.raises(UnlabelableResponseError, match="batch output line 1"):
        _ = _files_client(bad, labeler).files.content("file-abc").content


def test_anthropic_batch_results_are_labeled(labeler: Labeler) -> None:
    """
    Succeeded Anthropic message batch results are labeled; errored ones pass through.
    """
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    errored = (
        json.dumps({"custom_id": "b", "result": {"type": "errored", "error": {"type": "error"}}}).encode()
        + b"\n"
    )
    body = (
        json.dumps({"custom_id": "a", "result": {"type": "succeeded", "message": message}}).encode()
        + b"\n"
        + errored
    )
    transport = httpx2.MockTransport(lambda r: httpx2.Response(200, content=body))
    client = httpx2.Client(transport=transport)

    response = wrap(client, labeler).get("http://upstream.test/v1/messages/batches/msgbatch_1/results")
    lines = _lines(response.content)

    text = json.loads(lines[0])["result"]["message"]["content"][0]["text"]
    assert (("confirmed", True), errored) == (_labeled(text), lines[1])
    assert isinstance(wrap(anthropic.Anthropic(api_key="t"), labeler), anthropic.Anthropic)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1/files/file-abc/content", "openai"),
        ("GET", "/openai/files/file-abc/content/", "openai"),
        ("GET", "/v1/messages/batches/msgbatch_1/results", "anthropic"),
        ("POST", "/v1/files/file-abc/content", None),
        ("GET", "/v1/files/file-abc", None),
    ],
)
def test_batch_routes(method: str, path: str, expected: str | None) -> None:
    """
    Only GETs of file content and of Anthropic batch results are batch reads.
    """
    assert expected == batch_route(method, path)


def test_one_long_line_in_small_chunks_is_linear(labeler: Labeler) -> None:
    """
    One long batch line (an error line: parsed, passed on) fed in 16 KB chunks costs time linear in its size.
    """

    def make(kb: int) -> list[bytes]:
        message = "模型输出".encode() * (kb * 1024 // 12)
        head = b'{"custom_id": "r1", "response": {"status_code": 500, "body": {"message": "'
        body = head + message + b'"}}}\n'
        return [body[i : i + 16384] for i in range(0, len(body), 16384)]

    def run(chunks: list[bytes]) -> None:
        rewriter = BatchRewriter(labeler, None, "openai")
        for chunk in chunks:
            rewriter.feed(chunk)
        rewriter.close()

    assert_linear(run, make, base=256)
