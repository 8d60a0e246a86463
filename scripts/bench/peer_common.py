"""Shared by the PyTorch peers of the bench (pytorch-tables.py, pytorch-language.py, pytorch-text.py)."""
import os


def blas():
    """The BLAS behind libblas.so.3 (Debian alternatives), as ../shared/bench/pytorch-reference.py names it."""
    path = os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')
    for name in ('openblas', 'blis', 'mkl'):
        if name in path:
            return name
    return 'reference' if path.endswith('/blas/libblas.so.3') else path
