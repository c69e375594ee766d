"""Backends: IR -> runnable models. Each subpackage imports its framework; this one imports none.

Pipeline stage: backends (above passes and the IR, below the API).
"""

__all__: list[str] = []
