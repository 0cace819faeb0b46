"""
The ``aigclabel`` command: label, verify and demo.

It lives with the adapters because ``demo`` drives a wrapped client (the middleware layer).

Exit codes of ``aigclabel verify`` (the one verdict table, :mod:`aigclabel.tiers`, for
standard input, files of every format and directories alike):

====  ==========================================================================
0     labeled (marks intact, a valid excerpt, unverified without a key, or a metadata label)
1     no label found
2     label found but tampered, forged or corrupt, or channels in conflict
3     bad input (unreadable or hostile file, usage) or a configuration error
====  ==========================================================================

Every configuration error exits 3 from every command (``label``, ``verify``, ``export``,
``propagate``, ``audit``, ``demo``): a policy file that is missing, unreadable, not UTF-8, not
TOML or holds a bad setting; a key file that is missing, unreadable, not UTF-8 or empty; a key
that is too short, weak or surrounded by whitespace; an unknown ``AIGCLABEL_*`` variable. These
are :class:`~aigclabel.PolicyError` s; 1 always means "no label found".
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from aigclabel.exceptions import AIGCLabelError
from aigclabel.labeler import Labeler
from aigclabel.marks.alphabet import MARK_RUN
from aigclabel.policy import LabelPolicy, check_environment
from aigclabel.verification import Verdict, verify

from ._cli_io import BadInput, read_key, read_text
from .audit_cli import add_audit_commands, run_audit
from .export_cli import add_export_command, run_export
from .files_cli import add_files_commands, run_files, verify_path

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTACT", "EXIT_NOT_FOUND", "EXIT_TAMPERED", "main"]

EXIT_INTACT = 0
EXIT_NOT_FOUND = 1
EXIT_TAMPERED = 2
EXIT_BAD_INPUT = 3

DEMO_PRODUCER = "001191110102MAD55U9H0F10002"
DEMO_TEXT = """\
杭州是浙江省的省会，位于中国东南沿海、钱塘江下游。这座城市以西湖闻名，湖光山色与人文古迹交相辉映，\
自古就有“上有天堂，下有苏杭”的说法。南宋时期，杭州曾是都城，经济与文化十分繁荣，留下了大量诗词与园林。

今天的杭州既是历史文化名城，也是数字经济的重要中心。许多互联网企业在这里设立总部，电子商务、移动支付和云计算\
等产业发展迅速。城市交通以地铁、公交和共享单车为主，出行比较便利；西湖周边的步行道和自行车道也很适合游客。

如果你计划前往杭州旅行，春季和秋季气候宜人，是最好的季节。建议留出两到三天时间：一天游览西湖、雷峰塔和苏堤，\
一天参观灵隐寺和龙井村，品尝当地的龙井茶；如有余暇，还可以去京杭大运河和良渚古城遗址看看。夏季炎热潮湿，\
冬季偶有降雪，出发前请查看天气预报并提前预订住宿。

Hangzhou is also easy to reach from Shanghai: the high-speed train takes about one hour, and trains leave \
every few minutes during the day.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aigclabel", description="Label AI-generated text (GB 45438-2025) and verify labels."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("label", help="label text from FILE or stdin; print the labeled text")
    lab.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
    lab.add_argument("--policy", help="TOML policy file (AIGCLABEL_* variables and flags override it)")
    lab.add_argument("--producer", help="TC260 provider code (27 characters)")
    lab.add_argument("--key-file", help="file holding the HMAC secret (default: $AIGCLABEL_KEY)")
    lab.add_argument("--placement", choices=["start", "end", "middle", "start+end", "none"])
    lab.add_argument("--format", dest="text_format", choices=["plain", "markdown", "html", "json"])
    lab.add_argument(
        "--seal-form",
        choices=["auto", "full", "compact", "micro"],
        help="auto (default): a micro seal for a text too short to hold a packet (no producer or "
        "ProduceID in the text); full: producer and ProduceID in every text, for files that travel alone",
    )
    lab.add_argument(
        "--json", action="store_true", help="print text, metadata, ui and ids as one JSON object"
    )

    ver = sub.add_parser("verify", help="verify the labels in FILE or stdin")
    ver.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
    ver.add_argument("--key-file", help="file holding the HMAC secret (default: $AIGCLABEL_KEY)")
    ver.add_argument("--public-key", help="Ed25519 public key (64 hex characters) for signed seals")
    ver.add_argument("--keyring", help="TOML keyring: producers' HMAC secrets and public keys by slot")
    ver.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    ver.add_argument("--recursive", action="store_true", help="FILE is a directory: verify every file in it")
    ver.add_argument("--jsonl", help="with a directory: write one JSON line per file to this path")
    ver.add_argument("--declared", action="store_true", help="the uploader declared the content AI-generated")
    ver.add_argument(
        "--watermark",
        choices=["gumbel", "green_list"],
        help="also score the producer's statistical watermark (needs the key; extra [watermark])",
    )
    ver.add_argument("--watermark-slot", type=int, default=0, help="with --watermark: key slot (default 0)")
    ver.add_argument(
        "--tokenizer",
        default="o200k_base",
        help="with --watermark: o200k_base (default), cl100k_base or a Hugging Face tokenizer.json file",
    )

    demo = sub.add_parser("demo", help="label a built-in text offline and verify it")
    demo.add_argument(
        "--ui", action="store_true", help="serve a labeled chat page in the browser (needs the web extra)"
    )
    demo.add_argument("--host", default="127.0.0.1", help="with --ui: loopback address to bind")
    demo.add_argument("--port", type=int, default=8765, help="with --ui: port (0: any free port)")
    demo.add_argument("--no-browser", action="store_true", help="with --ui: do not open a browser")
    serve = sub.add_parser(
        "serve", help="run the labeling gateway, an OpenAI/Anthropic-compatible proxy (gateway extra)"
    )
    serve.add_argument(
        "--upstream", required=True, help="the upstream's base URL, e.g. https://api.openai.com"
    )
    serve.add_argument("--policy", required=True, help="TOML policy file (may hold a [gateway] table)")
    serve.add_argument("--tenants", help="TOML file mapping gateway keys to tenants")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8787, help="port (default 8787; 0: any free port)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--user-header", help="request header naming the end user, e.g. x-end-user")
    serve.add_argument("--consent-store", help="SQLite consent store granting Art. 9 opt-outs")
    serve.add_argument(
        "--trusted-control", action="store_true", help="pass callers' x-aigc-* headers (trusted callers only)"
    )
    serve.add_argument("--shutdown-timeout", type=float, help="seconds in-flight streams get on shutdown")
    add_audit_commands(sub)
    add_files_commands(sub)
    add_export_command(sub)
    return parser


def _summary(verdict: Verdict) -> str:
    ev = verdict.evidence
    lines = [f"tier: {verdict.tier} (Label {verdict.label or '-'})", f"status: {verdict.status}"]
    if verdict.metadata is not None:
        lines.append(f"producer: {verdict.metadata.content_producer}")
        lines.append(f"produce id: {verdict.metadata.produce_id}")
    elif verdict.mark_id:
        lines.append(f"mark id: {verdict.mark_id}")
    for ch in (ev.cf, ev.mn):
        lines.append(
            f"channel {ch.channel}: {ch.packets} packets ({ch.valid} valid, {ch.forged} forged, "
            f"{ch.unverified} unverified), {ch.seals} seals, {ch.corrupt} corrupt runs"
        )
    if ev.seal is not None:
        auth = {True: "authentic", False: "NOT authentic", None: "not checked (no key)"}[ev.seal.authentic]
        lines.append(f"seal: {ev.seal.algorithm}, {auth}, text {ev.seal.binding}")
    for match in ev.explicit[:3]:
        lines.append(f"explicit label: {match.phrase!r} at the {match.position} (offset {match.offset})")
    lines.extend(f"note: {n}" for n in ev.notes)
    return "\n".join(lines)


def _cmd_label(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    text = read_text(args.file, stdin)
    policy = LabelPolicy.load(
        args.policy,
        producer=args.producer,
        key=read_key(args.key_file),
        placement=args.placement,
        text_format=args.text_format,
        seal_form=args.seal_form,
    )
    labeled = Labeler(policy).label(text)
    if args.json:
        json.dump(
            {
                "text": labeled.text,
                "metadata": labeled.metadata.to_dict("wrapped"),
                "ui": labeled.ui.model_dump(),
                "produce_id": labeled.produce_id,
                "mark_id": labeled.mark_id,
            },
            stdout,
            ensure_ascii=False,
        )
        stdout.write("\n")
    else:
        stdout.write(labeled.text)
    return 0


def _cmd_demo(stdout: TextIO) -> int:
    # A fresh random key each run: a key printed in code or docs authenticates nothing.
    demo_key = secrets.token_hex(32)
    labeler = Labeler(LabelPolicy(producer=DEMO_PRODUCER, key=demo_key))
    labeled = labeler.label(DEMO_TEXT)
    visible = labeled.text
    stdout.write("== labeled text (invisible marks shown as ·) ==\n")
    stdout.write(MARK_RUN.sub("·", visible) + "\n\n")
    stdout.write(
        f"== {len(visible) - len(MARK_RUN.sub('', visible))} invisible code points carry "
        f"{labeled.packets} packets and one seal ==\n\n"
    )
    stdout.write("== implicit label (response / file metadata) ==\n" + labeled.metadata.to_json() + "\n\n")
    stdout.write("== interface tag ==\n" + labeled.ui.model_dump_json() + "\n\n")
    verdict = verify(visible, key=demo_key)
    stdout.write("== verify(text, key) ==\n" + _summary(verdict) + "\n\n")
    edited = visible.replace("两到三天", "五到六天", 1)
    stdout.write("== after editing one word ==\n" + _summary(verify(edited, key=demo_key)) + "\n\n")
    wrong = verify(visible, key=secrets.token_hex(32))
    stdout.write("== with the wrong key ==\n" + _summary(wrong) + "\n\n")
    _demo_wrapped_client(labeler, demo_key, stdout)
    stdout.write(
        "\n== next: a chat page with the interface tag, stop, copy and the Art. 9 opt-out ==\n"
        "aigclabel demo --ui    (pip install 'aigc-label[demo]'; serves on 127.0.0.1)\n"
    )
    return 0 if verdict.status == "intact" else 1


def _demo_wrapped_client(labeler: Labeler, key: str, stdout: TextIO) -> None:
    """
    Stream through a wrapped OpenAI client: an embedded stand-in model offline, or the
    real endpoint when OPENAI_API_KEY or OPENAI_BASE_URL (and optionally OPENAI_MODEL) is set.
    Without the ``openai`` extra, stream from the stand-in through a wrapped ``httpx.Client``.
    """
    try:
        import httpx2
        import openai
    except ImportError:
        stdout.write(
            "== openai is not installed (pip install 'aigc-label[openai]' to see a wrapped OpenAI "
            "client): streaming through a wrapped httpx.Client instead ==\n"
        )
        text = _demo_wrapped_httpx(labeler, stdout)
    else:
        text = _demo_wrapped_openai(labeler, openai, httpx2, stdout)
    stdout.write("\n\n== verify(streamed text, key) ==\n" + _summary(verify(text, key=key)) + "\n")


def _demo_wrapped_openai(labeler: Labeler, openai: Any, httpx2: Any, stdout: TextIO) -> str:
    from aigclabel.middleware import wrap

    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        # A local OpenAI-compatible server (vLLM, Ollama) usually needs no key.
        client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "not-needed")
        where = f"the endpoint at {client.base_url}"
    else:
        client = openai.OpenAI(
            api_key="offline",
            base_url=_STAND_IN_URL,
            http_client=httpx2.Client(transport=httpx2.MockTransport(_stand_in_model(httpx2))),
        )
        where = "an embedded stand-in model (offline)"
    client = wrap(client, labeler)
    stdout.write(f"== a wrapped OpenAI client streaming from {where} ==\n")
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    parts: list[str] = []
    for chunk in client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "用三句话介绍杭州。"}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
            stdout.write(MARK_RUN.sub("·", parts[-1]))
    return "".join(parts)


def _demo_wrapped_httpx(labeler: Labeler, stdout: TextIO) -> str:
    """
    The same stream through a wrapped ``httpx.Client`` (a core dependency): Server-Sent
    Events read line by line, the text taken from each chunk's delta.
    """
    import httpx
    from aigclabel.middleware import wrap

    client = wrap(
        httpx.Client(base_url=_STAND_IN_URL, transport=httpx.MockTransport(_stand_in_model(httpx))),
        labeler,
    )
    stdout.write("== a wrapped httpx.Client streaming from an embedded stand-in model (offline) ==\n")
    parts: list[str] = []
    body = {
        "model": "stand-in",
        "messages": [{"role": "user", "content": "用三句话介绍杭州。"}],
        "stream": True,
    }
    with client, client.stream("POST", "/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[len("data: ") :]).get("choices", []):
                if delta := choice.get("delta", {}).get("content"):
                    parts.append(delta)
                    stdout.write(MARK_RUN.sub("·", delta))
    return "".join(parts)


_STAND_IN_URL = "http://stand-in.invalid/v1"


def _stand_in_model(lib: Any) -> Any:
    """
    An OpenAI-compatible chat endpoint for ``httpx`` or ``httpx2`` (*lib*) that streams a
    fixed answer, a few characters a chunk.
    """

    def handler(request: Any) -> Any:
        del request
        answer = (
            "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，"
            "适合游览西湖、灵隐寺和龙井村。从上海乘高铁约一小时即可到达。"
        )
        base = {
            "id": "chatcmpl-demo",
            "created": 1_700_000_000,
            "model": "stand-in",
            "object": "chat.completion.chunk",
        }
        events = [
            {
                **base,
                "choices": [{"index": 0, "delta": {"content": answer[i : i + 4]}, "finish_reason": None}],
            }
            for i in range(0, len(answer), 4)
        ]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        body = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events]
        body.append(b"data: [DONE]\n\n")
        return lib.Response(200, content=iter(body), headers={"content-type": "text/event-stream"})

    return handler


def _cmd_serve(args: argparse.Namespace, stdout: TextIO) -> int:
    if args.workers < 1:
        raise BadInput("--workers must be at least 1")
    from .gateway.server import serve

    settings = {
        "user_header": args.user_header,
        "consent_store": args.consent_store,
        "trusted_control": True if args.trusted_control else None,
        "shutdown_timeout": args.shutdown_timeout,
    }
    load_args: dict[str, Any] = {
        "policy_file": args.policy,
        "upstream": args.upstream,
        "tenants_file": args.tenants,
    }
    load_args.update({k: v for k, v in settings.items() if v is not None})
    try:
        return serve(load_args, host=args.host, port=args.port, workers=args.workers, stdout=stdout)
    except OSError as exc:
        raise BadInput(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def main(
    argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """
    Run the command line; return the exit code (see module docstring).
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    args = _build_parser().parse_args(argv)
    try:
        check_environment()  # a misspelt AIGCLABEL_* name is an error, not a missing setting
        if args.command == "label":
            return _cmd_label(args, stdin, stdout)
        if args.command == "verify":
            return verify_path(args, stdin, stdout)
        if args.command == "audit":
            return run_audit(args, stdout)
        if args.command == "propagate":
            return run_files(args, stdin, stdout)
        if args.command == "export":
            return run_export(args, stdin, stdout)
        if args.command == "serve":
            return _cmd_serve(args, stdout)
        if args.ui:
            from .asgi.demo import serve_demo

            return serve_demo(host=args.host, port=args.port, open_browser=not args.no_browser, stdout=stdout)
        return _cmd_demo(stdout)
    except (BadInput, AIGCLabelError) as exc:
        sys.stderr.write(f"aigclabel: error: {exc}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
