"""
Secrets in the policy: never shown, one normalisation, weak keys refused (issue 8, item 6).
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aigclabel import KeyMaterialError, Labeler, LabelPolicy, PolicyError, verify
from aigclabel.exceptions import PolicyKeyError
from aigclabel.keymaterial import (
    EXAMPLE_SECRETS,
    GENERATE_HINT,
    normalise_key_text,
    normalise_secret,
    producer_secret,
    redact_url,
    weak_secret_reason,
)
from aigclabel.policy import OTHER_ENV_VARIABLES, check_environment

from tests.helpers import CHAIN_KEY, KEY, PRODUCER

#: Put into every secret below; no exception, repr or log may ever show it.
MARKER = "Zq7MARKERx9"
#: A valid, strong HMAC secret that carries the marker.
STRONG = f"{MARKER}-4f1c9be07d2a63e5"
#: A valid Ed25519 seed (RFC 8032 test 2): it must not be shown either.
SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
WEAK_SEED = "ab" * 32
PEM_BAD = f"-----BEGIN PRIVATE KEY-----\n{MARKER}{MARKER}\n-----END PRIVATE KEY-----\n"
URL = "postgresql+psycopg://auditor:pw-Zq7MARKERx9@db.internal:5432/aigc"


def _everything_shown(exc: BaseException) -> str:
    """
    The formatted traceback (with __cause__ and __context__) plus str/repr/args of every
    exception in the chain, whether the traceback would print it or not.
    """
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(e.args)]
        stack += [e.__cause__, e.__context__]
    return "\n".join(parts)


# Every way a policy with secrets can fail: (description, call). Each call raises.
FAILURES: list[tuple[str, Callable[[], Any]]] = [
    ("key too short", lambda: LabelPolicy(producer=PRODUCER, key=MARKER)),
    ("key repeats a pattern", lambda: LabelPolicy(producer=PRODUCER, key=MARKER * 3)),
    ("key with few characters", lambda: LabelPolicy(producer=PRODUCER, key="Zq" * 12 + MARKER[:0])),
    ("key with leading space", lambda: LabelPolicy(producer=PRODUCER, key=" " + STRONG)),
    ("key with trailing tab", lambda: LabelPolicy(producer=PRODUCER, key=STRONG + "\t")),
    ("key with inner newline", lambda: LabelPolicy(producer=PRODUCER, key=STRONG + "\n" + STRONG)),
    ("key of wrong type (list)", lambda: LabelPolicy(producer=PRODUCER, key=[STRONG])),
    ("key of wrong type (dict)", lambda: LabelPolicy(producer=PRODUCER, key={"value": STRONG})),
    ("signing_key bad hex", lambda: LabelPolicy(producer=PRODUCER, signing_key=MARKER * 6)),
    ("signing_key hex of wrong length", lambda: LabelPolicy(producer=PRODUCER, signing_key=SEED[:40])),
    ("signing_key bad PEM", lambda: LabelPolicy(producer=PRODUCER, signing_key=PEM_BAD)),
    ("signing_key weak seed", lambda: LabelPolicy(producer=PRODUCER, signing_key=WEAK_SEED)),
    ("signing_key wrong type", lambda: LabelPolicy(producer=PRODUCER, signing_key=[SEED])),
    ("audit_chain_key too short", lambda: LabelPolicy(producer=PRODUCER, key=KEY, audit_chain_key=MARKER)),
    ("audit_chain_key weak", lambda: LabelPolicy(producer=PRODUCER, key=KEY, audit_chain_key=MARKER * 2)),
    ("audit_chain_key type", lambda: LabelPolicy(producer=PRODUCER, key=KEY, audit_chain_key=123)),
]
_ALL = {"key": STRONG, "signing_key": SEED, "audit_chain_key": STRONG[::-1], "audit_store": URL}
FAILURES += [
    (f"{name} while every secret is valid", lambda kw=kw: LabelPolicy(**{"producer": PRODUCER, **_ALL, **kw}))
    for name, kw in [
        ("bad placement", {"placement": "top"}),
        ("bad producer", {"producer": PRODUCER[:21] + "G" + PRODUCER[22:]}),
        ("bad label_text", {"label_text": "本内容非人工智能生成"}),
        ("short retention", {"audit_retention_days": 10}),
        ("eu without marks", {"preset": "eu", "marks": False}),
        ("unknown setting", {"colour": "red"}),
        ("misspelt secret setting", {"kye": STRONG}),
        ("excerpt_tokens of wrong type", {"excerpt_tokens": "many"}),
        ("key_id out of range", {"key_id": 9}),
    ]
]
FAILURES.append(("missing producer", lambda: LabelPolicy(**_ALL)))


@pytest.mark.parametrize(("case", "call"), FAILURES, ids=[name for name, _ in FAILURES])
def test_no_secret_in_any_exception_chain_or_log(
    case: str, call: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    """
    Whatever fails, neither the error, its chain (__cause__, __context__), the formatted
    traceback nor any log line shows a secret or the audit store's password.
    """
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PolicyError) as info:
        call()

    shown = _everything_shown(info.value) + caplog.text
    for secret in (MARKER, SEED, WEAK_SEED, STRONG[::-1], "pw-Zq7"):
        assert secret not in shown, case


def test_key_errors_are_policy_and_key_material_errors() -> None:
    """
    An unusable key in a policy is a PolicyError naming the field (a configuration error)
    and still a KeyMaterialError, as before.
    """
    with pytest.raises(PolicyKeyError) as info:
        LabelPolicy(producer=PRODUCER, key="short")

    assert ("key", True, True) == (
        info.value.field,
        isinstance(info.value, PolicyError),
        isinstance(info.value, KeyMaterialError),
    )


def test_no_secret_from_a_toml_file_that_is_not_utf8(tmp_path: Path) -> None:
    """
    A policy file that is not UTF-8 is a PolicyError that shows neither the bytes nor a
    UnicodeDecodeError (whose .object would hold the whole file, key included).
    """
    path = tmp_path / "p.toml"
    path.write_bytes(f'producer = "{PRODUCER}"\nkey = "{STRONG}"\n'.encode() + b"label_text = '\xff'\n")

    with pytest.raises(PolicyError, match="not UTF-8") as info:
        LabelPolicy.from_toml(path)

    assert MARKER not in _everything_shown(info.value)


def test_no_secret_from_invalid_toml(tmp_path: Path) -> None:
    """
    A TOML syntax error is reported by position, without the document.
    """
    path = tmp_path / "p.toml"
    path.write_text(f'key = "{STRONG}"\nproducer = [\n', "utf-8")

    with pytest.raises(PolicyError, match="not valid TOML") as info:
        LabelPolicy.from_toml(path)

    assert MARKER not in _everything_shown(info.value)


def test_no_secret_from_the_environment() -> None:
    """
    A bad key in AIGCLABEL_KEY is reported naming the field, never the value.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy.from_env({"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": MARKER * 2})

    assert "key" == info.value.field
    assert MARKER not in _everything_shown(info.value)


def test_no_secret_in_labeler_logs(caplog: pytest.LogCaptureFixture) -> None:
    """
    Building a labeler and labeling with every secret set logs nothing that shows one.
    """
    caplog.set_level(logging.DEBUG)
    policy = LabelPolicy(
        producer=PRODUCER, key=STRONG, signing_key=SEED, opt_out_agreements=["v1"], audit_chain_key=CHAIN_KEY
    )

    with Labeler(policy).context(user="u1", opt_out="v1"):  # refused: no store; a warning is logged
        Labeler(policy).label("你好。")

    shown = caplog.text + repr(policy) + str(policy) + policy.model_dump_json() + repr(Labeler(policy))
    assert (MARKER not in shown, SEED not in shown) == (True, True)


# -- the audit store's password ---------------------------------------------------------------


def test_audit_store_password_redacted_in_repr_and_str() -> None:
    """
    repr() and str() show the audit store URL with its password as ***.
    """
    policy = LabelPolicy(producer=PRODUCER, key=KEY, audit_store=URL)

    assert ("pw-Zq7" not in repr(policy) + str(policy), True) == (
        True,
        "postgresql+psycopg://auditor:***@db.internal:5432/aigc" in repr(policy),
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:pw@host/db", "postgresql+psycopg://u:***@host/db"),
        (
            "postgresql://u:p@ss@host:5432/db?sslmode=require",
            "postgresql://u:***@host:5432/db?sslmode=require",
        ),
        ("postgresql://host/db?user=u&password=pw&x=1", "postgresql://host/db?user=u&password=***&x=1"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("sqlite:///aigc-audit.db", "sqlite:///aigc-audit.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    """
    Passwords in the user info and password-like query values become ***; nothing else changes.
    """
    assert shown == redact_url(url)


# -- one normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize("written", [KEY + "\n", KEY + "\r\n", KEY + "\n\n", "\ufeff" + KEY + "\n", KEY])
def test_policy_key_normalised(written: str) -> None:
    """
    A trailing line break (and a leading BOM) is dropped, so the key equals the one in a key file.
    """
    policy = LabelPolicy(producer=PRODUCER, key=written)

    assert KEY == (policy.key.get_secret_value() if policy.key else None)


def test_toml_key_with_newline_verifies_against_the_plain_key(tmp_path: Path) -> None:
    """
    A key written as a TOML multi-line string (ending in a newline) labels texts that verify
    intact under the same key without the newline.
    """
    path = tmp_path / "p.toml"
    path.write_text(f'producer = "{PRODUCER}"\nkey = """{KEY}\n"""\n', "utf-8")

    labeled = Labeler(LabelPolicy.from_toml(path)).label("杭州是浙江省的省会。")

    assert "intact" == verify(labeled.text, key=KEY).status


def test_env_key_with_crlf_equals_the_plain_key() -> None:
    """
    AIGCLABEL_KEY ending in CR LF gives the same key as the TOML file and the key file.
    """
    policy = LabelPolicy.from_env({"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY + "\r\n"})

    assert KEY == (policy.key.get_secret_value() if policy.key else None)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (" " + KEY, "starts with whitespace"),
        (KEY + " ", "ends with whitespace"),
        (KEY + " \n", "ends with whitespace"),
        ("\t" + KEY, "starts with whitespace"),
        (KEY + "\u00a0", "ends with whitespace"),
        (KEY[:5] + "\n" + KEY[5:], "line break"),
        (KEY[:5] + "\x00" + KEY[5:], "control character"),
        ("\n", "empty"),
        ("", "empty"),
    ],
)
def test_ambiguous_key_text_refused(written: str, says: str) -> None:
    """
    Whitespace around a key (other than trailing line breaks), control characters inside it
    and an empty key are refused rather than trimmed, saying which.
    """
    with pytest.raises(KeyMaterialError, match=says):
        normalise_key_text(written)


def test_bytes_keys_follow_the_text_rule_unless_raw() -> None:
    """
    UTF-8 bytes are key text (trailing newline dropped); other bytes are raw key material.
    """
    raw = bytes(range(200, 232)) + b"\n"

    assert (KEY.encode(), raw) == (normalise_secret(KEY.encode() + b"\n"), normalise_secret(raw))


def test_verifier_normalisation_does_not_judge_strength() -> None:
    """
    normalise_secret (the verifier's rule) accepts a weak key: old texts must stay checkable.
    """
    assert b"aaaaaaaaaaaaaaaa" == normalise_secret("aaaaaaaaaaaaaaaa\n")


# -- weak keys ----------------------------------------------------------------------------------

WEAK = [
    ("aaaaaaaaaaaaaaaa", "distinct"),
    ("abababababababababab", "distinct"),
    ("aaaabbbbccccdddd", "distinct"),
    ("passwordpassword", "pattern"),
    ("abcdefghabcdefgh", "pattern"),
    ("Secret12Secret12Secret12", "pattern"),
    ("0123456789abcdef", "run"),
    ("abcdefghijklmnop", "run"),
    ("zyxwvutsrqponmlk", "run"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1x9z!", "run"),
    *[(s, "example secret") for s in sorted(EXAMPLE_SECRETS)],
    ("Demo Secret - Not For Production", "example secret"),
]


@pytest.mark.parametrize(("key", "reason"), WEAK)
def test_weak_key_refused_with_the_way_to_make_one(key: str, reason: str) -> None:
    """
    A key that is plainly not random is refused, saying why and how to generate a good one,
    without showing the key.
    """
    with pytest.raises(PolicyKeyError, match=reason) as info:
        LabelPolicy(producer=PRODUCER, key=key)

    assert GENERATE_HINT in str(info.value)
    assert key not in str(info.value)


@pytest.mark.parametrize(
    "key",
    [
        KEY,
        "bench-secret-key-0123456789",
        "bench secret, not for production",
        "a bench provider secret",
        "an audit chain key, 32 bytes ok!",
        "0c2ba1f57e4d9386",
        "中文密钥也可以用来做签名的秘密",
        "correct horse battery staple",
    ],
)
def test_keys_in_use_pass_the_floor(key: str) -> None:
    """
    The keys of the tests, examples and benchmarks (and random or passphrase keys) pass.
    """
    assert None is weak_secret_reason(producer_secret(key))


def test_random_hex_keys_pass_the_floor() -> None:
    """
    Random keys made the documented way always pass (1,000 draws).
    """
    refused = [k for k in (secrets.token_hex(32) for _ in range(1000)) if weak_secret_reason(k.encode())]

    assert [] == refused


def test_weak_audit_chain_key_refused() -> None:
    """
    The audit chain key is an HMAC secret too: the same floor applies.
    """
    with pytest.raises(PolicyKeyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, audit_chain_key="x" * 32)

    assert "audit_chain_key" == info.value.field


def test_weak_signing_seed_refused() -> None:
    """
    An Ed25519 seed of repeated bytes (all zeros, abab…) is refused like a weak secret.
    """
    with pytest.raises(PolicyKeyError, match="too weak") as info:
        LabelPolicy(producer=PRODUCER, signing_key="00" * 32)

    assert "signing_key" == info.value.field


def test_signing_key_surrounding_whitespace_dropped() -> None:
    """
    A seed or PEM document read from a file with its newline loads (only the outside is trimmed).
    """
    policy = LabelPolicy(producer=PRODUCER, signing_key=f"\n{SEED}\n")

    assert SEED == (policy.signing_key.get_secret_value() if policy.signing_key else None)


# -- environment ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("AIGCLABEL_KYE", "AIGCLABEL_KEY"),
        ("AIGCLABEL_PLACMENT", "AIGCLABEL_PLACEMENT"),
        ("AIGCLABEL_AUDIT_STOR", "AIGCLABEL_AUDIT_STORE"),
        ("aigclabel_key", "AIGCLABEL_KEY"),
    ],
)
def test_unknown_environment_variable_reported(name: str, suggestion: str) -> None:
    """
    A misspelt AIGCLABEL_* variable is an error naming it, with a "did you mean", like an
    unknown key of a TOML file; it is not silently ignored.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy.from_env({"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY, name: "x"})

    assert name == info.value.field
    assert f"did you mean {suggestion!r}" in str(info.value)


def test_unknown_environment_variable_reported_by_load(tmp_path: Path) -> None:
    """
    load() checks the environment too, even when the file holds every setting.
    """
    path = tmp_path / "p.toml"
    path.write_text(f'producer = "{PRODUCER}"\nkey = "{KEY}"\n', "utf-8")

    with pytest.raises(PolicyError, match="AIGCLABEL_EXCERPT_TOKEN"):
        LabelPolicy.load(path, environ={"AIGCLABEL_EXCERPT_TOKEN": "800"})


def test_other_aigclabel_variables_are_known() -> None:
    """
    Variables read elsewhere (the PDF font, the test and bench databases) are not errors.
    """
    environ = dict.fromkeys(OTHER_ENV_VARIABLES, "x")

    check_environment(environ)
    assert (
        PRODUCER
        == LabelPolicy.from_env({**environ, "AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY}).producer
    )


def test_unknown_toml_key_suggests_the_setting(tmp_path: Path) -> None:
    """
    An unknown TOML key gets the same "did you mean" as an unknown variable.
    """
    path = tmp_path / "p.toml"
    path.write_text(f'producer = "{PRODUCER}"\nkey = "{KEY}"\nplacment = "start"\n', "utf-8")

    with pytest.raises(PolicyError, match="did you mean 'placement'"):
        LabelPolicy.from_toml(path)
