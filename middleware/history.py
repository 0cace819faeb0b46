"""
Request-side hygiene: keep this labeler's own in-text marks out of the tokens sent upstream.

Applications send earlier assistant messages back upstream (chat history, RAG). Every
invisible packet costs about 40 tokens there and carries nothing the model needs. Before
a request leaves, runs of mark characters in **assistant** turns that decode as marks
made by this labeler's key are dropped from the request body. Nothing is returned to
anyone: the text the application holds, and every response, keep their labels; marks of
other producers and any other invisible characters are left as they are.
"""

from __future__ import annotations

import json
from typing import Any

from aigclabel.canonical import text_digest
from aigclabel.labeler import Labeler
from aigclabel.marks import alphabet
from aigclabel.marks.keys import VerifyingKeys
from aigclabel.marks.packet import MICRO_VERSION, parse

__all__ = ["HistoryHygiene"]


class HistoryHygiene:
    """
    Drops own marks from assistant turns of chat, Responses and Anthropic request bodies.
    """

    __slots__ = ("_keys", "_known")

    def __init__(self, labeler: Labeler) -> None:
        self._keys = labeler.verifying_keys()
        self._known: dict[str, bool] = {}  # run -> made by us (the same runs repeat in every turn)

    def rewrite(self, body: bytes) -> bytes | None:
        """
        The body without own marks in assistant turns, or ``None`` when nothing changed.
        """
        # Every needle holds a backslash-u escape or a lead byte 0xCD / 0xE2: most bodies have none.
        if (b"\\u" not in body and b"\xcd" not in body and b"\xe2" not in body) or not any(
            needle in body for needle in _NEEDLES
        ):
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        changed = False
        for key in ("messages", "input"):
            turns = doc.get(key)
            if isinstance(turns, list):
                for turn in turns:
                    if isinstance(turn, dict) and turn.get("role") == "assistant":
                        changed |= self._turn(turn)
        if not changed:
            return None
        try:
            # Re-serialising must not change anything else: no NaN/Infinity from out-of-range
            # numbers, no lone surrogates; if it would, the body goes upstream as it was.
            return json.dumps(doc, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
        except ValueError:
            return None

    def _turn(self, turn: dict[str, Any]) -> bool:
        content = turn.get("content")
        if isinstance(content, str):
            turn["content"] = self.model_text(content)
            return bool(turn["content"] != content)
        changed = False
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                new = self.model_text(part["text"])
                changed |= new != part["text"]
                part["text"] = new
        return changed

    def model_text(self, text: str) -> str:
        """
        An assistant turn's *text* as it is sent back upstream to the model: without the runs
        of mark characters made by this labeler's key (about 40 tokens a packet that the model
        does not need). Other producers' marks and other invisible characters stay. Only for
        requests going to the model: what is released to anyone keeps its label.

        .. versionadded:: 0.3.0
        """
        if alphabet.MARK_RUN.search(text) is None:
            return text
        return alphabet.MARK_RUN.sub(lambda m: "" if self._ours(m.group(), text) else m.group(), text)

    def _ours(self, run: str, text: str) -> bool:
        known = self._known.get(run)
        if known is None:
            known, per_text = _all_ours(run, self._keys, text)
            if not per_text:  # a micro seal is ours only over the text it seals: not cached
                if len(self._known) > 4096:
                    self._known.clear()
                self._known[run] = known
        return known


def _all_ours(run: str, keys: VerifyingKeys, text: str) -> tuple[bool, bool]:
    """
    Whether every piece of *run* is a packet or seal whose packet MAC verifies under *keys* — or,
    for a micro seal (no packet MAC), whose MAC verifies over *text* — and whether the answer
    depends on *text*.
    """
    pieces: list[bytes | None] = []
    for part in alphabet.CHANNEL_PART.finditer(run):
        if part.lastgroup == "cf":
            pieces.append(alphabet.decode_cf(part.group()))
        else:
            pieces.extend(alphabet.decode_mn(p) for p in part.group().split(alphabet.CGJ) if p)
    if not pieces:
        return False, False
    per_text = False
    for data in pieces:
        mark = parse(data) if data is not None else "length"
        if isinstance(mark, str):
            return False, per_text
        if mark.version == MICRO_VERSION:
            per_text = True
            digest = text_digest(alphabet.ANY_MARK_CHAR.sub("", text), profile=mark.profile)
            if keys.check_mac("seal", mark.message, mark.auth, digest).outcome != "ok":
                return False, per_text
            continue
        # Packets and seals both begin header | mark id | packet MAC (seal: kind bits set).
        header = bytes([mark.message[0] & 0xCF]) + mark.message[1:5]
        mac = mark.message[5:9] if mark.is_seal else mark.auth
        if keys.check_packet(header, mac) is not True:
            return False, per_text
    return True, per_text


_NEEDLES = (
    b"\\u034f",
    b"\\u200",
    b"\\u2060",
    "\u034f".encode(),
    "\u200b".encode(),
    "\u200c".encode(),
    "\u200d".encode(),
    "\u2060".encode(),
)
assert all(b"\\u" in n or n[:1] in (b"\xcd", b"\xe2") for n in _NEEDLES)  # the pre-filter above
