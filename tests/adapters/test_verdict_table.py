"""
One verdict table (``aigclabel.tiers``) behind every entry point: the same input gives the
same tier, status and exit code from ``verify()``, ``verify_bytes()``, ``verify_file()``,
``verify_batch()``, ``verify_tree()`` and ``aigclabel verify`` (file and standard input).
And every export round trip: export → verify (key, no key, keyring) → propagate → verify,
single answers and conversations, Chinese and English.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aigclabel import Keyring, Labeler, LabelPolicy, verify
from aigclabel.adapters.cli import main
from aigclabel.adapters.export import Message, export
from aigclabel.adapters.files import propagate_bytes, verify_batch, verify_bytes, verify_file
from aigclabel.adapters.files.batch import verify_tree
from aigclabel.tiers import exit_code

from tests.helpers import KEY, PLATFORM, PRODUCER

ZH = (
    "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览西湖、灵隐寺和龙井村。"
    "从上海乘高铁约一小时即可到达。"
)
OTHER_KEY = "9d3a71c4e28b56f0a1d7c39e4b82f615"  # a producer's key the verifier does not hold
EN = "Hangzhou is the capital of Zhejiang province, famous for West Lake. Spring and autumn are best."


def _labeler() -> Labeler:
    # The full seal: the table pins its rows (a micro seal cannot tell an edit from a forgery:
    # tests/sdk/test_micro_seal.py); the exports below use the default policy.
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full"))


def _texts() -> dict[str, str]:
    lb = _labeler()
    labeled = lb.label(ZH).text
    return {
        "plain text": "an ordinary human sentence about a lake.",
        "labeled": labeled,
        "edited": labeled.replace("西湖", "东湖", 1),
        "explicit phrase only": ZH + "\n\n（本内容由 AI 生成）",
        "excerpt": labeled[len(labeled) // 4 : len(labeled) // 4 + 60],
        "forged": Labeler(LabelPolicy(producer=PRODUCER, key=OTHER_KEY, seal_form="full")).label(ZH).text,
        "english": lb.label(EN).text,
    }


CASES = list(_texts())
TEXTS = _texts()


def _cli(argv: list[str], stdin: bytes = b"") -> tuple[int, dict[str, object]]:
    out = io.StringIO()

    class _In(io.StringIO):
        buffer = io.BytesIO(stdin)

    code = main([*argv, "--json"], stdin=_In(), stdout=out)
    return code, json.loads(out.getvalue())


@pytest.mark.parametrize("key", [KEY, None], ids=["key", "no-key"])
@pytest.mark.parametrize("case", CASES)
def test_every_entry_point_gives_the_same_verdict(case: str, key: str | None, tmp_path: Path) -> None:
    """tier, status and exit code agree across verify(), bytes, file, batch, tree and the CLI."""
    text = TEXTS[case]
    data = text.encode()
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    key_file = tmp_path / "key"
    key_file.write_text(KEY, "utf-8")
    v = verify(text, key=key)
    expected = (v.tier, v.status, exit_code(v.tier, v.status))
    results: dict[str, tuple[object, object, object]] = {}
    fv = verify_bytes(data, key=key)
    results["verify_bytes"] = (fv.tier, fv.status, fv.exit_code)
    fv = verify_file(path, key=key)
    results["verify_file"] = (fv.tier, fv.status, fv.exit_code)
    (row,) = verify_batch([("in.txt", data)], key=key)
    results["verify_batch"] = (row["tier"], row["status"], row["exit_code"])
    lines = io.StringIO()
    verify_tree(tmp_path, jsonl=lines, key=key, progress=False)
    (tree_row,) = [json.loads(line) for line in lines.getvalue().splitlines() if line.strip()]
    results["verify_tree"] = (tree_row["tier"], tree_row["status"], fv.exit_code)
    keyed = ["--key-file", str(key_file)] if key else []
    code, out = _cli(["verify", str(path), *keyed])
    results["cli file"] = (out["tier"], out["status"], code)
    code, out = _cli(["verify", "-", *keyed], stdin=data)
    results["cli stdin"] = (out["tier"], out["status"], code)
    assert dict.fromkeys(results, expected) == results


EXPECTED = {  # (tier, status, exit code) with the key / without it
    "plain text": (("none", "not_found", 1), ("none", "not_found", 1)),
    "labeled": (("confirmed", "intact", 0), ("confirmed", "unverified", 0)),
    "edited": (("confirmed", "tampered", 2), ("confirmed", "tampered", 2)),
    "explicit phrase only": (("suspected", "not_found", 0), ("suspected", "not_found", 0)),
    "forged": (("suspected", "forged", 2), ("confirmed", "unverified", 0)),
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_the_table_rows(case: str) -> None:
    """The documented rows of the verdict table (docs/platform.md), with and without the key."""
    with_key, without = EXPECTED[case]
    for key, expected in ((KEY, with_key), (None, without)):
        fv = verify_bytes(TEXTS[case].encode(), "a.txt", key=key)
        assert expected == (fv.tier, fv.status, fv.exit_code), (case, key)


# -- round trips ------------------------------------------------------------------------------------

FORMATS = ["md", "docx", "html", "txt", "pdf"]


def _keyring() -> Keyring:
    return Keyring.loads(
        f'[[producer]]\ncode = "{PRODUCER}"\n[[producer.key]]\nid = "k1"\nslot = 0\nhmac_secret = "{KEY}"\n'
    )


def _answer(fmt: str, lang: str, conversation: int) -> bytes:
    lb = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    text = ZH if lang == "zh" else EN
    text_format = "plain" if fmt == "txt" else "markdown"
    if conversation == 0:
        return export(lb.label(text, text_format=text_format), fmt)  # type: ignore[arg-type]
    messages = []
    for i in range(conversation):
        messages += [Message("user", f"问题 {i}？"), Message("assistant", f"{text} ({i})")]
    return export(messages, fmt, labeler=lb)  # type: ignore[arg-type]


Verifier = Callable[[bytes, str], object]


@pytest.mark.parametrize("conversation", [0, 1, 3], ids=["answer", "one-turn", "three-turns"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_verify_propagate_verify(fmt: str, lang: str, conversation: int) -> None:
    """Our own exports verify with the key, the keyring and no key; propagated, they still do."""
    data = _answer(fmt, lang, conversation)
    name = f"answer.{fmt}"
    marks = fmt != "pdf"  # a PDF carries its label in the Info dict; page text has no marks
    good = ("intact",) if marks else ("not_found",)
    for kw, statuses in (
        ({"key": KEY}, good),
        ({"keyring": _keyring()}, good),
        ({}, ("unverified",) if marks else ("not_found",)),
    ):
        fv = verify_bytes(data, name, **kw)  # type: ignore[arg-type]
        assert (fv.tier, fv.conflicts, fv.exit_code) == ("confirmed", [], 0), kw
        assert fv.status in statuses, (kw, fv.status, fv.notes)
        if conversation > 1 and marks:
            assert [m.role for m in fv.messages if m.verdict.status != "not_found"] == [
                "assistant"
            ] * conversation
    written, after = propagate_bytes(data, name, propagator=PLATFORM, key=KEY)
    assert (after.tier, after.conflicts, after.exit_code) == ("confirmed", [], 0)
    if fmt != "txt":
        assert after.metadata is not None
        assert (after.metadata.content_producer, after.metadata.content_propagator) == (PRODUCER, PLATFORM)
    for kw in ({"key": KEY}, {}):
        again = verify_bytes(written, name, **kw)  # type: ignore[arg-type]
        assert (again.tier, again.conflicts, again.exit_code) == ("confirmed", [], 0), (kw, again.conflicts)
