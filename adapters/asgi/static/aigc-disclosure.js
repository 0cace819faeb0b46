// <aigc-disclosure> and the chat helpers of aigc-label (GB 45438-2025 §5.6, Measures Art. 4 and 9).
//
// Plain ES module, no build step, no dependencies. Exports:
//   AigcDisclosure            the custom element <aigc-disclosure> (registered on import)
//   labelMessage(el, ui)      sets the data-aigc-* attributes of a message element
//   markAborted(el, ui)       a stream stopped early: shows the label visibly in the message
//   installCopyHandler(root)  one `copy` listener: copied selections of labeled messages keep a label
//   aigcCopy(el)              copy-button helper: message text + label, text/plain and text/html
//   streamChat(url, body, cb) POSTs JSON and parses the relay's aigc/delta/done/error SSE events
//   SSEDecoder                the incremental event-stream decoder streamChat uses
//   labelFor(ui), contrastRatio(a, b)
//
// The law lets a front end add labels, never remove them: nothing here strips characters from
// a message or a selection (the invisible marks travel with the copied text); helpers only append.

const FALLBACK_TEXT = { zh: "本内容由人工智能生成", en: "AI-generated" };
const FALLBACK_SHORT = "AI";

function langOf(ui) {
  const tag = String((ui && ui.language) || "zh-CN").toLowerCase();
  return tag.startsWith("en") ? "en" : "zh";
}

function parseDisclosure(value) {
  if (value == null || value === "") return null;
  if (typeof value === "object") return value;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

function isOptedOut(ui) {
  return Boolean(ui && ui.opted_out);
}

/**
 * The label wording to carry into copied text: the visible label of the text when it has one,
 * otherwise the tag's prompt (both the AI and the generation element).
 */
export function labelFor(ui) {
  if (!ui) return FALLBACK_TEXT.zh;
  if (ui.label_text) return String(ui.label_text);
  const text = ui.text || FALLBACK_TEXT[langOf(ui)];
  return langOf(ui) === "en" ? `[${text}]` : `【${text}】`;
}

// Comparison only (never used to change what is copied): invisible code points and white space
// are ignored so that a label split by a mark or a line break is still recognised.
const IGNORABLE = /[\s\u200b-\u200f\u2060-\u2064\u034f\ufe00-\ufe0f\ufeff\u{e0100}-\u{e01ef}]/gu;
function comparable(text) {
  return String(text || "").replace(IGNORABLE, "");
}
function bare(label) {
  // The label without its brackets, so 「本内容由人工智能生成」 matches 【本内容由人工智能生成】.
  return comparable(label).replace(/^[[【(（「]+|[\]】)）」]+$/gu, "");
}
function containsLabel(text, label) {
  const needle = bare(label);
  return needle !== "" && comparable(text).includes(needle);
}

const STYLE = `
:host {
  display: block;
  position: sticky;
  top: 0;
  z-index: 10;
  font: 600 0.95rem/1.4 system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  --aigc-fg: #1a1a1a;
  --aigc-bg: #fff4cc;
  --aigc-border: #8a6d00;
  --aigc-badge-fg: #ffffff;
  --aigc-badge-bg: #5c4400;
}
:host([hidden]) { display: none; }
:host([compact]) { display: inline-block; position: static; vertical-align: middle; }
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) {
    --aigc-fg: #fff4cc;
    --aigc-bg: #2b2410;
    --aigc-border: #e0b84a;
    --aigc-badge-fg: #1a1a1a;
    --aigc-badge-bg: #f2cf66;
  }
}
:host([theme="dark"]) {
  --aigc-fg: #fff4cc;
  --aigc-bg: #2b2410;
  --aigc-border: #e0b84a;
  --aigc-badge-fg: #1a1a1a;
  --aigc-badge-bg: #f2cf66;
}
.tag {
  display: flex;
  align-items: center;
  gap: 0.5em;
  margin: 0;
  padding: 0.4em 0.75em;
  color: var(--aigc-fg);
  background: var(--aigc-bg);
  border: 1px solid var(--aigc-border);
  border-radius: 0.4em;
}
.tag[data-empty] { display: none; }
.badge {
  padding: 0 0.4em;
  border-radius: 0.3em;
  color: var(--aigc-badge-fg);
  background: var(--aigc-badge-bg);
  font-weight: 700;
  letter-spacing: 0.02em;
}
:host([compact]) .tag { padding: 0.1em 0.3em; gap: 0; }
:host([compact]) .text { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; }
`;

/**
 * <aigc-disclosure disclosure='{"text": ..., "language": ...}' [compact] [theme="light|dark"]>
 *
 * The interface tag of §5.6: persistent (no close button, not hover-only), sticky at the top of
 * its scroll container, a polite live region. `compact` renders the corner mark 「AI」 (short_text)
 * and keeps the full prompt for assistive technology.
 */
export class AigcDisclosure extends HTMLElement {
  static get observedAttributes() {
    return ["disclosure", "compact", "lang"];
  }

  constructor() {
    super();
    this._disclosure = null;
    const shadow = this.attachShadow({ mode: "open" });
    shadow.innerHTML = `<style>${STYLE}</style><p class="tag" part="tag" data-empty><span class="badge" part="badge"></span><span class="text" part="text"></span></p>`;
  }

  connectedCallback() {
    if (!this.hasAttribute("role")) this.setAttribute("role", "status");
    if (!this.hasAttribute("aria-live")) this.setAttribute("aria-live", "polite");
    this._render();
  }

  attributeChangedCallback(name, _old, value) {
    if (name === "disclosure") this._disclosure = parseDisclosure(value);
    this._render();
  }

  /** The UIDisclosure shown (an object), or null. */
  get disclosure() {
    return this._disclosure;
  }

  set disclosure(value) {
    this._disclosure = parseDisclosure(value);
    this._render();
  }

  /** The text a reader sees in full form (the prompt, in the tag's language). */
  get text() {
    const ui = this._disclosure;
    if (!ui) return "";
    return ui.text || FALLBACK_TEXT[langOf(ui)];
  }

  _render() {
    const root = this.shadowRoot;
    if (!root) return;
    const tag = root.querySelector(".tag");
    const ui = this._disclosure;
    if (!ui) {
      tag.setAttribute("data-empty", "");
      return;
    }
    const compact = this.hasAttribute("compact");
    const short = ui.short_text || FALLBACK_SHORT;
    root.querySelector(".badge").textContent = short;
    root.querySelector(".text").textContent = this.text;
    tag.toggleAttribute("data-empty", false);
    this.setAttribute("lang", langOf(ui) === "en" ? "en" : "zh-CN");
    this.setAttribute("aria-label", this.text);
    this.title = compact ? this.text : "";
    this.dataset.produceId = ui.produce_id || "";
  }
}

if (!customElements.get("aigc-disclosure")) {
  customElements.define("aigc-disclosure", AigcDisclosure);
}

/**
 * Mark a message element as generated content: data-aigc-produce-id, data-aigc-label (what is
 * appended on copy), data-aigc-opted-out, data-aigc-placement. Returns the element.
 */
export function labelMessage(el, disclosure) {
  const ui = parseDisclosure(disclosure) || {};
  el.dataset.aigcProduceId = ui.produce_id || "";
  el.dataset.aigcLabel = labelFor(ui);
  el.dataset.aigcOptedOut = String(isOptedOut(ui));
  el.dataset.aigcPlacement = ui.placement || (ui.explicit_label_in_text === false ? "none" : "end");
  return el;
}

function messageBody(el) {
  return el.querySelector("[data-aigc-body]") || el;
}

/**
 * The user stopped the stream: when the released text does not carry the label yet (end
 * placement, or none), append it visibly to the message. Opted-out messages stay as they are.
 * Returns true when a label was added.
 */
export function markAborted(el, disclosure) {
  const ui = parseDisclosure(disclosure);
  if (ui) labelMessage(el, ui);
  el.dataset.aigcAborted = "true";
  if (el.dataset.aigcOptedOut === "true") return false;
  const label = el.dataset.aigcLabel || labelFor(ui);
  const body = messageBody(el);
  if (containsLabel(body.textContent, label)) return false;
  // A paragraph break then the label, as text: the body is white-space: pre-wrap, so the label
  // reads as its own line and textContent (what the copy button copies) keeps the break.
  body.appendChild(document.createTextNode("\n\n"));
  const span = document.createElement("span");
  span.className = "aigc-appended-label";
  span.dataset.aigcAppended = "true";
  span.textContent = label;
  body.appendChild(span);
  return true;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function rangeTouches(range, el) {
  try {
    return range.intersectsNode(el);
  } catch {
    return false;
  }
}

// The labels (distinct, in order) of the labeled, not opted-out messages a selection touches,
// looking in every root given to installCopyHandler for this document.
function touchedLabels(selection, roots) {
  const labels = [];
  const messages = [];
  for (const root of roots) {
    for (const el of root.querySelectorAll("[data-aigc-label]")) if (!messages.includes(el)) messages.push(el);
  }
  for (let i = 0; i < selection.rangeCount; i += 1) {
    const range = selection.getRangeAt(i);
    for (const el of messages) {
      if (el.dataset.aigcOptedOut === "true" || !rangeTouches(range, el)) continue;
      const label = el.dataset.aigcLabel;
      if (label && !labels.includes(label)) labels.push(label);
    }
  }
  return labels;
}

function selectionHtml(selection) {
  const div = document.createElement("div");
  for (let i = 0; i < selection.rangeCount; i += 1) {
    div.appendChild(selection.getRangeAt(i).cloneContents());
  }
  return div.innerHTML;
}

function trySetData(data, type, value) {
  try {
    data.setData(type, value);
    return true;
  } catch {
    return false;
  }
}

// One `copy` listener per document, whatever the number of roots installed in it.
const rootsByDocument = new WeakMap();

function onCopy(event) {
  const doc = event.currentTarget;
  const roots = rootsByDocument.get(doc);
  const selection = doc.getSelection();
  if (!roots || !selection || selection.isCollapsed || !event.clipboardData) return;
  const text = selection.toString();
  const missing = touchedLabels(selection, roots).filter((label) => !containsLabel(text, label));
  if (missing.length === 0) return;
  const suffix = missing.join("\n");
  event.preventDefault();
  event.clipboardData.setData("text/plain", `${text}\n\n${suffix}`);
  const paragraphs = missing.map((l) => `<p data-aigc-label="true">${escapeHtml(l)}</p>`).join("");
  event.clipboardData.setData("text/html", `${selectionHtml(selection)}${paragraphs}`);
  trySetData(event.clipboardData, "text/markdown", `${text}\n\n${suffix}`);
}

/**
 * Install the document-level `copy` listener (one per document; `root` limits the messages
 * considered to that subtree, and several roots may be installed). When the selection touches
 * labeled messages that are not opted out and does not already contain their label, the copied
 * text/plain and text/html (and text/markdown where the browser allows it) get the label
 * appended once. Opted-out messages and unlabeled content are copied unchanged.
 */
export function installCopyHandler(root = document) {
  const doc = root.ownerDocument || root;
  let roots = rootsByDocument.get(doc);
  if (!roots) {
    roots = new Set();
    rootsByDocument.set(doc, roots);
    doc.addEventListener("copy", onCopy);
  }
  roots.add(root);
  return root;
}

/**
 * What a copy button puts on the clipboard: the message text (everything it holds, marks
 * included) plus the label when the text does not carry it and the message is not opted out.
 */
export function copyPayload(el) {
  const body = messageBody(el);
  const text = body.textContent;
  const raw = text;
  const label = el.dataset.aigcLabel || "";
  const needs = el.dataset.aigcOptedOut !== "true" && label !== "" && !containsLabel(raw, label);
  const plain = needs ? `${text}\n\n${label}` : text;
  const html = needs
    ? `${body.innerHTML}<p data-aigc-label="true">${escapeHtml(label)}</p>`
    : body.innerHTML;
  return { plain, html, labeled: needs };
}

/**
 * Copy-button helper: writes the message (text/plain and text/html; "web text/markdown" where
 * the async clipboard supports it) with the label appended per copyPayload. Resolves to the
 * text/plain written.
 */
export async function aigcCopy(el) {
  const { plain, html } = copyPayload(el);
  const clip = navigator.clipboard;
  if (clip && typeof clip.write === "function" && typeof ClipboardItem !== "undefined") {
    const items = {
      "text/plain": new Blob([plain], { type: "text/plain" }),
      "text/html": new Blob([html], { type: "text/html" }),
    };
    if (typeof ClipboardItem.supports === "function" && ClipboardItem.supports("web text/markdown")) {
      try {
        await clip.write([
          new ClipboardItem({ ...items, "web text/markdown": new Blob([plain], { type: "web text/markdown" }) }),
        ]);
        return plain;
      } catch {
        // fall through to the two standard flavours
      }
    }
    await clip.write([new ClipboardItem(items)]);
    return plain;
  }
  if (clip && typeof clip.writeText === "function") {
    await clip.writeText(plain);
    return plain;
  }
  // Last resort (insecure context): a copy event on a temporary selection.
  const holder = document.createElement("textarea");
  holder.value = plain;
  holder.setAttribute("readonly", "");
  holder.style.position = "fixed";
  holder.style.opacity = "0";
  document.body.appendChild(holder);
  holder.select();
  try {
    document.execCommand("copy");
  } finally {
    holder.remove();
  }
  return plain;
}

/**
 * Incremental text/event-stream decoder: decode(text) returns the complete events so far
 * ({event, data}), carrying half a line (and a trailing CR) into the next call; flush() ends it.
 * Comment lines (": ping") are skipped.
 */
export class SSEDecoder {
  constructor() {
    this._buffer = "";
    this._event = "";
    this._data = [];
    this._pendingCR = false;
  }

  decode(chunk) {
    let text = chunk;
    if (this._pendingCR) {
      if (text.startsWith("\n")) text = text.slice(1);
      this._pendingCR = false;
    }
    if (text.endsWith("\r")) {
      this._pendingCR = true;
    }
    this._buffer += text;
    const lines = this._buffer.split(/\r\n|\r|\n/);
    this._buffer = lines.pop();
    const events = [];
    for (const line of lines) this._line(line, events);
    return events;
  }

  flush() {
    const events = [];
    if (this._buffer !== "") this._line(this._buffer, events);
    this._buffer = "";
    this._line("", events);
    return events;
  }

  _line(line, events) {
    if (line === "") {
      if (this._data.length > 0) {
        events.push({ event: this._event || "message", data: this._data.join("\n") });
      }
      this._event = "";
      this._data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this._event = value;
    else if (field === "data") this._data.push(value);
  }
}

/**
 * POST `body` as JSON to the relay at `url` and dispatch its events:
 * onAigc(data) before the first token, onDelta(text, data), onDone(data), onError(data).
 * Resolves to {status: "done"|"error"|"aborted"|"ended", text} where text is the deltas joined.
 * Aborting `signal` stops the stream and resolves with status "aborted" (no onError).
 */
export async function streamChat(url, body, { onAigc, onDelta, onDone, onError, signal } = {}) {
  let text = "";
  let status = "ended";
  const dispatch = (ev) => {
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      data = { raw: ev.data };
    }
    if (ev.event === "aigc") {
      if (onAigc) onAigc(data);
    } else if (ev.event === "delta") {
      const piece = (data && data.text) || "";
      text += piece;
      if (onDelta) onDelta(piece, data);
    } else if (ev.event === "done") {
      status = "done";
      if (onDone) onDone(data);
    } else if (ev.event === "error") {
      status = "error";
      if (onError) onError(data);
    }
  };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok || !response.body) {
      let message = `HTTP ${response.status}`;
      try {
        message = `${message}: ${await response.text()}`;
      } catch {
        // keep the status line
      }
      status = "error";
      if (onError) onError({ type: "HTTPError", message, status: response.status });
      return { status, text };
    }
    const reader = response.body.getReader();
    const utf8 = new TextDecoder("utf-8");
    const sse = new SSEDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of sse.decode(utf8.decode(value, { stream: true }))) dispatch(ev);
    }
    for (const ev of sse.decode(utf8.decode())) dispatch(ev);
    for (const ev of sse.flush()) dispatch(ev);
    return { status, text };
  } catch (err) {
    if ((signal && signal.aborted) || (err && err.name === "AbortError")) {
      return { status: "aborted", text };
    }
    status = "error";
    if (onError) onError({ type: (err && err.name) || "Error", message: String((err && err.message) || err) });
    return { status, text };
  }
}

/** WCAG 2.x contrast ratio of two CSS colours given as [r, g, b] (0-255). */
export function contrastRatio(a, b) {
  const lum = ([r, g, bl]) => {
    const f = (c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(bl);
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
