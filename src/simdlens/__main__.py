"""`python -m simdlens` is the `simdlens` command."""

from simdlens.cli import main

raise SystemExit(main())
