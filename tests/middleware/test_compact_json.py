"""
The rewriters' compact JSON serialiser gives exactly ``json.dumps``'s compact form (the ASCII
form when a lone surrogate makes the UTF-8 one invalid), for every kind of value.
"""

from __future__ import annotations

import json
from typing import Any

from aigclabel.middleware.common import dumps
from hypothesis import given
from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
DOCS = st.recursive(SCALARS, lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids), max_leaves=30)


def expected(doc: Any) -> str:
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    return text


@given(DOCS)
def test_dumps_is_json_dumps_compact(doc: Any) -> None:
    """
    Any document (unicode, lone surrogates, NaN, big integers, nesting): json.dumps's bytes.
    """
    assert expected(doc) == dumps(doc)


def test_dumps_edge_values() -> None:
    """
    A bare string, U+2028, escapes, -0.0, 1e300 and a lone surrogate.
    """
    for doc in ("bare", {"a": 'é\u2028"\\\n'}, [-0.0, 1e300, 10**30], {"x": "\ud800"}, {}):
        assert expected(doc) == dumps(doc)
