// The demo chat page: streams /api/chat through streamChat, shows <aigc-disclosure> from the
// `aigc` event on (before the first token), labels every assistant message, and offers copy,
// stop, the Art. 9 opt-out, export and verify. window.__aigcEvents keeps page timestamps
// (epoch milliseconds) for tests and the latency benchmark.
import { aigcCopy, installCopyHandler, labelMessage, markAborted, streamChat } from "./aigc-disclosure.js";

const USER = "demo-user";
const AGREEMENT_VERSION = "demo-v1";

const STRINGS = {
  zh: {
    title: "aigc-label 演示对话",
    language: "界面语言",
    optout: "不添加显式标识（第九条）",
    agreement:
      "用户协议（demo-v1）：选择不添加显式标识的，您在发布或传播该内容时应自行添加符合规定的显式标识，并承担相应的标识义务；服务提供者将记录此选择及内容接收者，保存不少于六个月。隐式标识不受影响。",
    chat: "对话",
    input: "消息",
    placeholder: "输入消息，回车发送，Shift+回车换行",
    send: "发送",
    stop: "停止",
    export: "导出",
    verify: "检测标识",
    verifyText: "粘贴文本",
    verifyFile: "或上传文件",
    verifyButton: "检测",
    records: "第九条记录",
    recordsButton: "查看记录",
    you: "你",
    assistant: "助手",
    copy: "复制",
    copied: "已复制（含标识）",
    copiedPlain: "已复制",
    copyFailed: "复制失败",
    stopped: "已停止",
    optedOut: "已选择不添加显式标识",
    optedIn: "显示显式标识",
    exported: "已导出",
    records0: "条记录",
  },
  en: {
    title: "aigc-label demo chat",
    language: "Language",
    optout: "No visible label (Art. 9)",
    agreement:
      "User agreement (demo-v1): if you choose content without the visible label, you must add a compliant visible label yourself when you publish or share it, and you carry that labeling duty; the provider logs this choice and who received the content for at least six months. The hidden label stays.",
    chat: "Conversation",
    input: "Message",
    placeholder: "Type a message, Enter to send, Shift+Enter for a new line",
    send: "Send",
    stop: "Stop",
    export: "Export",
    verify: "Check labels",
    verifyText: "Paste text",
    verifyFile: "or upload a file",
    verifyButton: "Check",
    records: "Art. 9 records",
    recordsButton: "Show records",
    you: "You",
    assistant: "Assistant",
    copy: "Copy",
    copied: "Copied (with label)",
    copiedPlain: "Copied",
    copyFailed: "Copy failed",
    stopped: "Stopped",
    optedOut: "Visible label waived",
    optedIn: "Visible label shown",
    exported: "Exported",
    records0: "record(s)",
  },
};

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const events = [];
window.__aigcEvents = events;
const now = () => performance.timeOrigin + performance.now();
function record(type, extra = {}) {
  events.push({ type, t: now(), ...extra });
}

const history = [];
let current = null; // {controller, article, ui}
let lang = "zh";
const t = (key) => STRINGS[lang][key] || STRINGS.zh[key] || key;

function applyLanguage() {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-testid=copy-button]")) el.textContent = t("copy");
}

function scroller() {
  return $("chat-scroller");
}

function nearBottom() {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
}

function scrollToBottom() {
  const s = scroller();
  s.scrollTop = s.scrollHeight;
}

function addMessage(role, text) {
  const article = document.createElement("article");
  article.className = `msg msg-${role}`;
  article.dataset.testid = "message";
  article.dataset.role = role;
  const head = document.createElement("div");
  head.className = "msg-head";
  const who = document.createElement("span");
  who.textContent = role === "user" ? t("you") : t("assistant");
  head.appendChild(who);
  const body = document.createElement("div");
  body.className = "msg-body";
  body.dataset.aigcBody = "";
  body.dataset.testid = "message-text";
  body.textContent = text;
  article.append(head, body);
  if (role === "assistant") {
    const mark = document.createElement("aigc-disclosure");
    mark.setAttribute("compact", "");
    mark.dataset.testid = "message-tag";
    mark.hidden = true;
    head.prepend(mark);
    const foot = document.createElement("div");
    foot.className = "msg-foot";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "secondary";
    copy.dataset.testid = "copy-button";
    copy.textContent = t("copy");
    const status = document.createElement("span");
    status.className = "status";
    status.dataset.testid = "copy-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    copy.addEventListener("click", async () => {
      try {
        await aigcCopy(article);
        const labeled = article.dataset.aigcOptedOut !== "true";
        status.textContent = labeled ? t("copied") : t("copiedPlain");
        record("copy", { index: Number(article.dataset.index) });
      } catch (err) {
        status.textContent = `${t("copyFailed")}: ${err}`;
      }
    });
    foot.append(copy, status);
    article.appendChild(foot);
  }
  article.dataset.index = String(document.querySelectorAll("[data-testid=message]").length);
  $("message-list").appendChild(article);
  return article;
}

function showTag(ui) {
  const tag = $("aigc-tag");
  tag.disclosure = ui;
  tag.hidden = false;
}

// Whether the interface tag is on screen now (rendered, not hidden, with a size).
function tagVisible() {
  const tag = $("aigc-tag");
  if (tag.hidden || !tag.disclosure) return false;
  const box = tag.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
}

function setBusy(busy) {
  $("send-button").disabled = busy;
  $("stop-button").disabled = !busy;
}

async function send(text) {
  const input = $("chat-input");
  history.push({ role: "user", content: text });
  addMessage("user", text);
  const article = addMessage("assistant", "");
  const body = article.querySelector("[data-aigc-body]");
  const index = Number(article.dataset.index);
  const controller = new AbortController();
  current = { controller, article, ui: null };
  const state = current;
  setBusy(true);
  input.value = "";
  scrollToBottom();
  record("send", { index });
  let first = true;
  const result = await streamChat(
    "api/chat",
    { messages: history.slice(), user: USER, language: lang },
    {
      signal: controller.signal,
      onAigc(data) {
        state.ui = { ...(data.ui || {}), produce_id: (data.ui && data.ui.produce_id) || data.produce_id };
        showTag(state.ui);
        labelMessage(article, state.ui);
        article.dataset.aigcMarkId = data.mark_id || "";
        const mark = article.querySelector("[data-testid=message-tag]");
        mark.disclosure = state.ui;
        mark.hidden = false;
        record("aigc", { index });
        // The frame that paints the tag (a requestAnimationFrame callback runs just before it).
        requestAnimationFrame(() => record("tag-frame", { index }));
      },
      onDelta(piece) {
        const follow = nearBottom();
        if (first) {
          first = false;
          // Whether the tag is on screen at the moment the first token arrives (before it is shown).
          const visible = tagVisible();
          body.appendChild(document.createTextNode(piece));
          record("first-delta", { index, tagVisible: visible });
        } else {
          body.appendChild(document.createTextNode(piece));
        }
        if (follow) scrollToBottom();
      },
      onDone(data) {
        article.dataset.aigcDone = "true";
        article.dataset.finishReason = String(data.finish_reason);
        record("done", { index });
      },
      onError(data) {
        const err = document.createElement("p");
        err.className = "msg-error";
        err.setAttribute("role", "alert");
        err.textContent = `${data.type || "Error"}: ${data.message || ""}`;
        article.appendChild(err);
        record("error", { index, error: data.type });
      },
    },
  );
  // Stopped, failed or cut off: the text released so far may lack its end label, so show it.
  if (result.status === "aborted" || (result.status !== "done" && body.textContent !== "")) {
    markAborted(article, state.ui);
    if (result.status === "aborted") {
      const note = document.createElement("span");
      note.className = "status";
      note.textContent = t("stopped");
      article.querySelector(".msg-foot").appendChild(note);
      record("aborted", { index });
    }
  }
  history.push({ role: "assistant", content: body.textContent });
  if (current === state) current = null;
  setBusy(false);
  record("settled", { index, status: result.status });
}

async function loadConsent() {
  const response = await fetch(`api/consent?user=${encodeURIComponent(USER)}`);
  if (!response.ok) return;
  showConsent(await response.json());
}

function showConsent(consent) {
  $("optout-toggle").checked = Boolean(consent.opted_out);
  $("consent-status").textContent = consent.opted_out
    ? `${t("optedOut")} (${consent.agreement_version || AGREEMENT_VERSION})`
    : t("optedIn");
  document.body.dataset.optedOut = String(Boolean(consent.opted_out));
}

async function saveConsent(optedOut) {
  const response = await fetch("api/consent", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: USER, opted_out: optedOut, agreement_version: AGREEMENT_VERSION }),
  });
  if (!response.ok) {
    $("consent-status").textContent = `HTTP ${response.status}`;
    return;
  }
  showConsent(await response.json());
  record("consent", { opted_out: optedOut });
}

function filenameOf(response, fallback) {
  const header = response.headers.get("content-disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

async function exportAs(format) {
  const status = $("export-status");
  const response = await fetch("api/export", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: history, format }),
  });
  if (!response.ok) {
    status.textContent = `HTTP ${response.status}: ${await response.text()}`;
    return;
  }
  const blob = await response.blob();
  const name = filenameOf(response, `chat.${format}`);
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  status.textContent = `${t("exported")}: ${name} (${blob.size} B)`;
  record("export", { format, size: blob.size });
}

async function verify() {
  const out = $("verify-result");
  const file = $("verify-file").files[0];
  let response;
  if (file) {
    const form = new FormData();
    form.append("file", file);
    response = await fetch("api/verify", { method: "POST", body: form });
  } else {
    response = await fetch("api/verify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: $("verify-text").value }),
    });
  }
  if (!response.ok) {
    out.textContent = `HTTP ${response.status}: ${await response.text()}`;
    return;
  }
  const verdict = await response.json();
  out.dataset.tier = String(verdict.tier ?? "");
  out.dataset.status = String(verdict.status ?? "");
  const lines = [`tier: ${verdict.tier ?? "-"}`, `status: ${verdict.status ?? "-"}`];
  for (const m of verdict.messages || []) lines.push(`• ${typeof m === "string" ? m : JSON.stringify(m)}`);
  out.textContent = lines.join("\n");
  record("verify", { tier: verdict.tier, status: verdict.status });
}

async function showRecords() {
  const out = $("records-result");
  const response = await fetch(`api/records?user=${encodeURIComponent(USER)}`);
  if (!response.ok) {
    out.textContent = `HTTP ${response.status}`;
    return;
  }
  const rows = await response.json();
  out.dataset.count = String(rows.length);
  out.textContent = `${rows.length} ${t("records0")}`;
}

function init() {
  installCopyHandler(document);
  const select = $("language-select");
  lang = select.value === "en" ? "en" : "zh";
  applyLanguage();
  select.addEventListener("change", () => {
    lang = select.value === "en" ? "en" : "zh";
    applyLanguage();
  });
  $("optout-toggle").addEventListener("change", (e) => saveConsent(e.target.checked));
  const form = $("chat-form");
  const input = $("chat-input");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text && !current) send(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  $("stop-button").addEventListener("click", () => {
    if (current) current.controller.abort();
  });
  for (const format of ["docx", "md"]) $(`export-${format}`).addEventListener("click", () => exportAs(format));
  $("verify-button").addEventListener("click", verify);
  $("records-button").addEventListener("click", showRecords);
  loadConsent().catch(() => {});
  document.body.dataset.ready = "true";
  record("ready");
}

init();
