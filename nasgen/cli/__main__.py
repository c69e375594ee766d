"""``python -m nasgen.cli``: the command line."""

from nasgen.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
