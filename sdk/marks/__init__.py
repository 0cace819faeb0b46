"""
The invisible in-text carrier: alphabets, packet and seal layout, keys, placement.

Nothing here is public API; :class:`aigclabel.Labeler` and :func:`aigclabel.verify`
are the entry points. The wire format is documented in ``docs/marks.md``.
"""
