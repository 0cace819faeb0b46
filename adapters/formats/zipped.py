"""
The one bounded ZIP reader and writer of OOXML packages (docx, xlsx, pptx).

Member count and declared uncompressed sizes are checked before anything is decompressed
(the total for the package, and each part a reader parses on its own); members are read
only when asked for, and ``ZipExtFile`` never returns more than the declared size, so the
checks bound memory. Rewriting keeps every member, its order and its metadata; only named
members change.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from . import limits
from .limits import CarrierError

__all__ = ["Package", "open_package"]

_READ_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError)


class Package:
    """
    An OOXML package: its member list, and member bytes read on demand (and kept).
    """

    __slots__ = ("_zip", "infos", "members")

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zip = zf
        self.infos = zf.infolist()
        self.members: dict[str, bytes] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.members or any(i.filename == name for i in self.infos)

    def names(self) -> list[str]:
        """The member names in archive order."""
        return [i.filename for i in self.infos]

    def get(self, name: str) -> bytes | None:
        """
        The bytes of member *name* (``None`` when absent), within the per-part cap.

        Raises:
            CarrierError: the member declares more than the part cap or cannot be decompressed.
        """
        if name in self.members:
            return self.members[name]
        info = next((i for i in self.infos if i.filename == name), None)
        if info is None:
            return None
        if info.file_size > limits.MAX_PART_BYTES:
            raise CarrierError(
                f"{name} declares {info.file_size} bytes, which exceeds the "
                f"{limits.MAX_PART_BYTES // 2**20} MB cap on one part"
            )
        try:
            data = self._zip.read(info)
        except _READ_ERRORS as exc:
            raise CarrierError(f"{name}: cannot decompress: {exc}") from exc
        self.members[name] = data
        return data

    def set(self, name: str, data: bytes) -> None:
        """Replace (or add) member *name* for :meth:`rewrite`."""
        self.members[name] = data

    def rewrite(self, updated: Mapping[str, bytes], *, first: str | None = None) -> bytes:
        """
        The package with *updated* (and :meth:`set`) members replaced or added at the end,
        every other member unchanged. *first* (``[Content_Types].xml``) is written first,
        as the OPC specification asks.

        Raises:
            CarrierError: a member cannot be decompressed.
        """
        pending = {**self.members, **updated}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            order = sorted(self.infos, key=lambda i: i.filename != first)
            for info in order:
                body = pending.pop(info.filename, None)
                if body is None:
                    try:
                        body = self._zip.read(info)
                    except _READ_ERRORS as exc:
                        raise CarrierError(f"{info.filename}: cannot decompress: {exc}") from exc
                zout.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
            for name, body in pending.items():  # members that did not exist yet
                zout.writestr(name, body)
        return out.getvalue()


def open_package(data: bytes, kind: str = "OOXML") -> Package:
    """
    Open the ZIP *data* within the caps (members are read later, on demand).

    Raises:
        CarrierError: not a ZIP archive, too many members, or too large once decompressed.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CarrierError(f"not a readable {kind} (ZIP) archive: {exc}") from exc
    infos = zf.infolist()
    if len(infos) > limits.MAX_ZIP_MEMBERS:
        raise CarrierError(f"archive member count {len(infos)} exceeds the cap of {limits.MAX_ZIP_MEMBERS}")
    total = sum(i.file_size for i in infos)
    if total > limits.MAX_ZIP_TOTAL:
        raise CarrierError(
            f"archive uncompressed size {total} bytes exceeds the {limits.MAX_ZIP_TOTAL // 2**20} MB cap"
        )
    return Package(zf)
