"""
File verification reads the statistical watermark of the document's text too (Art. 6(3) traces).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.adapters import cli
from aigclabel.adapters.files import verify_batch, verify_bytes, verify_file, verify_tree

from tests.adapters.test_files import FORMATS, write
from tests.helpers import PRODUCER, REPO
from tests.watermarking import generate, tokenizer

KEY = "5be1c0d9a8f7e6d5c4b3a29180f7e6d5"


@pytest.fixture(scope="module")
def labeler() -> Labeler:
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY, watermark="gumbel"))


@pytest.fixture(scope="module")
def watermarked(labeler: Labeler) -> str:
    return generate(labeler, 220, seed=7)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_watermarked_document_without_labels_is_suspected(
    tmp_path: Path, fmt: str, labeler: Labeler, watermarked: str
) -> None:
    fv = verify_file(
        write(tmp_path, fmt, watermarked, None), watermark=labeler.watermark_detector(tokenizer())
    )

    assert (fv.tier, fv.label) == ("suspected", "3")
    assert fv.text_verdict is not None
    assert fv.text_verdict.evidence.watermark is not None
    assert fv.text_verdict.evidence.watermark.significant


def test_without_a_detector_the_same_upload_is_none(labeler: Labeler, watermarked: str) -> None:
    detector = labeler.watermark_detector(tokenizer())

    assert verify_bytes(watermarked.encode(), "answer.txt").tier == "none"
    assert verify_bytes(watermarked.encode(), "answer.txt", watermark=detector).tier == "suspected"


def test_the_command_line_scores_the_watermark_with_the_producers_key(
    tmp_path: Path, watermarked: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "key").write_text(KEY)
    path = tmp_path / "answer.txt"
    path.write_text(watermarked, encoding="utf-8")

    code = cli.main(
        ["verify", str(path), "--key-file", str(tmp_path / "key"), "--watermark", "gumbel", "--json"]
    )

    verdict = json.loads(capsys.readouterr().out)
    assert code == 0
    assert verdict["tier"] == "suspected"
    assert verdict["text_verdict"]["evidence"]["watermark"]["significant"] is True


def test_the_command_line_refuses_a_watermark_check_without_a_key(
    tmp_path: Path, watermarked: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIGCLABEL_KEY", raising=False)
    path = tmp_path / "answer.txt"
    path.write_text(watermarked, encoding="utf-8")

    code = cli.main(["verify", str(path), "--watermark", "gumbel"])

    assert code == 3
    assert "--watermark needs the producer's key" in capsys.readouterr().err


def test_batches_and_trees_score_the_watermark(tmp_path: Path, labeler: Labeler, watermarked: str) -> None:
    detector = labeler.watermark_detector(tokenizer())
    (tmp_path / "ai.md").write_text(watermarked, encoding="utf-8")
    (tmp_path / "human.md").write_text(Path(REPO / "bench" / "texts" / "en_alice.txt").read_text()[:3000])

    rows = list(
        verify_batch([("ai.md", watermarked.encode()), ("plain.md", b"Hello there.")], watermark=detector)
    )
    one = verify_tree(tmp_path, watermark=detector)
    pooled = verify_tree(tmp_path, watermark=detector, workers=2)

    assert [r["tier"] for r in rows] == ["suspected", "none"]
    assert one.by_tier == pooled.by_tier == {"confirmed": 0, "possible": 0, "suspected": 1, "none": 1}


def test_the_command_line_scores_a_directory(
    tmp_path: Path, watermarked: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "key").write_text(KEY)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "answer.md").write_text(watermarked, encoding="utf-8")

    code = cli.main(
        [
            "verify",
            str(tmp_path / "docs"),
            "--recursive",
            "--key-file",
            str(tmp_path / "key"),
            "--watermark",
            "gumbel",
        ]
    )

    assert code == 0
    assert "suspected" in capsys.readouterr().out
