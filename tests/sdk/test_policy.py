"""
Tests for LabelPolicy: validation, loading from TOML and the environment, secrecy of keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aigclabel import (
    DEFAULT_LABEL_TEXT,
    KeyMaterialError,
    Labeler,
    LabelPolicy,
    PolicyError,
    ProducerCodeError,
)

from tests.helpers import KEY, PRODUCER

OTHER_PRODUCER = "001191440300708461136T1XGW3"
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


@pytest.fixture(name="toml_file")
def _toml_file(tmp_path: Path) -> Path:
    """
    A policy file with top-level keys.
    """
    path = tmp_path / "aigclabel.toml"
    path.write_text(
        f'producer = "{PRODUCER}"\nkey = "{KEY}"\nplacement = "start"\nexcerpt_tokens = 800\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("label_text", ["本内容由机器生成", "XX生成", "Generated content"])
def test_label_text_without_ai_element_raises(label_text: str) -> None:
    """
    Under preset cn a label without 「人工智能」/「AI」 raises PolicyError on label_text,
    saying what a valid label looks like.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, label_text=label_text)

    assert "label_text" == info.value.field
    assert "「人工智能」" in str(info.value)
    assert "AI生成" in str(info.value)


@pytest.mark.parametrize("label_text", ["AI内容", "人工智能助手", "XXAI"])
def test_label_text_without_generation_element_raises(label_text: str) -> None:
    """
    Under preset cn a label without 「生成」/「合成」 raises PolicyError on label_text, saying what is valid.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, label_text=label_text)

    assert "label_text" == info.value.field
    assert "「生成」" in str(info.value)


def test_non_compliant_ui_text_raises() -> None:
    """
    The interface prompt obeys the same §5.1 wording rule.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, ui_text="Assistant")

    assert "ui_text" == info.value.field


@pytest.mark.parametrize(
    "label_text", ["AI生成", "由AI生成", "本内容由人工智能合成", "AI-generated (AI生成)"]
)
def test_compliant_label_text_is_accepted(label_text: str) -> None:
    """
    Any wording with both elements is accepted.
    """
    assert label_text == LabelPolicy(producer=PRODUCER, key=KEY, label_text=label_text).label_text


def test_eu_preset_does_not_apply_chinese_wording_rule() -> None:
    """
    The §5.1 wording rule is a cn rule; preset eu accepts any non-blank wording.
    """
    assert (
        "AI-generated"
        == LabelPolicy(producer=PRODUCER, key=KEY, preset="eu", label_text="AI-generated").label_text
    )


def test_blank_label_text_raises() -> None:
    """
    A blank label wording is rejected rather than silently ignored.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, label_text="   ")

    assert "label_text" == info.value.field


def test_short_key_raises_key_material_error() -> None:
    """
    An HMAC secret shorter than 16 bytes raises KeyMaterialError.
    """
    with pytest.raises(KeyMaterialError, match="16 bytes"):
        LabelPolicy(producer=PRODUCER, key="short")


def test_short_key_error_does_not_echo_the_key() -> None:
    """
    The error for a bad key does not contain the key.
    """
    with pytest.raises(KeyMaterialError) as info:
        LabelPolicy(producer=PRODUCER, key="s3cr3t-v4lue")

    assert "s3cr3t-v4lue" not in str(info.value)


def test_bad_signing_key_raises_key_material_error() -> None:
    """
    A signing key that is no Ed25519 seed or PEM raises KeyMaterialError.
    """
    with pytest.raises(KeyMaterialError, match="Ed25519"):
        LabelPolicy(producer=PRODUCER, signing_key="abcd")


def test_no_key_raises_policy_error_on_key() -> None:
    """
    A policy without any key is rejected with field "key".
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER)

    assert "key" == info.value.field


def test_signing_key_alone_is_enough() -> None:
    """
    An Ed25519 signing key without an HMAC secret is a complete policy.
    """
    assert LabelPolicy(producer=PRODUCER, signing_key=SEED).key is None


def test_missing_producer_raises() -> None:
    """
    The producer code is required; the message shows an example.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(key=KEY)

    assert "producer" == info.value.field
    assert PRODUCER in str(info.value)


def test_bad_producer_raises_producer_code_error() -> None:
    """
    An invalid producer code raises ProducerCodeError naming field "producer".
    """
    with pytest.raises(ProducerCodeError) as info:
        LabelPolicy(producer=PRODUCER[:21] + "G" + PRODUCER[22:], key=KEY)

    assert "producer" == info.value.field


@pytest.mark.parametrize(
    ("field", "value"),
    [("placement", "top"), ("excerpt_tokens", 10), ("key_id", 4), ("label", "4"), ("text_format", "rtf")],
)
def test_invalid_setting_names_its_field(field: str, value: object) -> None:
    """
    An out-of-range setting raises PolicyError whose field is that setting.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, **{field: value})

    assert field == info.value.field
    assert str(info.value).startswith(f"{field}: ")


def test_eu_preset_requires_marks() -> None:
    """
    The eu preset refuses marks = false (AI Act Art. 50(2) wants machine-readable marks).
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, preset="eu", marks=False)

    assert "marks" == info.value.field


def test_unknown_setting_rejected() -> None:
    """
    An unknown keyword raises PolicyError naming it and listing the valid settings.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy(producer=PRODUCER, key=KEY, colour="red")

    assert "colour" == info.value.field
    assert "placement" in str(info.value)


def test_policy_is_immutable(policy: LabelPolicy) -> None:
    """
    A policy is frozen after validation.
    """
    with pytest.raises(ValueError, match="frozen"):
        policy.placement = "start"  # type: ignore[misc]


def test_from_toml_top_level(toml_file: Path) -> None:
    """
    A TOML file with top-level keys loads, with types converted.
    """
    policy = LabelPolicy.from_toml(toml_file)

    assert (PRODUCER, KEY, "start", 800) == (
        policy.producer,
        policy.key.get_secret_value() if policy.key else None,
        policy.placement,
        policy.excerpt_tokens,
    )


def test_from_toml_aigclabel_table(tmp_path: Path) -> None:
    """
    Settings may live under an [aigclabel] table (for a shared pyproject-style file).
    """
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[aigclabel]\nproducer = "{PRODUCER}"\nkey = "{KEY}"\nplacement = "middle"\n', encoding="utf-8"
    )

    assert "middle" == LabelPolicy.from_toml(path).placement


def test_from_toml_overrides_win(toml_file: Path) -> None:
    """
    Keyword overrides take precedence over the file.
    """
    assert "none" == LabelPolicy.from_toml(toml_file, placement="none").placement


def test_from_toml_unknown_setting_rejected(tmp_path: Path) -> None:
    """
    An unknown key in the file is rejected, naming it.
    """
    path = tmp_path / "p.toml"
    path.write_text(f'producer = "{PRODUCER}"\nkey = "{KEY}"\nplacment = "start"\n', encoding="utf-8")

    with pytest.raises(PolicyError) as info:
        LabelPolicy.from_toml(path)

    assert "placment" == info.value.field


def test_from_toml_missing_file_raises(tmp_path: Path) -> None:
    """
    A missing file raises PolicyError, not OSError.
    """
    with pytest.raises(PolicyError, match="cannot be read"):
        LabelPolicy.from_toml(tmp_path / "absent.toml")


def test_from_toml_invalid_toml_raises(tmp_path: Path) -> None:
    """
    A file that is not TOML raises PolicyError.
    """
    path = tmp_path / "bad.toml"
    path.write_text("producer = [", encoding="utf-8")

    with pytest.raises(PolicyError, match="not valid TOML"):
        LabelPolicy.from_toml(path)


def test_from_env_mapping() -> None:
    """
    AIGCLABEL_PRODUCER, AIGCLABEL_KEY and AIGCLABEL_PLACEMENT build a policy.
    """
    policy = LabelPolicy.from_env(
        {"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY, "AIGCLABEL_PLACEMENT": "start+end"}
    )

    assert (PRODUCER, "start+end") == (policy.producer, policy.placement)


def test_from_env_converts_types() -> None:
    """
    Environment strings are converted to the field types.
    """
    policy = LabelPolicy.from_env(
        {
            "AIGCLABEL_PRODUCER": PRODUCER,
            "AIGCLABEL_KEY": KEY,
            "AIGCLABEL_EXCERPT_TOKENS": "1000",
            "AIGCLABEL_MARKS": "false",
        }
    )

    assert (1000, False) == (policy.excerpt_tokens, policy.marks)


def test_from_env_ignores_unrelated_variables() -> None:
    """
    Variables outside the AIGCLABEL_ prefix are ignored.
    """
    policy = LabelPolicy.from_env(
        {"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY, "PLACEMENT": "start"}
    )

    assert "end" == policy.placement


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without a mapping, from_env() reads the process environment.
    """
    monkeypatch.setenv("AIGCLABEL_PRODUCER", PRODUCER)
    monkeypatch.setenv("AIGCLABEL_KEY", KEY)

    assert PRODUCER == LabelPolicy.from_env().producer


def test_from_env_invalid_value_names_field() -> None:
    """
    An invalid environment value raises PolicyError naming the field.
    """
    with pytest.raises(PolicyError) as info:
        LabelPolicy.from_env(
            {"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY, "AIGCLABEL_PLACEMENT": "top"}
        )

    assert "placement" == info.value.field


def test_load_env_beats_file(toml_file: Path) -> None:
    """
    load(): the environment overrides the file.
    """
    policy = LabelPolicy.load(toml_file, environ={"AIGCLABEL_PLACEMENT": "none"})

    assert ("none", 800) == (policy.placement, policy.excerpt_tokens)


def test_load_kwargs_beat_env_and_file(toml_file: Path) -> None:
    """
    load(): keyword arguments override the environment and the file.
    """
    policy = LabelPolicy.load(
        toml_file,
        environ={"AIGCLABEL_PLACEMENT": "none", "AIGCLABEL_PRODUCER": OTHER_PRODUCER},
        placement="middle",
    )

    assert ("middle", OTHER_PRODUCER) == (policy.placement, policy.producer)


def test_load_none_kwargs_do_not_override(toml_file: Path) -> None:
    """
    load(): a keyword argument of None leaves the lower layers in force.
    """
    assert "start" == LabelPolicy.load(toml_file, environ={}, placement=None).placement


def test_load_reads_os_environ(monkeypatch: pytest.MonkeyPatch, toml_file: Path) -> None:
    """
    load() without a mapping reads the process environment.
    """
    monkeypatch.setenv("AIGCLABEL_PLACEMENT", "end")

    assert "end" == LabelPolicy.load(toml_file).placement


def test_key_never_in_repr() -> None:
    """
    Neither secret appears in repr(), str(), a JSON dump, or the Labeler's repr.
    """
    policy = LabelPolicy(producer=PRODUCER, key=KEY, signing_key=SEED)

    for shown in (repr(policy), str(policy), policy.model_dump_json(), repr(Labeler(policy))):
        assert KEY not in shown
        assert SEED not in shown


def test_label_text_for_language(policy: LabelPolicy) -> None:
    """
    Without label_text the wording follows the language; with it, it is used for every language.
    """
    custom = LabelPolicy(producer=PRODUCER, key=KEY, label_text="AI生成")

    assert (DEFAULT_LABEL_TEXT["zh"], DEFAULT_LABEL_TEXT["en"], "AI生成") == (
        policy.label_text_for("zh"),
        policy.label_text_for("en"),
        custom.label_text_for("en"),
    )
