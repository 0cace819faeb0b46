"""
Write the golden vectors of mark format 2 (``format2.json``) or of format 3, the micro seal
(``format3.json``). Run once per format change, never to make a failing vector pass: a vector that
stops matching means texts in the wild stop verifying.

    python tests/vectors/generate.py > tests/vectors/format2.json
    python tests/vectors/generate.py 3 > tests/vectors/format3.json

``v1_texts.json`` was written by release 0.1.0 itself and is never regenerated.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from unittest import mock

from aigclabel import Labeler, LabelPolicy, canonical_text
from aigclabel.canonical import text_digest
from aigclabel.ids import ProduceIdParts, produce_id_from_parts
from aigclabel.labeler import reserved_code1
from aigclabel.marks import alphabet
from aigclabel.marks.crc import crc8
from aigclabel.marks.keys import SigningKeys, load_private_key
from aigclabel.marks.packet import (
    KIND_SEAL_COMPACT,
    KIND_SEAL_ED25519,
    KIND_SEAL_HMAC,
    build_packet,
    build_seal,
    micro_message,
    seal_message,
)

KEY = "3f8a1c0e9b7d2a64c5e1f09b8d7a3c2e"
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032, test 1
PRODUCER = "001191110102MAD55U9H0F10002"
PARTS = ProduceIdParts(unix_ms=1_764_720_000_000, rand_a=0x5A5, mark_id=0x0BADC0DE)
SLOT = 1

SEAL_TEXT = "大模型生成的回答：剂量为 2.5 mg，每日两次。\n\n【本内容由人工智能生成】"
CANONICAL_INPUTS = [
    "2.5 mg, 2,5 mg, 25 mg",
    "≥ 18 岁，≤ 18 岁，≠ 5，< 0.05",
    "-5 °C, −5 °C, –5 °C, +86",
    "1/2, ½, 1 / 2, 10:30, 2025-09-01",
    "10², 10^2, H₂O, x⁻¹",
    "50 %, 0.3‰, 1‱",
    "is <not> safe &amp; sound",
    '[Note]: Ignore the advice above\n[ref]: https://example.com "title"\n',
    "See [the guide](https://example.com/a_(b)) and ![logo](x.png) [x][ref].",
    "1. first\n2. second\n3) third",
    "```python\ncode()\n```",
    "> 5 stars\n> quoted",
    "ＡＢＣ１２３，ｆｕｌｌ　ｗｉｄｔｈ",
    "résumé naïve Ångström",
]
LABELED: list[tuple[dict[str, Any], str]] = [
    ({"key": KEY}, SEAL_TEXT.split("\n\n")[0]),
    (
        {"key": KEY, "text_format": "markdown"},
        "Take **1/2** tablet ≥ 18 years, see [guide](https://example.com).",
    ),
    ({"key": KEY, "seal_channels": "cf", "placement": "start"}, "A short English answer at 10:30."),
    ({"key": KEY, "seal_channels": "both", "label": "2", "key_id": 3}, "用户声明的人工智能生成内容。"),
    ({"signing_key": SEED}, "签名模式：温度 -5 °C，浓度 10²。"),
    ({"key": KEY, "text_format": "html"}, "<p>The dose is <b>2.5 mg</b> &amp; no more.</p>"),
]


def _seal(kind: int, profile: str) -> dict[str, Any]:
    signed = kind == KIND_SEAL_ED25519
    keys = SigningKeys(
        secret=None if signed else KEY.encode(), private=load_private_key(SEED) if signed else None, slot=SLOT
    )
    packet = build_packet("1", PARTS.mark_id, keys)
    digest = text_digest(SEAL_TEXT, profile=profile)  # type: ignore[arg-type]
    message = seal_message("1", kind, PARTS, PRODUCER, digest, packet, profile)  # type: ignore[arg-type]
    seal = build_seal(message, digest, keys)
    alg = "Ed25519" if signed else "HS256"
    return {
        "kind": kind,
        "profile": profile,
        "packet": packet.hex(),
        "digest": digest.hex(),
        "message": message.hex(),
        "seal": seal.hex(),
        "seal_mn": alphabet.encode_mn(seal),
        "seal_cf": alphabet.encode_cf(seal),
        "reserved_code1": reserved_code1(alg, SLOT, digest, keys.full_auth(message, digest)),
    }


def _labeled(policy: dict[str, Any], text: str, *, seal_form: str = "auto") -> dict[str, Any]:
    # Format 2 was written when the full seal was the default for every length.
    with mock.patch("aigclabel.labeler.new_produce_id", return_value=(produce_id_from_parts(PARTS), PARTS)):
        result = Labeler(LabelPolicy(producer=PRODUCER, **{"seal_form": seal_form, **policy})).label(text)
    return {"policy": policy, "input": text, "text": result.text, "metadata": result.metadata.to_dict("bare")}


#: Format 3: short texts under the default policy (``seal_form="auto"``) get a micro seal.
LABELED_V3: list[tuple[dict[str, Any], str]] = [
    ({"key": KEY}, "好的。"),
    ({"key": KEY, "language": "en"}, "OK."),
    ({"key": KEY, "text_format": "markdown", "key_id": 2}, "Take **1/2** tablet ≥ 18 years."),
    ({"key": KEY, "seal_channels": "cf", "label": "2", "placement": "start"}, "剂量为 2.5 mg。"),
]


def _micro(profile: str) -> dict[str, Any]:
    keys = SigningKeys(secret=KEY.encode(), private=None, slot=SLOT)
    digest = text_digest(SEAL_TEXT, profile=profile)  # type: ignore[arg-type]
    message = micro_message("1", SLOT, PARTS.mark_id, profile)  # type: ignore[arg-type]
    seal = build_seal(message, digest, keys)
    return {
        "profile": profile,
        "digest": digest.hex(),
        "message": message.hex(),
        "seal": seal.hex(),
        "seal_mn": alphabet.encode_mn(seal),
        "seal_cf": alphabet.encode_cf(seal),
        "reserved_code1": reserved_code1("HS256", SLOT, digest, keys.full_auth(message, digest), version=3),
    }


def format3() -> dict[str, Any]:
    return {
        "format": 3,
        "key": KEY,
        "producer": PRODUCER,
        "slot": SLOT,
        "unix_ms": PARTS.unix_ms,
        "rand_a": PARTS.rand_a,
        "mark_id": f"{PARTS.mark_id:08x}",
        "produce_id": produce_id_from_parts(PARTS),
        "seal_text": SEAL_TEXT,
        "seals": [_micro("plain"), _micro("markup")],
        "labeled": [_labeled(policy, text) for policy, text in LABELED_V3],
    }


def main() -> None:
    if sys.argv[1:] == ["3"]:
        json.dump(format3(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    keys = SigningKeys(secret=KEY.encode(), private=None, slot=SLOT)
    packet = build_packet("1", PARTS.mark_id, keys)
    vectors = {
        "format": 2,
        "key": KEY,
        "signing_seed": SEED,
        "public_key": Labeler(LabelPolicy(producer=PRODUCER, signing_key=SEED)).public_key.hex(),  # type: ignore[union-attr]
        "producer": PRODUCER,
        "slot": SLOT,
        "unix_ms": PARTS.unix_ms,
        "rand_a": PARTS.rand_a,
        "mark_id": f"{PARTS.mark_id:08x}",
        "produce_id": produce_id_from_parts(PARTS),
        "crc8_check": {"input": "123456789", "crc": f"{crc8(b'123456789'):02x}"},
        "packet": {"hex": packet.hex(), "cf": alphabet.encode_cf(packet), "mn": alphabet.encode_mn(packet)},
        "seal_text": SEAL_TEXT,
        "seals": [
            _seal(KIND_SEAL_HMAC, "plain"),
            _seal(KIND_SEAL_HMAC, "markup"),
            _seal(KIND_SEAL_ED25519, "plain"),
            _seal(KIND_SEAL_COMPACT, "plain"),
        ],
        "canonical": [
            {
                "input": text,
                "plain": canonical_text(text),
                "markup": canonical_text(text, profile="markup"),
                "v1": canonical_text(text, version=1),
            }
            for text in CANONICAL_INPUTS
        ],
        "labeled": [_labeled(policy, text, seal_form="full") for policy, text in LABELED],
    }
    json.dump(vectors, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
