"""
Engine tests (Ray Data, Spark): a corpus of labeled, unlabeled and hostile files of every
format, written once per session, and the plain :func:`verify_batch` records to compare with.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aigclabel import AIGCMetadata, Labeler, LabelPolicy
from aigclabel.adapters.export import export

from tests.adapters.test_files import MAKERS, PHRASE, PLAIN, meta_for
from tests.adapters.third_party import pptx, xlsx
from tests.helpers import KEY, PRODUCER

#: How the missing engines are installed (the tests fail with this, they never skip).
INSTALL = (
    "pip install -e '.[ray,spark]' (both are in the dev extra); "
    "Spark also needs a JDK 17+: bash scripts/test-jdk.sh"
)


def _broken_zip() -> bytes:
    return b"PK\x03\x04 this is not a zip archive" + bytes(range(256))


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (60 * 2**20))
    return buf.getvalue()


#: A keyring holding the test producer's HMAC secret.
KEYRING_TOML = f"""
[[producer]]
code = "{PRODUCER}"

[[producer.key]]
id = "engines-1"
hmac_secret = "{KEY}"
"""

#: Files per engine test run: a few thousand, every sample about seventy times.
N_FILES = 2400


@functools.lru_cache(maxsize=1)
def samples() -> dict[str, bytes]:
    """
    One file per (kind, format), by file name: labeled exports, unlabeled files, a visible
    phrase only, a tampered text, and hostile input (each must give a record, not a crash).
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    labeled = labeler.label(PLAIN * 3)
    out: dict[str, bytes] = {}
    for fmt in ("md", "docx", "html", "txt", "pdf"):
        out[f"labeled.{fmt}"] = export(labeled, fmt)
    for fmt, make in MAKERS.items():
        out[f"plain.{fmt}"] = make(PLAIN, None)
        out[f"phrase.{fmt}"] = make(PHRASE, None)
        out[f"meta.{fmt}"] = make(PLAIN, meta_for())
    out["plain.txt"] = PLAIN.encode()
    out["phrase.txt"] = PHRASE.encode()
    value = AIGCMetadata.first_write(producer=PRODUCER, produce_id="eng-0001").for_format("docx")
    out["meta.xlsx"] = xlsx([PLAIN, "第二行"], value)
    out["plain.xlsx"] = xlsx([PLAIN], None)
    out["meta.pptx"] = pptx([PLAIN, "第二页"], value)
    out["plain.pptx"] = pptx([PLAIN], None)
    text = labeled.text
    out["tampered.txt"] = text.replace("杭州", "苏州", 1).encode()
    out["tampered.md"] = export(labeled, "md").replace("杭州".encode(), "苏州".encode(), 1)
    # hostile and broken
    out["broken.docx"] = _broken_zip()
    out["broken.xlsx"] = _broken_zip()
    out["bomb.docx"] = _zip_bomb()
    out["invalid.txt"] = b"\xff\xfe\xfa" + PLAIN.encode()[:-2] + b"\x80\x81"
    out["invalid.md"] = b"---\ntitle: [unclosed\nAIGC: {Label: '1'\n---\n\xc3\x28 body\n"
    out["invalid.html"] = b"<html><head><meta name='AIGC' content='{\"Label\": 1'></head><body>\xff</body>"
    out["garbage.pdf"] = b"%PDF-1.7\n" + bytes(range(256)) * 4
    out["empty.txt"] = b""
    out["empty.docx"] = b""
    return out


def write_corpus(root: Path, n: int, blobs: dict[str, bytes] | None = None) -> list[tuple[Path, bytes]]:
    """*n* files under *root* (cycling through :func:`samples`, ten sub-folders), with their bytes."""
    blobs = blobs if blobs is not None else samples()
    names = sorted(blobs)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        stem, _, suffix = name.partition(".")
        sub = root / f"d{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{i:05d}-{stem}.{suffix}"
        path.write_bytes(blobs[name])
        out.append((path, blobs[name]))
    return out


def by_path(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records keyed by path (every path once)."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        assert r["path"] not in out, r["path"]
        out[r["path"]] = r
    return out
