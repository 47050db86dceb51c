"""`python -m simdlens` is the `simdlens` command."""

from simdlens.cli import main

if __name__ == "__main__":  # not when a worker process (spawn) imports this module
    raise SystemExit(main())
