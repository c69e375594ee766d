"""Search: surveys of spaces, the search loop, strategies, evaluators and the journal.

Pipeline stage: search, above ``nasgen.api``. The loop, the journal, the random strategy and
the table evaluator never import a framework.
"""

__all__: list[str] = []
