"""oneDNN's matrix product for float32 2-D operands, ``a @ b (+ bias)``: a MatmulPlan per
geometry (the shapes and the operands' memory orders), made once and kept in the LRU
cache of ``_onednn.py`` (:func:`product`).

oneDNN's matmul reads plain arrays described by their strides, so a transposed view
(``weight.T`` in a linear layer, ``g.T`` in its weight gradient) is read where it lies,
without a copy; the result is a new C-ordered array. Only operands whose rows or
columns are contiguous go to it (a broadcast or strided view goes to NumPy), and only
geometries for which it has a real kernel ("brg:avx512_core", "gemm:jit"), never its
reference one. It runs on oneDNN's OpenMP threads, the pool its convolutions use, so a
network whose products and convolutions both go to oneDNN has one pool of threads, not
OpenBLAS's and OpenMP's spinning against each other (BENCHMARKS.md, issue 18).
"""
import numpy as np

from ._onednn import (address, ARG_BIAS, ARG_DST, ARG_SRC, ARG_WEIGHTS, fast_primitive,
                      MemoryDesc, _pd_or_none, plan_for)



class MatmulPlan:
    """The primitive of ``(m, k) @ (k, n) [+ bias (n,)]`` for operands with the element
    strides ``a_strides`` and ``b_strides``; the result is C-ordered."""

    def __init__(self, lib, m, k, n, a_strides, b_strides, has_bias):
        self.a = MemoryDesc.plain(lib, (m, k), a_strides)
        self.b = MemoryDesc.plain(lib, (k, n), b_strides)
        self.bias = MemoryDesc.plain(lib, (1, n), (n, 1)) if has_bias else None
        self.y = MemoryDesc.plain(lib, (m, n), (n, 1))
        self.primitive = fast_primitive(lib, _pd_or_none(
            lib, lib.matmul_primitive_desc_create, lib.engine, self.a.handle, self.b.handle,
            self.bias.handle if has_bias else None, self.y.handle, None), "matmul")
        mds = {ARG_SRC: self.a.handle, ARG_WEIGHTS: self.b.handle, ARG_DST: self.y.handle}
        if has_bias:
            mds[ARG_BIAS] = self.bias.handle
        self.args = self.primitive.arguments(mds)
        self.shape = (m, n)

    def __call__(self, a, b, bias=None):
        y = np.empty(self.shape, np.float32)
        if bias is None:
            self.primitive.run(self.args, address(a), address(b), address(y))
        else:
            self.primitive.run(self.args, address(a), address(b), address(y), address(bias))
        return y


def _strides(x):
    """Element strides of a float32 matrix whose rows or columns are contiguous (and
    do not overlap), else None."""
    if not x.flags.aligned:
        return None
    rows, cols = x.shape
    if x.flags.c_contiguous:
        return (cols, 1)
    if x.flags.f_contiguous:
        return (1, rows)
    s0, s1 = x.strides
    if s0 % 4 or s1 % 4:
        return None
    s0, s1 = s0 // 4, s1 // 4
    if s1 == 1 and s0 >= cols:
        return (s0, 1)
    if s0 == 1 and s1 >= rows:
        return (1, s1)
    return None


def _is_float32_array(x, ndim):
    return type(x) is np.ndarray and x.dtype == np.float32 and x.ndim == ndim


def product(a, b, bias=None):
    """``a @ b (+ bias)`` computed by oneDNN, or None where it does not run it: not two
    float32 NumPy matrices of matching shapes, operands in another memory order, oneDNN
    not loaded or without a kernel for them (``products.mm`` sends only products of at
    least ``products.ONEDNN_FROM`` multiply-adds)."""
    if not (_is_float32_array(a, 2) and _is_float32_array(b, 2)):
        return None
    (m, k), n = a.shape, b.shape[1]
    if b.shape[0] != k:
        return None
    if bias is not None and not (_is_float32_array(bias, 1) and bias.shape == (n,)
                                 and bias.flags.c_contiguous and bias.flags.aligned):
        return None
    a_strides, b_strides = _strides(a), _strides(b)
    if a_strides is None or b_strides is None:
        return None
    has_bias = bias is not None
    plan = plan_for(("matmul", m, k, n, a_strides, b_strides, has_bias),
                    lambda lib: MatmulPlan(lib, m, k, n, a_strides, b_strides, has_bias),
                    work=lambda: m * k * n)
    return None if plan is None else plan(a, b, bias)
