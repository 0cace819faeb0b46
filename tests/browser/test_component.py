"""
Unit tests of aigc-disclosure.js, run inside chromium (the module as the demo app serves it):
the SSE decoder, streamChat, the copy handler and the copy/abort/label helpers, the element.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

MODULE = "/static/aigc/aigc-disclosure.js"

UI_ZH = {
    "text": "本内容由人工智能生成",
    "position": "near_content",
    "persistent": True,
    "language": "zh-CN",
    "produce_id": "p-1",
    "explicit_label_in_text": True,
    "opted_out": False,
    "short_text": "AI",
    "placement": "end",
    "label_text": "【本内容由人工智能生成】",
}
UI_OPTED_OUT = {**UI_ZH, "produce_id": "p-2", "opted_out": True, "placement": "none", "label_text": ""}


@pytest.fixture(name="js")
def _js(page: Any) -> Any:
    """
    A page where `window.m` is the module and `#fixture` an empty container.
    """
    page.evaluate(
        f"""async () => {{
          window.m = await import({json.dumps(MODULE)});
          const div = document.createElement('div');
          div.id = 'fixture';
          document.body.prepend(div);
        }}"""
    )
    return page


def test_chromium_is_installed() -> None:
    """
    The browser tests need Debian's chromium; scripts/test-browser.sh installs it.
    """
    assert shutil.which("chromium"), "chromium is missing: run `bash scripts/test-browser.sh`"


SSE_BODY = (
    ": ping\r\n\r\n"
    'event: aigc\r\ndata: {"produce_id": "p", "ui": {"text": "本内容由人工智能生成"}}\r\n\r\n'
    'event: delta\ndata: {"text": "你好\\u200b"}\n\n'
    'event: delta\rdata: {"text": "，世界"}\r\r'
    "event: note\ndata: line one\ndata: line two\n\n"
    'event: done\ndata: {"finish_reason": "stop", "text": "你好\\u200b，世界"}\n\n'
)


def test_sse_decoder_any_split(js: Any) -> None:
    """
    SSEDecoder gives the same events however the body is split (CRLF, CR, LF, comments,
    multi-line data), and keeps every character of the data.
    """
    result = js.evaluate(
        """(body) => {
          const run = (parts) => {
            const d = new m.SSEDecoder();
            const out = [];
            for (const p of parts) out.push(...d.decode(p));
            out.push(...d.flush());
            return JSON.stringify(out);
          };
          const whole = run([body]);
          const bad = [];
          for (let i = 0; i <= body.length; i += 1) {
            if (run([body.slice(0, i), body.slice(i)]) !== whole) bad.push(i);
          }
          if (run(Array.from(body)) !== whole) bad.push('by-char');
          return {whole: JSON.parse(whole), bad};
        }""",
        SSE_BODY,
    )
    assert [] == result["bad"]
    assert ["aigc", "delta", "delta", "note", "done"] == [e["event"] for e in result["whole"]]
    assert "line one\nline two" == result["whole"][3]["data"]
    assert "你好\u200b" == json.loads(result["whole"][1]["data"])["text"]


def test_stream_chat_dispatch_order(js: Any) -> None:
    """
    streamChat calls onAigc before the first onDelta, then onDone, and returns the text.
    """
    js.route(
        "**/fake/chat",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=SSE_BODY.encode()),
    )
    result = js.evaluate(
        """async () => {
          const calls = [];
          const r = await m.streamChat('/fake/chat', {messages: []}, {
            onAigc: (d) => calls.push(['aigc', d.produce_id]),
            onDelta: (t) => calls.push(['delta', t]),
            onDone: (d) => calls.push(['done', d.finish_reason]),
            onError: (d) => calls.push(['error', d.type]),
          });
          return {calls, r};
        }"""
    )
    assert [["aigc", "p"], ["delta", "你好\u200b"], ["delta", "，世界"], ["done", "stop"]] == result["calls"]
    assert {"status": "done", "text": "你好\u200b，世界"} == result["r"]


def test_stream_chat_errors_and_abort(js: Any) -> None:
    """
    An HTTP error and an `error` event reach onError; an aborted fetch resolves "aborted"
    without onError.
    """
    js.route("**/fake/500", lambda route: route.fulfill(status=500, body="boom"))
    js.route(
        "**/fake/err",
        lambda route: route.fulfill(
            status=200,
            content_type="text/event-stream",
            body=b'event: error\ndata: {"type": "RateLimitError", "message": "slow down"}\n\n',
        ),
    )
    result = js.evaluate(
        """async () => {
          const errors = [];
          const onError = (d) => errors.push(d.type);
          const a = await m.streamChat('/fake/500', {}, {onError});
          const b = await m.streamChat('/fake/err', {}, {onError});
          const controller = new AbortController();
          controller.abort();
          const c = await m.streamChat('/fake/never', {}, {onError, signal: controller.signal});
          return {statuses: [a.status, b.status, c.status], errors};
        }"""
    )
    assert ["error", "error", "aborted"] == result["statuses"]
    assert ["HTTPError", "RateLimitError"] == result["errors"]


def test_label_message_and_label_for(js: Any) -> None:
    """
    labelMessage sets the data-aigc-* attributes; the label is label_text, else the prompt in
    brackets of the tag's language.
    """
    result = js.evaluate(
        """([zh, out]) => {
          const el = document.createElement('article');
          m.labelMessage(el, zh);
          const o = document.createElement('article');
          m.labelMessage(o, out);
          return {
            attrs: {...el.dataset}, opted: {...o.dataset},
            en: m.labelFor({text: 'AI-generated', language: 'en'}),
            zh: m.labelFor({text: '本内容由人工智能生成', language: 'zh-CN'}),
          };
        }""",
        [UI_ZH, UI_OPTED_OUT],
    )
    assert {
        "aigcProduceId": "p-1",
        "aigcLabel": "【本内容由人工智能生成】",
        "aigcOptedOut": "false",
        "aigcPlacement": "end",
    } == result["attrs"]
    assert "true" == result["opted"]["aigcOptedOut"]
    assert "none" == result["opted"]["aigcPlacement"]
    assert "[AI-generated]" == result["en"]
    assert "【本内容由人工智能生成】" == result["zh"]


def test_mark_aborted(js: Any) -> None:
    """
    markAborted appends the label once to a partial message, never to one that already
    carries it (start placement) or to an opted-out one.
    """
    result = js.evaluate(
        """([zh, out]) => {
          const make = (text, ui) => {
            const el = document.createElement('article');
            el.innerHTML = '<div data-aigc-body></div>';
            el.firstChild.textContent = text;
            m.labelMessage(el, ui);
            return el;
          };
          const partial = make('杭州是\\u200b浙江', zh);
          const first = m.markAborted(partial, zh);
          const second = m.markAborted(partial, zh);
          const start = make('【本内容由\\u200d人工智能生成】\\n\\n杭州', {...zh, placement: 'start'});
          const opted = make('杭州是', out);
          return {
            first, second, text: partial.textContent,
            start: m.markAborted(start, {...zh, placement: 'start'}),
            opted: m.markAborted(opted, out), optedText: opted.textContent,
          };
        }""",
        [UI_ZH, UI_OPTED_OUT],
    )
    assert (True, False) == (result["first"], result["second"])
    assert "杭州是\u200b浙江\n\n【本内容由人工智能生成】" == result["text"]
    assert result["start"] is False
    assert result["opted"] is False
    assert "杭州是" == result["optedText"]


COPY = """([html, select]) => {
  const fixture = document.getElementById('fixture');
  fixture.innerHTML = html;
  for (const el of fixture.querySelectorAll('[data-ui]')) m.labelMessage(el, JSON.parse(el.dataset.ui));
  m.installCopyHandler(document);
  m.installCopyHandler(document);
  m.installCopyHandler(fixture);
  const range = document.createRange();
  const [a, b] = select.map((s) => fixture.querySelector(s).firstChild);
  range.setStart(a, 1);
  range.setEnd(b, b.data.length - 1);
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  const data = new DataTransfer();
  const event = new ClipboardEvent('copy', {clipboardData: data, bubbles: true, cancelable: true});
  fixture.dispatchEvent(event);
  return {
    selected: getSelection().toString(), prevented: event.defaultPrevented,
    plain: data.getData('text/plain'), html: data.getData('text/html'),
    htmlText: new DOMParser().parseFromString(data.getData('text/html'), 'text/html').body.textContent,
    markdown: data.getData('text/markdown'),
  };
}"""


def _article(ui: dict[str, Any] | None, text: str, ident: str) -> str:
    attr = f" data-ui='{json.dumps(ui, ensure_ascii=False)}'" if ui else ""
    return f'<article{attr}><div data-aigc-body id="{ident}">{text}</div></article>'


def test_copy_handler_appends_once(js: Any) -> None:
    """
    One listener however often (and for however many roots) installed; a selection across two
    labeled messages gets the label once in text/plain, text/html and text/markdown, the
    selection kept whole.
    """
    second = {**UI_ZH, "produce_id": "p-3"}
    html = _article(UI_ZH, "第一条\u200b回答", "a") + _article(second, "第二条回答", "b")
    result = js.evaluate(COPY, [html, ["#a", "#b"]])
    assert result["prevented"] is True
    label = UI_ZH["label_text"]
    assert f"{result['selected']}\n\n{label}" == result["plain"]
    assert "\u200b" in result["plain"]
    assert 1 == result["htmlText"].count(label)
    assert result["htmlText"].startswith("一条\u200b回答第二条回")
    assert result["plain"] == result["markdown"]


def test_copy_handler_leaves_others_alone(js: Any) -> None:
    """
    Opted-out messages, unlabeled content and selections that already hold the label are
    copied by the browser unchanged (the handler does not intervene).
    """
    opted = js.evaluate(COPY, [_article(UI_OPTED_OUT, "不加标识的回答", "a"), ["#a", "#a"]])
    plain = js.evaluate(COPY, [_article(None, "用户自己的话", "a"), ["#a", "#a"]])
    holds = js.evaluate(COPY, [_article(UI_ZH, "回答。【本内容由\u200d人工智能生成】。", "a"), ["#a", "#a"]])
    for result in (opted, plain, holds):
        assert result["prevented"] is False
        assert "" == result["plain"]
    mixed = js.evaluate(
        COPY, [_article(UI_OPTED_OUT, "不加标识", "a") + _article(UI_ZH, "加标识的回答", "b"), ["#a", "#b"]]
    )
    assert f"{mixed['selected']}\n\n{UI_ZH['label_text']}" == mixed["plain"]


def test_copy_payload(js: Any) -> None:
    """
    copyPayload (behind aigcCopy) appends the label only when the text lacks it and the
    message is not opted out; the text keeps every character.
    """
    result = js.evaluate(
        """([zh, out]) => {
          const make = (text, ui) => {
            const el = document.createElement('article');
            el.innerHTML = '<div data-aigc-body></div><button>copy</button>';
            el.firstChild.textContent = text;
            m.labelMessage(el, ui);
            return m.copyPayload(el);
          };
          const whole = '全文\\n\\n【本内容由人工智能生成】\\u200d';
          return [make('半句\\u200b', zh), make(whole, zh), make('半句', out)];
        }""",
        [UI_ZH, UI_OPTED_OUT],
    )
    partial, whole, opted = result
    assert "半句\u200b\n\n【本内容由人工智能生成】" == partial["plain"]
    assert partial["labeled"] is True
    assert "全文\n\n【本内容由人工智能生成】\u200d" == whole["plain"]
    assert whole["labeled"] is False
    assert "半句" == opted["plain"]


def test_element(js: Any) -> None:
    """
    <aigc-disclosure> renders the prompt with no close control, a polite status region, the
    corner mark 「AI」 when compact, from an attribute or a property, in the tag's language.
    """
    result = js.evaluate(
        """(ui) => {
          const fixture = document.getElementById('fixture');
          fixture.innerHTML = '<aigc-disclosure id="t1"></aigc-disclosure><aigc-disclosure id="t2" compact>'
            + '</aigc-disclosure><aigc-disclosure id="t3" disclosure="not json"></aigc-disclosure>';
          const [t1, t2, t3] = ['t1', 't2', 't3'].map((id) => document.getElementById(id));
          t1.setAttribute('disclosure', JSON.stringify(ui));
          t2.disclosure = {...ui, text: 'AI-generated', language: 'en'};
          const read = (t) => ({
            role: t.getAttribute('role'), live: t.getAttribute('aria-live'), lang: t.getAttribute('lang'),
            badge: t.shadowRoot.querySelector('.badge').textContent,
            text: t.shadowRoot.querySelector('.text').textContent,
            controls: t.shadowRoot.querySelectorAll('button, [role=button], a').length,
            shown: !t.shadowRoot.querySelector('.tag').hasAttribute('data-empty'),
            position: getComputedStyle(t).position,
            textWidth: t.shadowRoot.querySelector('.text').getBoundingClientRect().width,
          });
          return [read(t1), read(t2), read(t3), m.contrastRatio([0, 0, 0], [255, 255, 255])];
        }""",
        UI_ZH,
    )
    full, compact, empty, ratio = result
    assert ("status", "polite", "zh-CN", "AI", "本内容由人工智能生成") == (
        full["role"],
        full["live"],
        full["lang"],
        full["badge"],
        full["text"],
    )
    assert (0, True, "sticky") == (full["controls"], full["shown"], full["position"])
    assert full["textWidth"] > 10
    assert ("en", "AI", "AI-generated") == (compact["lang"], compact["badge"], compact["text"])
    assert compact["textWidth"] <= 1
    assert empty["shown"] is False
    assert 21 == round(ratio)
