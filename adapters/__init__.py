"""
aigclabel.adapters — edges to other libraries (provider SDKs, document formats, runtimes).

Each adapter imports its library lazily and names the extra to install when it is missing.
"""
