"""
The demo chat page in a real browser (headless chromium): the interface tag of GB 45438 §5.6
(before the first token, persistent, sticky), labels on stopped streams, labels on copied text
(Measures Art. 4, last paragraph), the Art. 9 opt-out, contrast and ARIA roles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import WAIT_MS

READ_CLIPBOARD = """async () => {
  const out = {};
  for (const item of await navigator.clipboard.read()) {
    for (const type of item.types) out[type] = await (await item.getType(type)).text();
  }
  return out;
}"""

# Select characters [start, end) of the text inside message n's body (a DOM Range over its
# text nodes), so Ctrl+C copies a partial selection the way a user's drag would.
SELECT_RANGE = """([n, start, end]) => {
  const body = document.querySelectorAll('[data-testid=message]')[n].querySelector('[data-aigc-body]');
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let offset = 0, node, started = false;
  while ((node = walker.nextNode())) {
    const len = node.data.length;
    if (!started && start <= offset + len) { range.setStart(node, start - offset); started = true; }
    if (started && end <= offset + len) { range.setEnd(node, end - offset); break; }
    offset += len;
  }
  const selection = getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}"""

LABEL_WORDING = re.compile(r"本内容由人工智能生成|本内容由AI生成|AI-generated", re.IGNORECASE)
INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\u034f\ufe00-\ufe0f\ufeff\U000e0100-\U000e01ef]")


def label_count(text: str) -> int:
    """
    How many visible labels a text carries (an English label names both wordings once).
    """
    bare = INVISIBLE.sub("", text)
    return len(re.findall(r"\[AI-generated[^\]]*\]|【[^】]*】|本内容由人工智能生成", bare)) or len(
        LABEL_WORDING.findall(bare)
    )


def events(page: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in page.evaluate("window.__aigcEvents") if e["type"] == kind]


def send(page: Any, text: str) -> int:
    """
    Type and send a message; return the index of the assistant message it starts.
    """
    before = len(events(page, "send"))
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")
    page.wait_for_function(
        f"window.__aigcEvents.filter(e => e.type === 'send').length > {before}", timeout=WAIT_MS
    )
    return events(page, "send")[-1]["index"]


def wait_settled(page: Any, index: int) -> dict[str, Any]:
    page.wait_for_function(
        f"window.__aigcEvents.some(e => e.type === 'settled' && e.index === {index})", timeout=WAIT_MS
    )
    return next(e for e in events(page, "settled") if e["index"] == index)


def message(page: Any, index: int) -> Any:
    return page.locator("[data-testid=message]").nth(index)


def server_url(page: Any) -> str:
    return page.evaluate("location.origin")


def read_clipboard(page: Any) -> dict[str, str]:
    return page.evaluate(READ_CLIPBOARD)


def tag_in_view(page: Any) -> bool:
    """
    The page-level tag is displayed and inside the visible part of the chat scroller.
    """
    return page.evaluate(
        """() => {
          const tag = document.querySelector('[data-testid=aigc-tag]');
          const box = tag.getBoundingClientRect();
          const view = document.querySelector('[data-testid=chat-scroller]').getBoundingClientRect();
          const text = tag.shadowRoot.querySelector('.text').textContent;
          return !tag.hidden && box.height > 0 && box.top >= view.top - 1 && box.bottom <= view.bottom + 1
            && text.length > 0;
        }"""
    )


def test_tag_before_first_token_and_persistent(page: Any, artifacts: Path) -> None:
    """
    The tag is on screen before the first token, stays in view while scrolling (sticky) and
    across a second message.
    """
    assert page.get_by_test_id("aigc-tag").is_hidden()
    first = send(page, "你好，请介绍一下你自己。")
    assert "done" == wait_settled(page, first)["status"]
    aigc, delta = events(page, "aigc")[0], events(page, "first-delta")[0]
    assert aigc["t"] <= delta["t"]
    assert delta["tagVisible"] is True
    assert tag_in_view(page)
    page.screenshot(path=str(artifacts / "chat-first-message.png"))

    scroller = page.get_by_test_id("chat-scroller")
    for position in ("s.scrollHeight / 2", "0", "s.scrollHeight"):
        scroller.evaluate(f"s => {{ s.scrollTop = {position}; }}")
        assert tag_in_view(page), position

    second = send(page, "再说一点。")
    assert "done" == wait_settled(page, second)["status"]
    assert events(page, "first-delta")[1]["tagVisible"] is True
    scroller.evaluate("s => { s.scrollTop = s.scrollHeight / 3; }")
    assert tag_in_view(page)
    for n in (first, second):
        mark = message(page, n).get_by_test_id("message-tag")
        assert mark.is_visible()
        assert message(page, n).get_attribute("data-aigc-produce-id")
    page.screenshot(path=str(artifacts / "chat-scrolled.png"))


def test_stop_half_way_visible_label(page: Any, artifacts: Path) -> None:
    """
    Stopping a stream after the first token leaves a message whose visible text carries a label.
    """
    index = send(page, "写一篇长一点的回答。")
    page.wait_for_function(
        f"window.__aigcEvents.some(e => e.type === 'first-delta' && e.index === {index})", timeout=WAIT_MS
    )
    page.get_by_test_id("stop-button").click()
    assert "aborted" == wait_settled(page, index)["status"]
    article = message(page, index)
    assert "true" == article.get_attribute("data-aigc-aborted")
    visible = article.get_by_test_id("message-text").inner_text()
    label = article.get_attribute("data-aigc-label")
    assert label
    assert 1 == label_count(visible)
    assert visible.rstrip().endswith(label)
    assert page.get_by_test_id("stop-button").is_disabled()
    page.screenshot(path=str(artifacts / "chat-stopped.png"))

    article.get_by_test_id("copy-button").click()
    article.get_by_test_id("copy-status").filter(has_text=re.compile(".+")).wait_for(timeout=WAIT_MS)
    clip = read_clipboard(page)
    assert 1 == label_count(clip["text/plain"])
    assert 1 == label_count(clip["text/html"])


def test_copy_partial_selection_appends_label_once(page: Any) -> None:
    """
    Ctrl+C on part of a labeled message puts the selection plus the label (once) in text/plain
    and text/html; nothing of the selection is dropped.
    """
    index = send(page, "你好")
    wait_settled(page, index)
    label = message(page, index).get_attribute("data-aigc-label")
    selected = page.evaluate(SELECT_RANGE, [index, 2, 14])
    assert 12 == len(selected)
    assert 0 == label_count(selected)
    page.keyboard.press("Control+C")
    clip = read_clipboard(page)
    assert f"{selected}\n\n{label}" == clip["text/plain"]
    assert 1 == label_count(clip["text/html"])
    assert label in clip["text/html"]

    # A selection that already holds the label is copied as it is (no second label).
    body = message(page, index).get_by_test_id("message-text")
    length = body.evaluate("b => b.textContent.length")
    selected = page.evaluate(SELECT_RANGE, [index, 0, length])
    page.keyboard.press("Control+C")
    clip = read_clipboard(page)
    assert 1 == label_count(clip["text/plain"])
    assert INVISIBLE.search(clip["text/plain"]), "the invisible marks were dropped"


def test_copy_button_whole_message(page: Any) -> None:
    """
    The copy button copies the whole message with its marks and exactly one label.
    """
    index = send(page, "你好")
    wait_settled(page, index)
    article = message(page, index)
    raw = article.get_by_test_id("message-text").evaluate("b => b.textContent")
    article.get_by_test_id("copy-button").click()
    article.get_by_test_id("copy-status").filter(has_text=re.compile(".+")).wait_for(timeout=WAIT_MS)
    clip = read_clipboard(page)
    assert raw == clip["text/plain"][: len(raw)]
    assert 1 == label_count(clip["text/plain"])
    assert 1 == label_count(clip["text/html"])
    # The copied text still verifies: its invisible marks and seal survived the page and the copy.
    verdict = page.request.post(server_url(page) + "/api/verify", data={"text": clip["text/plain"]}).json()
    assert "confirmed" == verdict["tier"]


def test_opted_out_message_copied_unchanged(page: Any) -> None:
    """
    After the Art. 9 opt-out a message carries no visible label, and copying it (selection or
    button) leaves it unchanged; the interface keeps the agreement text with the user's duty.
    """
    agreement = page.get_by_test_id("agreement-text").inner_text()
    assert "demo-v1" in agreement
    assert "标识义务" in agreement
    page.get_by_test_id("optout-toggle").check()
    page.wait_for_function("document.body.dataset.optedOut === 'true'", timeout=WAIT_MS)
    index = send(page, "你好")
    wait_settled(page, index)
    article = message(page, index)
    assert "true" == article.get_attribute("data-aigc-opted-out")
    raw = article.get_by_test_id("message-text").evaluate("b => b.textContent")
    assert 0 == label_count(raw)

    selected = page.evaluate(SELECT_RANGE, [index, 0, 20])
    page.keyboard.press("Control+C")
    assert selected == read_clipboard(page)["text/plain"]

    article.get_by_test_id("copy-button").click()
    article.get_by_test_id("copy-status").filter(has_text=re.compile(".+")).wait_for(timeout=WAIT_MS)
    assert raw == read_clipboard(page)["text/plain"]

    # The Art. 9 record of who received the unlabeled content was written.
    page.get_by_test_id("records-button").click()
    records = page.get_by_test_id("records-result")
    records.filter(has_text=re.compile(r"\d")).wait_for(timeout=WAIT_MS)
    assert int(records.get_attribute("data-count")) >= 1


CONTRAST = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const tag = getComputedStyle(el.shadowRoot.querySelector('.tag'));
  const badge = getComputedStyle(el.shadowRoot.querySelector('.badge'));
  return {text: ratio(tag.color, tag.backgroundColor), badge: ratio(badge.color, badge.backgroundColor),
          bg: tag.backgroundColor};
}"""


def test_contrast_and_roles(page: Any, artifacts: Path) -> None:
    """
    The tag and the corner mark reach WCAG 4.5:1 in light and dark (media query and `theme`
    attribute); the tag is a polite status region; controls have names and roles.
    """
    index = send(page, "你好")
    wait_settled(page, index)
    tag = page.get_by_test_id("aigc-tag")
    mark = message(page, index).get_by_test_id("message-tag")
    backgrounds = set()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for theme in (None, "light", "dark"):
            for el in (tag, mark):
                el.evaluate("(e, t) => t ? e.setAttribute('theme', t) : e.removeAttribute('theme')", theme)
                ratios = el.evaluate(CONTRAST)
                assert ratios["text"] >= 4.5, (scheme, theme, ratios)
                assert ratios["badge"] >= 4.5, (scheme, theme, ratios)
                backgrounds.add(ratios["bg"])
        tag.evaluate("e => e.removeAttribute('theme')")
        mark.evaluate("e => e.removeAttribute('theme')")
        page.screenshot(path=str(artifacts / f"chat-{scheme}.png"))
    assert len(backgrounds) >= 2, "dark mode changes nothing"

    assert "status" == tag.get_attribute("role")
    assert "polite" == tag.get_attribute("aria-live")
    assert tag.get_attribute("aria-label")
    assert "AI" == mark.evaluate("e => e.shadowRoot.querySelector('.badge').textContent")
    assert "log" == page.get_by_test_id("message-list").get_attribute("role")
    assert page.get_by_role("status").filter(has=page.locator("[data-testid=aigc-tag]")).count() == 0
    assert page.get_by_role("textbox", name=re.compile("消息|Message")).count() == 1
    assert page.get_by_role("button", name=re.compile("发送|Send")).count() == 1
    assert page.get_by_role("checkbox").count() == 1


def test_keyboard_and_language(page: Any) -> None:
    """
    Everything works from the keyboard; the language selector sends `language` and the tag
    follows it.
    """
    page.get_by_test_id("language-select").select_option("en")
    assert "Send" == page.get_by_test_id("send-button").inner_text()
    page.get_by_test_id("chat-input").focus()
    page.keyboard.type("Hello")
    page.keyboard.press("Enter")
    page.wait_for_function("window.__aigcEvents.some(e => e.type === 'settled')", timeout=WAIT_MS)
    tag = page.get_by_test_id("aigc-tag")
    tag_text = tag.evaluate("e => e.shadowRoot.querySelector('.text').textContent")
    assert "AI" in tag_text
    assert "en" == page.get_by_test_id("aigc-tag").get_attribute("lang")
    page.get_by_test_id("copy-button").first.focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("copy-status").first.filter(has_text=re.compile(".+")).wait_for(timeout=WAIT_MS)


def test_export_and_verify(page: Any) -> None:
    """
    The export buttons download a file with the label; the verify box shows a tier and status.
    """
    index = send(page, "你好")
    wait_settled(page, index)
    with page.expect_download(timeout=WAIT_MS) as info:
        page.get_by_test_id("export-md").click()
    content = Path(info.value.path()).read_text(encoding="utf-8")
    assert label_count(content) >= 1
    with page.expect_download(timeout=WAIT_MS) as info:
        page.get_by_test_id("export-docx").click()
    assert info.value.suggested_filename.endswith(".docx")

    text = message(page, index).get_by_test_id("message-text").evaluate("b => b.textContent")
    page.get_by_test_id("verify-text").fill(text)
    page.get_by_test_id("verify-button").click()
    result = page.get_by_test_id("verify-result")
    result.filter(has_text="tier").wait_for(timeout=WAIT_MS)
    assert "confirmed" == result.get_attribute("data-tier")
    assert result.get_attribute("data-status")

    # An uploaded file (the exported Markdown) goes through the same verdict.
    page.evaluate("() => { document.querySelector('[data-testid=verify-result]').textContent = ''; }")
    page.get_by_test_id("verify-file").set_input_files(
        {"name": "chat.md", "mimeType": "text/markdown", "buffer": content.encode("utf-8")}
    )
    page.get_by_test_id("verify-button").click()
    result.filter(has_text="tier").wait_for(timeout=WAIT_MS)
    assert result.get_attribute("data-tier")


BROKEN_UI = {
    "text": "本内容由人工智能生成",
    "language": "zh-CN",
    "produce_id": "p",
    "opted_out": False,
    "short_text": "AI",
    "placement": "end",
    "label_text": "【本内容由人工智能生成】",
    "persistent": True,
    "position": "near_content",
    "explicit_label_in_text": True,
}
BROKEN_STREAM = (
    f"event: aigc\ndata: {json.dumps({'produce_id': 'p', 'mark_id': '0badc0de', 'ui': BROKEN_UI})}\n\n"
    'event: delta\ndata: {"text": "杭州是浙江省的省会"}\n\n'
    'event: error\ndata: {"type": "APIConnectionError", "message": "upstream went away"}\n\n'
)


def test_failed_stream_keeps_label(page: Any) -> None:
    """
    A stream that fails after releasing text shows the error and the label under the partial text.
    """
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(content_type="text/event-stream", body=BROKEN_STREAM.encode()),
    )
    index = send(page, "你好")
    assert "error" == wait_settled(page, index)["status"]
    article = message(page, index)
    assert "APIConnectionError" in article.get_by_role("alert").inner_text()
    visible = article.get_by_test_id("message-text").inner_text()
    assert visible.startswith("杭州是浙江省的省会")
    assert 1 == label_count(visible)
