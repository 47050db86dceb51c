"""simdlens: find SIMD-able loops in C/C++, propose AVX2/AVX-512 rewrites, verify and measure them."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simdlens")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"
