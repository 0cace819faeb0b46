"""
A content platform's upload handler (Art. 6): classify what a user uploads with the producers'
keys from a keyring, show the tier's prompt, and store the file with the platform's propagation
elements added (the producer's label kept as it came).

Offline: it makes its own uploads (a labeled docx export, a vendor's markdown with a Chinese
company name as producer, an unlabeled text the user declares as AI) and prints each decision.
"""

from __future__ import annotations

import secrets

from aigclabel import Keyring, Labeler, LabelPolicy
from aigclabel.adapters.export import export
from aigclabel.adapters.files import PROMPTS, PropagationError, propagate_bytes, verify_bytes

PRODUCER = "001191110102MAD55U9H0F10002"  # the generation service whose key the platform holds
PLATFORM = "001191110102MAD55U9H0F20001"  # this platform's code (a propagation service, 2xxxx)
# A fresh random key per run (never ship a key written in code); a platform loads its keyring
# from a TOML file: Keyring.load("producers.toml") (docs/keyring.md).
KEY = secrets.token_hex(32)
KEYRING = Keyring.loads(
    f'[[producer]]\ncode = "{PRODUCER}"\n[[producer.key]]\nid = "2026-q4"\nslot = 0\nhmac_secret = "{KEY}"\n'
)


def handle_upload(data: bytes, filename: str, *, declared: bool = False) -> dict[str, object]:
    """What the upload endpoint does: verify, decide the prompt, store the propagated file."""
    verdict = verify_bytes(data, filename, keyring=KEYRING, declared=declared)
    decision: dict[str, object] = {
        "file": filename,
        "tier": verdict.tier,
        "status": verdict.status,
        "prompt": PROMPTS.get(verdict.tier),
        "producer": verdict.metadata.content_producer if verdict.metadata else None,
        "findings": len(verdict.findings),
        "conflicts": verdict.conflicts,
    }
    try:
        stored, after = propagate_bytes(
            data, filename, propagator=PLATFORM, keyring=KEYRING, declared=declared
        )
    except PropagationError as exc:  # no label and not declared, or a label we must not overwrite
        decision["stored"] = f"as uploaded ({exc})"
        return decision
    assert after.metadata is not None
    decision["stored"] = f"{len(stored)} bytes, Label {after.metadata.label}, propagator {PLATFORM}"
    return decision


def uploads() -> list[tuple[bytes, str, bool]]:
    """Three uploads a platform meets every day."""
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    answer = labeler.label("杭州是浙江省的省会，以西湖闻名。", text_format="markdown")
    vendor = (
        "---\nAIGC:\n  Label: 1\n  ContentProducer: 某某人工智能科技有限公司\n  ProduceID: gen-0001\n---\n"
        "一段由另一家服务生成的文字。\n"
    )
    return [
        (export(answer, "docx"), "answer.docx", False),
        (vendor.encode(), "vendor.md", False),
        (b"A paragraph the user says an AI helped to write.\n", "note.txt", True),
    ]


def main() -> list[dict[str, object]]:
    decisions = [handle_upload(data, name, declared=declared) for data, name, declared in uploads()]
    for decision in decisions:
        print(decision)
    return decisions


if __name__ == "__main__":
    main()
