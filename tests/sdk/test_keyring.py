"""
The keyring: a platform's keys of many producers, read from TOML, used by verify(keyring=).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aigclabel.verification
import pytest
from aigclabel import (
    AIGCLabelError,
    Keyring,
    KeyringEntry,
    KeyringError,
    LabeledText,
    Labeler,
    LabelPolicy,
    MappingResolver,
    verify,
)
from aigclabel.producer import org_check_char, uscc_check_char
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import KEY, PRODUCER, bench_text


def _code(org: str, ext: str = "10001") -> str:
    """
    A valid TC260 provider code around the 8-character organisation body *org*.
    """
    first17 = "91330100" + org + org_check_char(org)
    return "0011" + first17 + uscc_check_char(first17) + ext


#: A second producer, and a third the keyrings never hold.
VENDOR_B = _code("MA27XK4L")
STRANGER = _code("MA2H8Q3C", "00000")
KEY_A = secrets.token_hex(16)  # slot 0, the "old" key
KEY_B = secrets.token_hex(16)  # slot 1, the "new" key
KEY_OTHER = secrets.token_hex(16)
SIGNER_KEY = Ed25519PrivateKey.generate()
SEED = SIGNER_KEY.private_bytes_raw().hex()
PUBLIC_HEX = SIGNER_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
TEXT = "人工智能模型给出的回答：今天北京晴，最高气温 25 度。Please bring water."
LONG = bench_text("en_alice")[:6000]

LABELER_A = Labeler(LabelPolicy(producer=PRODUCER, key=KEY_A, key_id=0, seal_form="full"))
LABELER_B = Labeler(LabelPolicy(producer=PRODUCER, key=KEY_B, key_id=1, seal_form="full"))
SIGNER = Labeler(LabelPolicy(producer=VENDOR_B, signing_key=SEED, key_id=2))
COMPACT = Labeler(LabelPolicy(producer=PRODUCER, key=KEY_B, key_id=1, seal_form="compact"))

PLATFORM = f"""
[[producer]]
code = "{PRODUCER}"
name = "Example AI Co."

[[producer.key]]
id = "2026-q4"
slot = 1
hmac_secret = "{KEY_B}"

[[producer.key]]
id = "2026-q3"
slot = 0
hmac_secret_env = "VENDOR_A_OLD"
retired = true

[[producer]]
code = "{VENDOR_B}"

[[producer.key]]
id = "b-1"
slot = 2
public_key = "{PUBLIC_HEX}"
"""


@pytest.fixture(name="keyring")
def _keyring() -> Keyring:
    """
    The platform's keyring: two producers, HMAC secrets (one from a variable) and a public key.
    """
    return Keyring.loads(PLATFORM, environ={"VENDOR_A_OLD": KEY_A})


@pytest.fixture(name="long_a", scope="module")
def _long_a() -> LabeledText:
    """
    A long text labeled with the old key (slot 0), for excerpts.
    """
    return LABELER_A.label(LONG)


def _one(code: str = PRODUCER, **key: Any) -> str:
    """
    A keyring document with one producer and one key with the settings *key*.
    """
    lines = ["[[producer]]", f'code = "{code}"', "[[producer.key]]"]
    lines += [f"{k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}" for k, v in key.items()]
    return "\n".join(lines) + "\n"


# -- reading TOML ---------------------------------------------------------------------------


def test_loads_reads_every_producer_and_key(keyring: Keyring) -> None:
    """
    Entries keep their order, producer, id, slot, algorithm and rotation flags; names are kept for reports.
    """
    assert [
        (PRODUCER, "2026-q4", 1, "HS256", False),
        (PRODUCER, "2026-q3", 0, "HS256", True),
        (VENDOR_B, "b-1", 2, "Ed25519", False),
    ] == [(e.producer, e.key_id, e.slot, e.algorithm, e.retired) for e in keyring]
    assert (("Example AI Co.", None), (PRODUCER, VENDOR_B), 3) == (
        (keyring.name_of(PRODUCER), keyring.name_of(VENDOR_B)),
        keyring.producers,
        len(keyring),
    )
    assert (True, False, PUBLIC_HEX) == (
        PRODUCER in keyring,
        STRANGER in keyring,
        keyring.for_producer(VENDOR_B)[0].public_key_hex,
    )


def test_load_reads_key_files_relative_to_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    ``hmac_secret_file`` and ``public_key_file`` (PEM) are read relative to the TOML file's folder,
    whatever the working directory.
    """
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "a.key").write_text(KEY_A + "\n", "utf-8")
    pem = SIGNER_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "keys" / "b.pem").write_bytes(pem)
    (tmp_path / "platform.toml").write_text(
        f'[[producer]]\ncode = "{PRODUCER}"\n[[producer.key]]\nid = "a"\nhmac_secret_file = "keys/a.key"\n'
        f'[[producer]]\ncode = "{VENDOR_B}"\n[[producer.key]]\nid = "b"\npublic_key_file = "keys/b.pem"\n',
        "utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    keyring = Keyring.load(tmp_path / "platform.toml")

    assert (KEY_A.encode(), PUBLIC_HEX, None) == (
        keyring.entries[0].material,
        keyring.entries[1].public_key_hex,
        keyring.entries[0].slot,
    )


def test_public_key_file_may_hold_hex_or_raw_bytes(tmp_path: Path) -> None:
    """
    A public key file holds a PEM document, 64 hex characters or the 32 raw bytes.
    """
    raw = bytes.fromhex(PUBLIC_HEX)
    (tmp_path / "hex.pub").write_text(PUBLIC_HEX + "\n", "utf-8")
    (tmp_path / "raw.pub").write_bytes(raw)
    document = (
        _one(id="hex", public_key_file="hex.pub")
        + '[[producer.key]]\nid = "raw"\npublic_key_file = "raw.pub"\n'
    )

    keyring = Keyring.loads(document, base_dir=tmp_path)

    assert [PUBLIC_HEX, PUBLIC_HEX] == [e.public_key_hex for e in keyring]


def test_not_after_is_a_toml_date() -> None:
    """
    ``not_after = 2026-09-30`` is read as a date; the key counts as retired after it.
    """
    keyring = Keyring.loads(_one(id="k", hmac_secret=KEY_A) + "not_after = 2026-09-30\n")
    entry = keyring.entries[0]

    assert (dt.date(2026, 9, 30), False, True) == (
        entry.not_after,
        entry.is_retired(dt.date(2026, 9, 30)),
        entry.is_retired(dt.date(2026, 10, 1)),
    )


ERRORS: dict[str, tuple[str, str]] = {
    "missing code": (
        '[[producer]]\nname = "x"\n[[producer.key]]\nid = "k"\nhmac_secret = "KEY_A"\n',
        "keyring: [[producer]] #1: code: required, the producer's 27-character TC260 code",
    ),
    "bad code": (
        _one("001191110102MAD55U9H0G10002", id="k", hmac_secret="KEY_A"),
        "keyring: [[producer]] #1: code: ",  # then validate_producer_code's reason
    ),
    "two kinds of material": (
        _one(id="k", hmac_secret="KEY_A", public_key=PUBLIC_HEX),
        f"keyring: producer '{PRODUCER}', key 'k': give exactly one of hmac_secret, hmac_secret_file, "
        "hmac_secret_env, public_key, public_key_file; found hmac_secret and public_key",
    ),
    "no material": (
        _one(id="k", slot=1),
        f"keyring: producer '{PRODUCER}', key 'k': no key material: give one of hmac_secret",
    ),
    "unknown key setting": (
        _one(id="k", hmac_secret="KEY_A", slots=1),
        f"keyring: producer '{PRODUCER}', key 'k': 'slots': unknown key setting (did you mean 'slot'?)",
    ),
    "unknown producer setting": (
        f'[[producer]]\ncode = "{PRODUCER}"\nnmae = "x"\n',
        "keyring: [[producer]] #1: 'nmae': unknown producer setting (did you mean 'name'?)",
    ),
    "unknown top-level setting": (
        f'[[producers]]\ncode = "{PRODUCER}"\n',
        "keyring: 'producers': unknown top-level setting (did you mean 'producer'?)",
    ),
    "weak secret": (
        _one(id="k", hmac_secret="passwordpassword"),
        f"keyring: producer '{PRODUCER}', key 'k': hmac_secret: this key is too weak to authenticate "
        "labels: it repeats a 8-character pattern",
    ),
    "example secret": (
        _one(id="k", hmac_secret_env="WEAK"),
        f"keyring: producer '{PRODUCER}', key 'k': hmac_secret_env: this key is too weak to authenticate "
        "labels: it is an example secret printed in this project's documentation",
    ),
    "short secret": (
        _one(id="k", hmac_secret="short"),
        f"keyring: producer '{PRODUCER}', key 'k': hmac_secret: an HMAC secret needs at least 16 bytes",
    ),
    "missing env var": (
        _one(id="k", hmac_secret_env="VENDOR_X_SECRET"),
        f"keyring: producer '{PRODUCER}', key 'k': hmac_secret_env: the environment variable "
        "'VENDOR_X_SECRET' is not set",
    ),
    "missing file": (
        _one(id="k", hmac_secret_file="no/such.key"),
        f"keyring: producer '{PRODUCER}', key 'k': hmac_secret_file: cannot read key file",
    ),
    "bad hex public key": (
        _one(id="k", public_key="zz" * 32),
        f"keyring: producer '{PRODUCER}', key 'k': public_key: expected an Ed25519 public key as 32 raw "
        "bytes, 64 hex characters or a PEM document",
    ),
    "short public key": (
        _one(id="k", public_key="ab" * 16),
        f"keyring: producer '{PRODUCER}', key 'k': public_key: expected an Ed25519 public key",
    ),
    "duplicate key ids": (
        _one(id="k", hmac_secret="KEY_A") + '[[producer.key]]\nid = "k"\npublic_key = "PUBLIC"\n',
        f"keyring: producer '{PRODUCER}': key id 'k' appears twice; give every key of a producer its own id",
    ),
    "duplicate producer": (
        _one(id="k", hmac_secret="KEY_A") + _one(id="j", hmac_secret="KEY_A"),
        f"keyring: producer '{PRODUCER}' appears twice ([[producer]] #1 and #2)",
    ),
    "missing id": (
        _one(hmac_secret="KEY_A"),
        f"keyring: producer '{PRODUCER}', [[producer.key]] #1: id: required",
    ),
    "slot out of range": (
        _one(id="k", hmac_secret="KEY_A", slot=4),
        f"keyring: producer '{PRODUCER}', key 'k': slot is a key slot 0-3",
    ),
    "not_after not a date": (
        _one(id="k", hmac_secret="KEY_A", not_after="2026-09-30"),
        f"keyring: producer '{PRODUCER}', key 'k': not_after is a date (not_after = 2026-12-31), "
        "got '2026-09-30'",
    ),
    "producer without keys": (
        f'[[producer]]\ncode = "{PRODUCER}"\n',
        f"keyring: producer '{PRODUCER}' has no keys",
    ),
    "empty document": ("", "keyring lists no keys"),
    "not TOML": ("[[producer]\n", "keyring is not valid TOML"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_each_invalid_keyring_is_refused_naming_the_entry(case: str) -> None:
    """
    Every refusal is a KeyringError (an AIGCLabelError and a ValueError) that names the entry and
    the setting, and never shows a secret.
    """
    document, message = ERRORS[case]
    document = document.replace("KEY_A", KEY_A).replace("PUBLIC", PUBLIC_HEX)

    with pytest.raises(KeyringError) as info:
        Keyring.loads(document, environ={"WEAK": "Example secret - use your own"})

    assert (True, True, True) == (
        str(info.value).startswith(message),
        isinstance(info.value, AIGCLabelError) and isinstance(info.value, ValueError),
        all(s not in str(info.value) for s in (KEY_A, "passwordpassword", "Example secret")),
    )


def test_an_error_in_a_file_names_the_file(tmp_path: Path) -> None:
    """
    Loaded from a file, the message starts with the file's path; the error keeps path, producer and key id.
    """
    path = tmp_path / "platform.toml"
    path.write_text(_one(id="k", hmac_secret="passwordpassword"), "utf-8")

    with pytest.raises(KeyringError) as info:
        Keyring.load(path)

    assert (True, str(path), PRODUCER, "k") == (
        str(info.value).startswith(f"keyring {str(path)!r}: producer '{PRODUCER}', key 'k': hmac_secret:"),
        info.value.path,
        info.value.producer,
        info.value.key_id,
    )


def test_a_missing_keyring_file_is_a_keyring_error(tmp_path: Path) -> None:
    """
    A file that cannot be read is a KeyringError naming it.
    """
    missing = tmp_path / "missing.toml"

    with pytest.raises(KeyringError, match=f"keyring {str(missing)!r} cannot be read"):
        Keyring.load(missing)


def test_reprs_show_no_secret(keyring: Keyring) -> None:
    """
    Neither the keyring nor an entry shows key material.
    """
    shown = repr(keyring) + "".join(repr(e) for e in keyring)

    assert (False, False, "Keyring(producers=2, hmac=2, ed25519=1)") == (
        KEY_A in shown or KEY_B in shown,
        "material" in shown,
        repr(keyring),
    )


def test_entries_built_in_code_are_checked_like_toml() -> None:
    """
    ``KeyringEntry`` refuses a weak secret and a bad code too; ``from_entries`` refuses duplicate ids.
    """
    with pytest.raises(KeyringError, match="too weak"):
        KeyringEntry(PRODUCER, "k", 0, "HS256", "passwordpassword")
    with pytest.raises(KeyringError, match="key 'k': producer: "):
        KeyringEntry("not a code", "k", 0, "HS256", KEY_A)
    entry = KeyringEntry(PRODUCER, "k", 0, "HS256", KEY_A)
    with pytest.raises(KeyringError, match="key id 'k' appears twice"):
        Keyring.from_entries([entry, KeyringEntry(PRODUCER, "k", 1, "HS256", KEY_B)])


def test_to_toml_writes_secrets_only_when_asked(keyring: Keyring) -> None:
    """
    A keyring with HMAC secrets is written only with ``include_secrets=True``; it reads back equal.
    """
    with pytest.raises(KeyringError, match="include_secrets=True"):
        keyring.to_toml()

    assert keyring == Keyring.loads(keyring.to_toml(include_secrets=True))


def test_to_toml_of_public_keys_needs_no_flag() -> None:
    """
    Public keys are not secret: a keyring of public keys alone is written as is.
    """
    keyring = Keyring.loads(_one(id="k", public_key=PUBLIC_HEX, slot=2))

    assert keyring == Keyring.loads(keyring.to_toml())


_key_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: bool(s.strip())
)


@st.composite
def _entries(draw: st.DrawFn) -> list[KeyringEntry]:
    out = []
    for producer in draw(
        st.lists(st.sampled_from([PRODUCER, VENDOR_B]), min_size=1, max_size=2, unique=True)
    ):
        ids = draw(st.lists(_key_ids, min_size=1, max_size=3, unique=True))
        for key_id in ids:
            slot = draw(st.none() | st.integers(0, 3))
            not_after = draw(st.none() | st.dates())
            retired = draw(st.booleans())
            if draw(st.booleans()):
                material: str = secrets.token_hex(draw(st.integers(8, 32)))
                out.append(KeyringEntry(producer, key_id, slot, "HS256", material, not_after, retired))
            else:
                raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                out.append(KeyringEntry(producer, key_id, slot, "Ed25519", raw, not_after, retired))
    return out


@given(entries=_entries(), name=st.none() | st.text(max_size=20))
def test_to_toml_round_trips(entries: list[KeyringEntry], name: str | None) -> None:
    """
    Any keyring written with to_toml(include_secrets=True) reads back equal (ids and names with
    quotes, backslashes and control characters included).
    """
    keyring = Keyring.from_entries(entries, names={PRODUCER: name} if name is not None else None)

    assert keyring == Keyring.loads(keyring.to_toml(include_secrets=True))


# -- verify(keyring=) -----------------------------------------------------------------------


def test_hmac_text_is_intact_naming_the_key(keyring: Keyring) -> None:
    """
    A text signed with the current key verifies intact; the verdict names key id and producer.
    """
    verdict = verify(LABELER_B.label(TEXT).text, keyring=keyring)

    assert ("intact", "confirmed", "2026-q4", PRODUCER, 1, None) == (
        verdict.status,
        verdict.tier,
        verdict.evidence.key and verdict.evidence.key.key_id,
        verdict.evidence.key and verdict.evidence.key.producer,
        verdict.evidence.key and verdict.evidence.key.slot,
        verdict.evidence.key and verdict.evidence.key.index,
    )


def test_key_id_is_in_to_dict(keyring: Keyring) -> None:
    """
    ``to_dict()`` carries the key id and the producer.
    """
    key = verify(LABELER_B.label(TEXT).text, keyring=keyring).to_dict()["evidence"]["key"]

    assert {"algorithm": "HS256", "index": None, "slot": 1, "key_id": "2026-q4", "producer": PRODUCER} == key


def test_ed25519_text_is_intact_with_the_public_key(keyring: Keyring) -> None:
    """
    A signed text of the second producer verifies with its public key in the keyring.
    """
    labeled = SIGNER.label(TEXT)
    verdict = verify(labeled.text, keyring=keyring)

    assert ("intact", "Ed25519", "b-1", VENDOR_B, labeled.metadata) == (
        verdict.status,
        verdict.evidence.key and verdict.evidence.key.algorithm,
        verdict.evidence.key and verdict.evidence.key.key_id,
        verdict.evidence.key and verdict.evidence.key.producer,
        verdict.metadata,
    )


def test_rotation_old_and_new_keys_both_verify(keyring: Keyring) -> None:
    """
    Slot 0 (old key A, retired) and slot 1 (new key B): a keyring with both verifies both texts,
    naming the key; only the retired one adds a note.
    """
    old = verify(LABELER_A.label(TEXT).text, keyring=keyring)
    new = verify(LABELER_B.label(TEXT).text, keyring=keyring)

    assert (("intact", "2026-q3", True), ("intact", "2026-q4", False)) == tuple(
        (
            v.status,
            v.evidence.key and v.evidence.key.key_id,
            f"matched retired key 2026-q3 of producer {PRODUCER}" in v.evidence.notes,
        )
        for v in (old, new)
    )


def test_a_key_past_not_after_is_reported_retired() -> None:
    """
    A key whose not_after has passed still verifies; the note says it is retired, and that the
    mark was made after that date.
    """
    keyring = Keyring.loads(_one(id="2020", hmac_secret=KEY_A, slot=0) + "not_after = 2020-01-01\n")

    verdict = verify(LABELER_A.label(TEXT).text, keyring=keyring)

    assert "intact" == verdict.status
    assert f"matched retired key 2020 of producer {PRODUCER}" in verdict.evidence.notes
    assert any("after its not_after date 2020-01-01" in n for n in verdict.evidence.notes)


def test_unknown_producer_is_unverified_not_forged(keyring: Keyring) -> None:
    """
    A seal naming a producer the keyring has no key for is unverified, with a note naming it.
    """
    stranger = Labeler(LabelPolicy(producer=STRANGER, key=KEY_OTHER, seal_form="full"))

    verdict = verify(stranger.label(TEXT).text, keyring=keyring)

    assert ("unverified", "confirmed", None) == (verdict.status, verdict.tier, verdict.evidence.key)
    assert f"no key in the keyring for producer {STRANGER}" in verdict.evidence.notes


@pytest.mark.parametrize(
    "labeler",
    [
        Labeler(LabelPolicy(producer=PRODUCER, key=KEY_OTHER, key_id=1, seal_form="full")),
        Labeler(
            LabelPolicy(
                producer=VENDOR_B,
                signing_key=Ed25519PrivateKey.generate().private_bytes_raw().hex(),
                key_id=2,
            )
        ),
    ],
    ids=["HS256", "Ed25519"],
)
def test_wrong_key_for_a_known_producer_is_forged(keyring: Keyring, labeler: Labeler) -> None:
    """
    A seal naming a producer of the keyring that none of its keys made is forged, as with key=.
    """
    verdict = verify(labeler.label(TEXT).text, keyring=keyring)

    assert ("forged", "suspected") == (verdict.status, verdict.tier)


def test_only_the_named_producers_keys_are_tried() -> None:
    """
    A seal is checked with the keys of the producer it names: the right secret filed under
    another producer does not make it authentic.
    """
    keyring = Keyring.loads(
        _one(id="wrong", hmac_secret=KEY_OTHER) + _one(VENDOR_B, id="a", hmac_secret=KEY_A)
    )

    assert "forged" == verify(LABELER_A.label(TEXT).text, keyring=keyring).status


def test_edited_text_is_tampered_naming_the_key(keyring: Keyring) -> None:
    """
    An edit after labeling is tampered; the packet MAC still names the key.
    """
    text = LABELER_B.label(TEXT).text.replace("北京", "上海")

    verdict = verify(text, keyring=keyring)

    assert ("tampered", "2026-q4") == (verdict.status, verdict.evidence.key and verdict.evidence.key.key_id)


def test_packets_only_excerpt_tries_every_key(keyring: Keyring, long_a: LabeledText) -> None:
    """
    An excerpt names no producer: every key of the keyring is tried, the old one matches.
    """
    verdict = verify(long_a.text[1500:4500], keyring=keyring, resolver=MappingResolver([long_a]))

    assert ("valid", long_a.mark_id, "2026-q3", PRODUCER, long_a.metadata) == (
        verdict.status,
        verdict.mark_id,
        verdict.evidence.key and verdict.evidence.key.key_id,
        verdict.evidence.key and verdict.evidence.key.producer,
        verdict.metadata,
    )


def test_excerpt_no_key_made_is_unverified(long_a: LabeledText) -> None:
    """
    Packets that no keyring key made may come from a producer the keyring lacks: unverified, noted.
    """
    keyring = Keyring.loads(_one(id="b", hmac_secret=KEY_B))

    verdict = verify(long_a.text[1500:4500], keyring=keyring)

    assert ("unverified", "confirmed", None) == (verdict.status, verdict.tier, verdict.evidence.key)
    assert any(n.startswith("no key of the keyring made these marks") for n in verdict.evidence.notes)


def test_ed25519_excerpt_is_unverified(keyring: Keyring) -> None:
    """
    A public key cannot check an Ed25519-only producer's packets: an excerpt is unverified.
    """
    labeled = SIGNER.label(LONG)

    assert "unverified" == verify(labeled.text[1500:4500], keyring=keyring).status


def test_compact_seal_verifies_against_the_whole_keyring(keyring: Keyring) -> None:
    """
    A compact seal names no producer: the keyring's keys are tried and the matching one is named.
    """
    verdict = verify(COMPACT.label(TEXT).text, keyring=keyring)

    assert ("intact", "compact", "2026-q4", PRODUCER) == (
        verdict.status,
        verdict.evidence.seal and verdict.evidence.seal.form,
        verdict.evidence.key and verdict.evidence.key.key_id,
        verdict.evidence.key and verdict.evidence.key.producer,
    )


def test_compact_seal_of_an_unknown_key_is_unverified(keyring: Keyring) -> None:
    """
    A compact seal that no keyring key made is unverified (its producer is unknown), never forged.
    """
    other = Labeler(LabelPolicy(producer=PRODUCER, key=KEY_OTHER, key_id=1, seal_form="compact"))

    assert "unverified" == verify(other.label(TEXT).text, keyring=keyring).status


def test_given_keys_are_tried_too(keyring: Keyring) -> None:
    """
    ``key=`` next to a keyring still verifies, reported by index without a key id.
    """
    stranger = Labeler(LabelPolicy(producer=STRANGER, key=KEY_OTHER, seal_form="full"))

    verdict = verify(stranger.label(TEXT).text, key=KEY_OTHER, keyring=keyring)

    assert ("intact", 0, None) == (
        verdict.status,
        verdict.evidence.key and verdict.evidence.key.index,
        verdict.evidence.key and verdict.evidence.key.key_id,
    )


def test_key_slot_none_is_tried_for_every_slot() -> None:
    """
    A keyring key without a slot verifies marks of any slot.
    """
    keyring = Keyring.loads(_one(id="any", hmac_secret=KEY_B))

    assert ("intact", 1) == (
        (v := verify(LABELER_B.label(TEXT).text, keyring=keyring)).status,
        v.evidence.key and v.evidence.key.slot,
    )


def test_verify_refuses_a_path_as_keyring() -> None:
    """
    ``keyring=`` takes a Keyring; a path is a TypeError that says so.
    """
    with pytest.raises(TypeError, match=r"keyring must be an aigclabel\.Keyring"):
        verify(TEXT, keyring="platform.toml")  # type: ignore[arg-type]


def test_verify_with_a_keyring_decodes_the_text_once(
    keyring: Keyring, long_a: LabeledText, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Keys are chosen after decoding: a keyring adds no decoding pass.
    """
    calls = []
    parse: Callable[[bytes], object] = aigclabel.verification.parse
    monkeypatch.setattr(aigclabel.verification, "parse", lambda data: calls.append(1) or parse(data))

    verify(long_a.text, key=KEY_A)
    plain = len(calls)
    calls.clear()
    verify(long_a.text, keyring=keyring)

    assert (plain, True) == (len(calls), plain > 0)


def test_without_a_keyring_nothing_changes() -> None:
    """
    ``key=`` alone still reports the key by index, with no key id or producer.
    """
    verdict = verify(Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).label(TEXT).text, key=KEY)

    assert ("intact", 0, None, None) == (
        verdict.status,
        verdict.evidence.key and verdict.evidence.key.index,
        verdict.evidence.key and verdict.evidence.key.key_id,
        verdict.evidence.key and verdict.evidence.key.producer,
    )
