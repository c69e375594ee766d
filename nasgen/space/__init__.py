"""Search spaces as text: ``space cell`` files read into decisions, counted, sampled, encoded.

Pipeline stage: search spaces, beside ``nasgen.ir`` (both read the front end's ASTs). Imports
``nasgen.errors``, ``nasgen.ops`` and ``nasgen.dsl``; never a framework, so a search driver
can run without torch.
"""

from nasgen.space.bundled import load_space, load_space_source, space_names
from nasgen.space.space import Decision, SearchSpace, read_space
from nasgen.space.spec import CellSpec, read_cell_spec

__all__ = [
    "CellSpec",
    "Decision",
    "SearchSpace",
    "load_space",
    "load_space_source",
    "read_cell_spec",
    "read_space",
    "space_names",
]
