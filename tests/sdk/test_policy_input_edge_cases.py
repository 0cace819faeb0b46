"""
Policy inputs an integrator meets less often: a blank signing key, opt-out agreements given as one
comma-separated string (as the environment does), and a TOML file whose ``aigclabel`` key is no table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aigclabel import LabelPolicy, PolicyError
from aigclabel.exceptions import PolicyKeyError

from tests.helpers import CHAIN_KEY, KEY, PRODUCER


def test_a_blank_signing_key_is_refused_as_empty() -> None:
    """
    A `signing_key` of only whitespace is an empty key: `PolicyKeyError` naming the field.
    """
    with pytest.raises(PolicyKeyError, match="signing_key: the key is empty") as caught:
        LabelPolicy(producer=PRODUCER, key=KEY, signing_key="  \n ")

    assert "signing_key" == caught.value.field


def test_opt_out_agreements_from_a_comma_separated_string() -> None:
    """
    `opt_out_agreements` given as one comma-separated string becomes a tuple, blanks dropped.
    """
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store="sqlite:///unused.db",
        audit_chain_key=CHAIN_KEY,
        opt_out_agreements=" 2025-09, 2026-01 ,, ",
    )

    assert ("2025-09", "2026-01") == policy.opt_out_agreements


def test_opt_out_agreements_from_the_environment() -> None:
    """
    `AIGCLABEL_OPT_OUT_AGREEMENTS` is read as a comma-separated list.
    """
    environ = {
        "AIGCLABEL_PRODUCER": PRODUCER,
        "AIGCLABEL_KEY": KEY,
        "AIGCLABEL_AUDIT_STORE": "sqlite:///unused.db",
        "AIGCLABEL_AUDIT_CHAIN_KEY": CHAIN_KEY,
        "AIGCLABEL_OPT_OUT_AGREEMENTS": "2025-09,2026-01",
    }

    assert ("2025-09", "2026-01") == LabelPolicy.from_env(environ).opt_out_agreements


def test_a_toml_aigclabel_key_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """
    A TOML file whose `aigclabel` key is a value, not a table, is a `PolicyError` saying so.
    """
    path = tmp_path / "aigclabel.toml"
    path.write_text('aigclabel = "on"\n', encoding="utf-8")

    with pytest.raises(PolicyError, match=r"\[aigclabel\] must be a table"):
        LabelPolicy.load(path, environ={})
