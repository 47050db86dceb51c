"""`simdlens bench` (not implemented yet)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print("simdlens: 'bench' is not implemented yet", file=sys.stderr)
    return 2
