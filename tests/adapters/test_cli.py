"""
The aigclabel command: label, verify, demo, and the documented exit codes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aigclabel.adapters import cli

from tests.helpers import KEY, PLATFORM, PRODUCER


class _Stdin(io.StringIO):
    """
    A text stdin with a binary buffer, like sys.stdin.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.buffer = io.BytesIO(data)


def run(argv: list[str], stdin: bytes = b"") -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(argv, stdin=_Stdin(stdin), stdout=out)
    return code, out.getvalue()


@pytest.fixture(name="key_file")
def _key_file(tmp_path: Path) -> Path:
    """
    A key file holding the default secret.
    """
    path = tmp_path / "key"
    path.write_text(KEY + "\n", "utf-8")
    return path


@pytest.fixture(name="labeled_file")
def _labeled_file(tmp_path: Path, key_file: Path) -> Path:
    """
    A file labeled through the command line.
    """
    src = tmp_path / "answer.txt"
    src.write_text("杭州是浙江省的省会，以西湖闻名。", "utf-8")
    code, text = run(
        ["label", str(src), "--producer", PRODUCER, "--key-file", str(key_file), "--seal-form", "full"]
    )
    assert 0 == code
    out = tmp_path / "labeled.txt"
    out.write_text(text, "utf-8")
    return out


def test_a_short_text_labeled_by_default_verifies_intact_without_identity(
    tmp_path: Path, key_file: Path
) -> None:
    """
    Without ``--seal-form`` a short text gets a micro seal: intact, exit 0, no metadata in the text.
    """
    src = tmp_path / "answer.txt"
    src.write_text("好的。", "utf-8")
    _, text = run(["label", str(src), "--producer", PRODUCER, "--key-file", str(key_file)])
    (tmp_path / "labeled.txt").write_text(text, "utf-8")

    code, out = run(["verify", str(tmp_path / "labeled.txt"), "--key-file", str(key_file), "--json"])

    verdict = json.loads(out)
    assert (0, "intact", None) == (code, verdict["status"], verdict["metadata"])
    assert "micro" == verdict["text_verdict"]["evidence"]["seal"]["form"]


def test_label_then_verify_exits_zero(labeled_file: Path, key_file: Path) -> None:
    """
    A labeled file verifies intact: exit code 0 and a confirmed tier.
    """
    code, out = run(["verify", str(labeled_file), "--key-file", str(key_file), "--json"])

    verdict = json.loads(out)
    assert (0, "confirmed", "1", "intact") == (code, verdict["tier"], verdict["label"], verdict["status"])
    assert PRODUCER == verdict["metadata"]["ContentProducer"]
    assert {"cf", "mn", "seal", "explicit"} <= set(verdict["text_verdict"]["evidence"])


def test_verify_reads_key_from_environment(labeled_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without --key-file, AIGCLABEL_KEY is the key.
    """
    monkeypatch.setenv("AIGCLABEL_KEY", KEY)

    code, out = run(["verify", str(labeled_file), "--json"])

    assert (0, "intact") == (code, json.loads(out)["status"])


def test_verify_without_key_reports_unverified(labeled_file: Path) -> None:
    """
    With no key the label is still read (exit 0) but not authenticated.
    """
    code, out = run(["verify", str(labeled_file), "--json"])

    assert (0, "unverified") == (code, json.loads(out)["status"])


def test_verify_plain_text_exits_one() -> None:
    """
    Text without any label exits 1.
    """
    code, out = run(["verify", "-"], stdin=b"an ordinary human sentence")

    assert 1 == code
    assert "tier: none" in out


def test_invalid_bytes_on_stdin_are_read_past(labeled_file: Path) -> None:
    """
    Labeled text plus an invalid byte on standard input is still labeled (exit 0, a finding),
    never "no label" or "bad input": a broken byte must not hide a label.
    """
    code, out = run(["verify", "-", "--json"], stdin=labeled_file.read_bytes() + b"\xff")

    verdict = json.loads(out)
    assert (0, "confirmed") == (code, verdict["tier"])
    assert any("not valid UTF-8" in f for f in verdict["findings"])


def test_verify_edited_text_exits_two(labeled_file: Path, key_file: Path) -> None:
    """
    An edited word makes the seal report tampered: exit 2.
    """
    text = labeled_file.read_text("utf-8").replace("西湖", "东湖")

    code, out = run(["verify", "-", "--key-file", str(key_file), "--json"], stdin=text.encode())

    assert (2, "tampered") == (code, json.loads(out)["status"])


def test_verify_wrong_key_exits_two(labeled_file: Path, tmp_path: Path) -> None:
    """
    A wrong key gives forged, exit 2.
    """
    wrong = tmp_path / "wrong"
    wrong.write_text("somebody else's secret", "utf-8")

    code, out = run(["verify", str(labeled_file), "--key-file", str(wrong), "--json"])

    assert (2, "forged") == (code, json.loads(out)["status"])


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["verify", "does-not-exist.txt"], b""),
        (["label", "-", "--producer", PRODUCER, "--key-file", "does-not-exist"], b"x"),
        (["label", "-", "--producer", "001191110102MAD55U9H1F10002", "--key-file", __file__], b"x"),
    ],
)
def test_bad_input_exits_three(argv: list[str], stdin: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    """
    Unreadable files, invalid UTF-8, unreadable key files and mistyped codes exit 3 with a message.
    """
    code, _ = run(argv, stdin)

    assert 3 == code
    assert "aigclabel: error:" in capsys.readouterr().err


def test_usage_error_exits_three(capsys: pytest.CaptureFixture[str]) -> None:
    """
    An unknown flag is bad input too (3), not argparse's default 2, which means "tampered".
    """
    with pytest.raises(SystemExit) as exc_info:
        run(["verify", "-", "--bogus-flag"])

    assert 3 == exc_info.value.code
    assert "unrecognized arguments" in capsys.readouterr().err


def test_invalid_producer_names_the_field(key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    A mistyped provider code fails its check character; the message names the field.
    """
    code, _ = run(
        ["label", "-", "--producer", "001191110102MAD55U9H1F10002", "--key-file", str(key_file)], b"x"
    )

    err = capsys.readouterr().err
    assert 3 == code
    assert "producer" in err
    assert "check character" in err


def test_label_json_carries_metadata_and_ui(key_file: Path) -> None:
    """
    label --json prints the text, the wrapped Annex E metadata, the interface tag and the ids.
    """
    code, out = run(
        ["label", "-", "--producer", PRODUCER, "--key-file", str(key_file), "--json", "--placement", "start"],
        b"Hello world.",
    )

    doc = json.loads(out)
    assert 0 == code
    assert {"text", "metadata", "ui", "produce_id", "mark_id"} == set(doc)
    assert doc["produce_id"] == doc["metadata"]["AIGC"]["ProduceID"]
    assert doc["text"].startswith("[AI-generated content")
    assert doc["ui"]["persistent"] is True


def test_label_reads_policy_file(tmp_path: Path, key_file: Path) -> None:
    """
    --policy loads a TOML file; its placement applies.
    """
    policy = tmp_path / "aigclabel.toml"
    policy.write_text(f'[aigclabel]\nproducer = "{PRODUCER}"\nplacement = "start"\n', "utf-8")

    code, out = run(["label", "-", "--policy", str(policy), "--key-file", str(key_file)], "你好。".encode())

    assert 0 == code
    assert out.startswith("【本内容由人工智能生成】")


def test_demo_runs_offline_and_shows_all_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The demo labels its text, verifies it intact, shows tampered and forged outcomes, and
    streams through a wrapped OpenAI client from the embedded stand-in model.
    """
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    code, out = run(["demo"])

    assert 0 == code
    for expected in (
        "status: intact",
        "status: tampered",
        "status: forged",
        '"AIGC"',
        "stand-in model (offline)",
        "aigclabel demo --ui",
    ):
        assert expected in out
    assert "status: intact" in out.split("a wrapped OpenAI client")[1]


def test_console_script_is_installed() -> None:
    """
    The installed command runs (python -m and the entry point share main()).
    """
    proc = subprocess.run(
        [sys.executable, "-m", "aigclabel.adapters.cli", "verify", "-"],
        input=b"plain",
        capture_output=True,
        check=False,
    )

    assert 1 == proc.returncode


# -- configuration errors: PolicyError, exit 3, from every command (issue 8) ------------------

_BAD_KEY_FILES: dict[str, bytes | None] = {
    "missing": None,
    "not UTF-8": b"\xff\xfe\x00k\x00e\x00y",
    "empty": b"\n",
    "whitespace around the key": f"  {KEY}\n".encode(),
}


_KEYED_COMMANDS = [
    "label",
    "verify text",
    "verify file",
    "verify directory",
    "export",
    "propagate",
    "audit",
]


def _commands(tmp_path: Path, key: str) -> dict[str, list[str]]:
    """
    One command line per command that reads a key, each with --key-file *key*.
    """
    md = tmp_path / "answer.md"
    md.write_text("# 杭州\n\n杭州是浙江省的省会。\n", "utf-8")
    folder = tmp_path / "folder"
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text("plain", "utf-8")
    out = str(tmp_path / "out.md")
    return {
        "label": ["label", "-", "--producer", PRODUCER, "--key-file", key],
        "verify text": ["verify", "-", "--key-file", key],
        "verify file": ["verify", str(md), "--key-file", key],
        "verify directory": ["verify", str(folder), "--recursive", "--key-file", key],
        "export": ["export", str(md), "--to", "md", "-o", out, "--producer", PRODUCER, "--key-file", key],
        "propagate": ["propagate", str(md), "--propagator", PLATFORM, "-o", out, "--key-file", key],
        "audit": ["audit", "verify", "--store", f"sqlite:///{tmp_path}/a.db", "--chain-key-file", key],
    }


@pytest.mark.parametrize("command", _KEYED_COMMANDS)
@pytest.mark.parametrize("problem", list(_BAD_KEY_FILES))
def test_bad_key_file_exits_three_from_every_command(
    command: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    A key file that is missing, not UTF-8, empty or has whitespace around the key is a
    configuration error: exit 3 with a message naming the key, never 1 ("no label") or a traceback.
    """
    path = tmp_path / "bad.key"
    content = _BAD_KEY_FILES[problem]
    if content is not None:
        path.write_bytes(content)

    code, _ = run(_commands(tmp_path, str(path))[command], "杭州。".encode())

    err = capsys.readouterr().err
    assert (3, True, False) == (code, "error:" in err and "key" in err, "Traceback" in err)


@pytest.mark.parametrize("command", [*_KEYED_COMMANDS, "demo"])
def test_unknown_aigclabel_variable_exits_three_from_every_command(
    command: str,
    tmp_path: Path,
    key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """
    A misspelt AIGCLABEL_* variable stops every command with exit 3 and a "did you mean".
    """
    monkeypatch.setenv("AIGCLABEL_KYE", KEY)
    argv = ["demo"] if command == "demo" else _commands(tmp_path, str(key_file))[command]

    code, _ = run(argv, "杭州。".encode())

    assert (3, True) == (code, "did you mean 'AIGCLABEL_KEY'" in capsys.readouterr().err)


@pytest.mark.parametrize("command", ["label", "export"])
@pytest.mark.parametrize(
    "policy",
    [b'producer = "\xff\xfe"\n', b"producer = [\n", b'placment = "start"\n', b'key = "aaaaaaaaaaaaaaaa"\n'],
    ids=["not UTF-8", "not TOML", "unknown setting", "weak key"],
)
def test_bad_policy_file_exits_three(
    command: str, policy: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    A policy file that is not UTF-8, not TOML, or holds a bad setting exits 3 from label and export.
    """
    path = tmp_path / "p.toml"
    path.write_bytes(f'producer = "{PRODUCER}"\n'.encode() * (b"producer" not in policy) + policy)
    md = tmp_path / "in.md"
    md.write_text("杭州。", "utf-8")
    argv = {
        "label": ["label", str(md), "--policy", str(path)],
        "export": ["export", str(md), "--to", "md", "-o", str(tmp_path / "o.md"), "--policy", str(path)],
    }[command]

    code, _ = run(argv)

    err = capsys.readouterr().err
    assert (3, True, False) == (code, "error:" in err, "Traceback" in err)


def test_weak_key_file_refused_by_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    label refuses a weak key with the way to generate one (verify still accepts it: see below).
    """
    path = tmp_path / "weak.key"
    path.write_text("aaaaaaaaaaaaaaaa\n", "utf-8")

    code, _ = run(["label", "-", "--producer", PRODUCER, "--key-file", str(path)], b"x")

    assert (3, True) == (code, "secrets.token_hex(32)" in capsys.readouterr().err)


def test_verify_accepts_a_weak_key(labeled_file: Path, tmp_path: Path) -> None:
    """
    A verifier checks with any key it is given: a weak key is a wrong key (forged), not an error.
    """
    path = tmp_path / "weak.key"
    path.write_text("aaaaaaaaaaaaaaaa\n", "utf-8")

    code, out = run(["verify", str(labeled_file), "--key-file", str(path), "--json"])

    assert (2, "forged") == (code, json.loads(out)["status"])


def test_toml_key_with_newline_verifies_with_the_key_file(tmp_path: Path, key_file: Path) -> None:
    """
    A key written in TOML with a trailing newline, the same key in a key file and in
    AIGCLABEL_KEY (with CR LF) are one key: the labeled text verifies intact each way.
    """
    policy = tmp_path / "p.toml"
    policy.write_text(f'producer = "{PRODUCER}"\nkey = """{KEY}\n"""\n', "utf-8")
    code, text = run(["label", "-", "--policy", str(policy)], "杭州是浙江省的省会。".encode())
    assert 0 == code

    by_file = run(["verify", "-", "--key-file", str(key_file), "--json"], text.encode())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGCLABEL_KEY", KEY + "\r\n")
        by_env = run(["verify", "-", "--json"], text.encode())

    assert [(0, "intact")] * 2 == [(c, json.loads(o)["status"]) for c, o in (by_file, by_env)]
