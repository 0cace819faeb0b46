"""
The demo app's routes through httpx's ASGI transport: page, consent, chat, export, verify, records.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from aigclabel import verify
from aigclabel.adapters.asgi import create_demo_app
from aigclabel.adapters.asgi.demo import DemoState, close_demo
from starlette.applications import Starlette

from tests.adapters.asgi.support import deltas, parse
from tests.helpers import visible

ZH = [{"role": "user", "content": "介绍一下杭州。"}]


class Demo:
    """
    A demo app and a way to call it synchronously.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state: DemoState = app.state.demo

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
                return await http.request(method, url, **kw)

        return anyio.run(run)

    def chat(self, user: str, language: str | None = "zh", messages: list[dict[str, str]] = ZH) -> list[Any]:
        response = self.request(
            "POST", "/api/chat", json={"messages": messages, "user": user, "language": language}
        )
        assert 200 == response.status_code
        return parse(response.content)


@pytest.fixture(name="demo")
def _demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    """
    A demo app on the stand-in model (no delay), its stores under tmp_path.
    """
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    app = create_demo_app(chunk_delay=0.0, data_dir=tmp_path)
    yield Demo(app)
    anyio.run(close_demo, app.state.demo)


def test_page_and_static_files(demo: Demo) -> None:
    """
    ``/`` is the chat page; the web component is served under /static/aigc/.
    """
    page = demo.request("GET", "/")
    assert (200, "text/html; charset=utf-8") == (page.status_code, page.headers["content-type"])
    script = demo.request("GET", "/static/aigc/aigc-disclosure.js")
    assert (200, "text/javascript; charset=utf-8") == (script.status_code, script.headers["content-type"])


@pytest.mark.parametrize(("language", "script"), [("zh", "杭州"), ("en", "Hangzhou")])
def test_chat_answers_in_the_language_and_verifies(demo: Demo, language: str, script: str) -> None:
    """
    The stand-in answers in the requested language (300+ characters); the text verifies
    intact with this run's key, the tag is in that language.
    """
    events = demo.chat("u", language)
    done = events[-1][1]
    assert ("aigc", "done") == (events[0][0], events[-1][0])
    assert deltas(events) == done["text"]
    assert script in done["text"]
    assert len(visible(done["text"])) > 300
    assert "intact" == verify(done["text"], key=demo.state.key).status
    assert {"zh": "zh-CN", "en": "en"}[language] == events[0][1]["ui"]["language"]


def test_consent_round_trip_and_opt_out_records(demo: Demo) -> None:
    """
    Opting out under demo-v1 is stored and read back; the next chat has no visible label and
    its records are listed for that user only.
    """
    assert {"user": "o", "opted_out": False, "agreement_version": None} == demo.request(
        "GET", "/api/consent", params={"user": "o"}
    ).json()
    body = {"user": "o", "opted_out": True, "agreement_version": "demo-v1"}
    assert body == demo.request("POST", "/api/consent", json=body).json()
    assert body == demo.request("GET", "/api/consent", params={"user": "o"}).json()
    done = demo.chat("o")[-1][1]
    assert (True, False) == (done["aigc"]["ui"]["opted_out"], done["aigc"]["explicit"])
    assert () == verify(done["text"], key=demo.state.key).evidence.explicit
    records = demo.request("GET", "/api/records", params={"user": "o"}).json()
    assert ["generated", "completed"] == [r["kind"] for r in records]
    assert {done["aigc"]["produce_id"]} == {r["produce_id"] for r in records}
    assert [] == demo.request("GET", "/api/records", params={"user": "someone-else"}).json()


def test_unknown_agreement_is_refused(demo: Demo) -> None:
    """
    An opt-out under another agreement version is a 400 naming the error.
    """
    response = demo.request(
        "POST", "/api/consent", json={"user": "o", "opted_out": True, "agreement_version": "v1"}
    )
    assert (400, "ConsentError") == (response.status_code, response.json()["type"])


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [], "user": "u"},
        {"messages": [{"role": "tool", "content": "x"}], "user": "u"},
        {"messages": ZH, "user": ""},
        {"messages": ZH, "user": "u", "language": "fr"},
    ],
)
def test_bad_chat_requests_are_400(demo: Demo, body: dict[str, Any]) -> None:
    """
    Malformed chat requests are rejected before anything is streamed.
    """
    response = demo.request("POST", "/api/chat", json=body)
    assert (400, "BadRequest") == (response.status_code, response.json()["type"])


def test_export_docx_and_md_verify(demo: Demo) -> None:
    """
    The conversation exports as docx and md files that carry the label and verify confirmed.
    """
    from aigclabel.adapters.files import verify_bytes

    answer = demo.chat("u")[-1][1]["text"]
    messages = [*ZH, {"role": "assistant", "content": answer}]
    for fmt in ("docx", "md"):
        response = demo.request("POST", "/api/export", json={"messages": messages, "format": fmt})
        assert 200 == response.status_code
        assert f'filename="aigc-chat.{fmt}"' in response.headers["content-disposition"]
        verdict = verify_bytes(response.content, f"x.{fmt}", key=demo.state.key)
        assert ("confirmed", None) == (verdict.tier, verdict.error)
    docx = demo.request("POST", "/api/export", json={"messages": messages, "format": "docx"}).content
    assert "docProps/custom.xml" in zipfile.ZipFile(io.BytesIO(docx)).namelist()
    assert (
        400 == demo.request("POST", "/api/export", json={"messages": messages, "format": "pdf"}).status_code
    )


def test_verify_text_and_file(demo: Demo) -> None:
    """
    Pasted text and an uploaded file give a verdict with tier, status and messages.
    """
    answer = demo.chat("u")[-1][1]["text"]
    text = demo.request("POST", "/api/verify", json={"text": answer}).json()
    assert ("text", "confirmed", "intact") == (text["kind"], text["tier"], text["status"])
    plain = demo.request("POST", "/api/verify", json={"text": "hello"}).json()
    assert ("none", "not_found") == (plain["tier"], plain["status"])
    upload = demo.request(
        "POST", "/api/verify", files={"file": ("a.md", answer.encode(), "text/markdown")}
    ).json()
    assert ("file", "confirmed") == (upload["kind"], upload["tier"])
    assert "messages" in upload
    assert "findings" in upload
    assert 400 == demo.request("POST", "/api/verify", files={"other": ("a.md", b"x")}).status_code


def test_records_need_a_user(demo: Demo) -> None:
    """
    ``/api/records`` without a user is a 400.
    """
    assert 400 == demo.request("GET", "/api/records").status_code


def test_import_without_starlette_names_the_extra() -> None:
    """
    Importing the package without Starlette raises MissingDependencyError naming the extra.
    """
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'starlette' or name.startswith('starlette.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "try:\n"
        "    import aigclabel.adapters.asgi\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "MissingDependencyError" in out.stdout
    assert "aigc-label[web]" in out.stdout
