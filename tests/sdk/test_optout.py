"""
The Art. 9 opt-out flow: honoured only with an accepted agreement and a record store, the
record committed before any unlabeled text is released, fail closed otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from aigclabel import LabelContext, Labeler, LabelPolicy, OptOut, OptOutError, verify
from aigclabel.adapters.audit import AuditStore, purge_mirror
from aigclabel.audit.recorder import content_sha256
from aigclabel.audit.sink import RecordSinkError

from tests.helpers import CHAIN_KEY, KEY, PRODUCER

TEXT = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合旅行。" * 20
OPT_OUT = OptOut(
    user="u-1", agreement_version="2025-09", reason="publishes with its own label", ip="203.0.113.9"
)


@pytest.fixture(name="store_url")
def _store_url(tmp_path: Path) -> str:
    """
    A fresh SQLite record store.
    """
    return f"sqlite:///{tmp_path / 'aigc-audit.db'}"


def make(store_url: str | None, sink: Any = None, **extra: Any) -> Labeler:
    return Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=store_url,
            opt_out_agreements=["2025-09"],
            **{"audit_chain_key": CHAIN_KEY, **extra},
        ),
        sink=sink,
    )


def records(store_url: str) -> list[Any]:
    store = AuditStore.open(store_url)
    try:
        return list(store.query())
    finally:
        store.close()


def test_accepted_opt_out_has_no_visible_label_but_keeps_the_marks(store_url: str) -> None:
    """
    The headline flow: no visible label, implicit marks intact, result says it opted out.
    """
    labeler = make(store_url)

    with labeler.context(user="u-1", opt_out=OPT_OUT):
        out = labeler.label(TEXT)

    verdict = verify(out.text, key=KEY)
    assert (True, False, "intact", ()) == (
        out.opted_out,
        out.explicit,
        verdict.status,
        verdict.evidence.explicit,
    )
    assert out.ui.explicit_label_in_text is False


def test_the_record_names_recipient_content_and_agreement(store_url: str) -> None:
    """
    One durable record: who received which content under which agreement, and what was waived.
    """
    labeler = make(store_url)

    out = labeler.label(
        TEXT, context=LabelContext(user="u-1", request_id="r-7", opt_out=OPT_OUT, model="m-1")
    )

    (record,) = records(store_url)
    assert ("generated", "u-1", "2025-09", out.produce_id, PRODUCER, "1") == (
        record.kind,
        record.user,
        record.agreement_version,
        record.produce_id,
        record.content_producer,
        record.label,
    )
    assert (("explicit",), content_sha256(out.text)) == (record.labels_waived, record.content_sha256)
    assert ("r-7", "m-1", "203.0.113.9", None) == (record.request_id, record.model, record.ip, record.text)


def test_stream_records_before_its_first_chunk_and_completes_after(store_url: str) -> None:
    """
    A stream's record is committed when the stream starts (no text released yet); the
    completion record binds the content hash.
    """
    labeler = make(store_url)

    with labeler.context(user="u-1", opt_out=OPT_OUT):
        stream = labeler.stream()
    before = records(store_url)
    out = "".join(stream.feed(TEXT[i : i + 7]) for i in range(0, len(TEXT), 7)) + stream.finish()
    labeler.complete(stream)

    assert [("generated", None)] == [(r.kind, r.content_sha256) for r in before]
    assert ["generated", "completed"] == [r.kind for r in records(store_url)]
    assert content_sha256(out) == records(store_url)[-1].content_sha256
    assert "intact" == verify(out, key=KEY).status


@pytest.mark.parametrize(
    ("opt_out", "extra", "why"),
    [
        (OptOut(user="u-1", agreement_version="2024-01"), {}, "not accepted"),
        (OptOut(user="", agreement_version="2025-09"), {}, "user is required"),
        (OPT_OUT, {"opt_out_allowed": False}, "does not allow"),
    ],
)
def test_refused_opt_out_labels_as_usual_and_records_nothing(
    store_url: str, opt_out: OptOut, extra: dict[str, Any], why: str
) -> None:
    """
    An unknown agreement, a missing user or a policy that forbids opting out: labeled, with the reason.
    """
    out = make(store_url, **extra).label(TEXT, context=LabelContext(opt_out=opt_out))

    assert (True, False) == (out.explicit, out.opted_out)
    assert out.notice is not None
    assert why in out.notice
    assert [] == records(store_url)


def test_refused_opt_out_raises_when_configured(store_url: str) -> None:
    """
    opt_out_on_error = "raise" turns a refusal into OptOutError.
    """
    labeler = make(store_url, opt_out_on_error="raise")

    with pytest.raises(OptOutError, match="not accepted"):
        labeler.label(TEXT, context=LabelContext(opt_out=OptOut(user="u", agreement_version="old")))


class _BrokenSink:
    """
    A record sink whose disk is full.
    """

    def append(self, record: Any, *, timeout: float | None = None) -> Any:
        raise RecordSinkError("disk full")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("streamed", [False, True])
def test_unrecordable_opt_out_fails_closed(store_url: str, streamed: bool) -> None:
    """
    When the record cannot be written (full disk, read-only store), the text is labeled as usual.
    """
    labeler = make(store_url, sink=_BrokenSink())

    if streamed:
        stream = labeler.stream(context=LabelContext(opt_out=OPT_OUT))
        text = stream.feed(TEXT) + stream.finish()
        result = stream.result
    else:
        result = labeler.label(TEXT, context=LabelContext(opt_out=OPT_OUT))
        text = result.text
    assert result is not None
    assert (True, False) == (result.explicit, result.opted_out)
    assert "disk full" in (result.notice or "")
    assert verify(text, key=KEY).evidence.explicit


def test_unrecordable_opt_out_raises_when_configured(store_url: str) -> None:
    """
    With opt_out_on_error = "raise", an unrecordable opt-out raises and releases nothing.
    """
    labeler = make(store_url, sink=_BrokenSink(), opt_out_on_error="raise")

    with pytest.raises(OptOutError, match=r"disk full\); nothing was released"):
        labeler.stream(context=LabelContext(opt_out=OPT_OUT))


def test_a_read_only_store_fails_closed(tmp_path: Path) -> None:
    """
    A store that cannot be written (opened read-only) means labeled output, not unlabeled.
    """
    path = tmp_path / "ro.db"
    AuditStore.open(f"sqlite:///{path}").close()

    out = make(f"sqlite:///file:{path}?mode=ro&uri=true").label(TEXT, context=LabelContext(opt_out=OPT_OUT))

    assert (True, False) == (out.explicit, out.opted_out)
    assert "could not be written" in (out.notice or "")


def test_record_all_makes_excerpts_resolvable(store_url: str) -> None:
    """
    With audit_record_all, every labeled release is recorded and the store resolves a mark id.
    """
    labeler = make(store_url, audit_record_all=True)
    out = labeler.label(TEXT * 4)
    excerpt = out.text[: len(out.text) * 3 // 4]  # holds packets, not the seal
    store = AuditStore.open(store_url)
    try:
        verdict = verify(excerpt, key=KEY, resolver=store)
    finally:
        store.close()

    assert (out.produce_id, "valid") == (verdict.produce_id, verdict.status)


def test_json_lines_mirror_and_retention(store_url: str, tmp_path: Path) -> None:
    """
    Each record is mirrored as one JSON line in the day's file; purge keeps files inside retention.
    """
    logs = tmp_path / "audit-log"
    labeler = make(store_url, audit_log_dir=str(logs))
    out = labeler.label(TEXT, context=LabelContext(opt_out=OPT_OUT))
    labeler.close()

    (day_file,) = logs.glob("aigc-audit-*.jsonl")
    line = json.loads(day_file.read_text("utf-8").splitlines()[0])
    assert (out.produce_id, "generated") == (line["produce_id"], line["kind"])
    assert [] == purge_mirror(logs, retention_days=184)
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    assert [day_file] == purge_mirror(logs, retention_days=184, now=far)


def test_otel_log_event_per_record(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Each record is also an OpenTelemetry log event named aigc.audit.record.
    """
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    monkeypatch.setattr(_logs, "get_logger", provider.get_logger)

    out = make(store_url).label(TEXT, context=LabelContext(opt_out=OPT_OUT))

    (event,) = [e for e in exporter.get_finished_logs() if e.log_record.event_name == "aigc.audit.record"]
    assert out.produce_id == event.log_record.attributes["aigc.audit.produce_id"]


@pytest.mark.parametrize("days", [0, 30, 183])
def test_the_mirror_refuses_to_purge_records_younger_than_six_months(days: int, tmp_path: Path) -> None:
    """Art. 9: a retention shorter than 184 days is refused before any file is touched."""
    (tmp_path / "keep.jsonl").write_text("{}\n", "utf-8")
    with pytest.raises(ValueError, match="at least 184"):
        purge_mirror(tmp_path, retention_days=days)
    assert (tmp_path / "keep.jsonl").exists()
