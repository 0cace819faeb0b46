"""
Build script for the optional C extension; everything else is declared in pyproject.toml.

``aigclabel.speedups`` speeds up the canonical form's per-character loops. It is optional:
where no C compiler is available the build skips it and the package runs its pure-Python
code, which gives the same results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("aigclabel.speedups", sources=["sdk/speedups.c"], optional=True),
    ]
)
