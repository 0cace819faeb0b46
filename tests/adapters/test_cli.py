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

from tests.helpers import KEY, PRODUCER


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
    code, text = run(["label", str(src), "--producer", PRODUCER, "--key-file", str(key_file)])
    assert 0 == code
    out = tmp_path / "labeled.txt"
    out.write_text(text, "utf-8")
    return out


def test_label_then_verify_exits_zero(labeled_file: Path, key_file: Path) -> None:
    """
    A labeled file verifies intact: exit code 0 and a confirmed tier.
    """
    code, out = run(["verify", str(labeled_file), "--key-file", str(key_file), "--json"])

    verdict = json.loads(out)
    assert (0, "confirmed", "1", "intact") == (code, verdict["tier"], verdict["label"], verdict["status"])
    assert PRODUCER == verdict["metadata"]["ContentProducer"]
    assert {"cf", "mn", "seal", "explicit"} <= set(verdict["evidence"])


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
        (["verify", "-"], b"\xff\xfe not utf-8"),
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
