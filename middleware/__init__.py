"""
aigclabel.middleware — the request path: labeling transports and ``wrap(client)``.

Depends on :mod:`aigclabel` (the core) only; adapters depend on it.
"""
