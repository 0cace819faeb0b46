"""
Labeling of one JSON response body (and of each Batch output line's body).

The JSON plumbing is here; where an API keeps its text is its own module's ``body``
function (see :mod:`.apis`).

Fail closed: a body that is not a JSON object of the endpoint's shape, or that holds text
where no label can be placed, raises :class:`~.common.BodyShapeError` (reported by the
transports as :class:`~aigclabel.middleware.UnlabelableResponseError`).
"""

from __future__ import annotations

import json
from typing import Any

from .apis import APIS
from .common import BodyShapeError, RewriterBase, dumps, kind_name

__all__ = ["JSONRewriter"]


class JSONRewriter(RewriterBase):
    """
    Labels the text parts of one JSON response body.
    """

    def rewrite(self, body: bytes) -> bytes:
        """
        The rewritten body.

        Raises:
            BodyShapeError: the body is not a JSON object of the endpoint's shape, or holds
                text where no label can be placed.
        """
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise BodyShapeError(f"the body is not valid JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise BodyShapeError(f"the body is a JSON {kind_name(doc)}, not an object")
        self.rewrite_doc(doc)
        return dumps(doc).encode("utf-8")

    def rewrite_doc(self, doc: dict[str, Any]) -> None:
        """
        Label one parsed response object in place and add its ``aigc`` object.

        Raises:
            BodyShapeError: as :meth:`rewrite`.
        """
        doc["aigc"] = self.aigc(APIS[self.info.endpoint].body(self, doc))
