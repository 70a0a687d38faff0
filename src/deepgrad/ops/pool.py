"""2-D pooling ops: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``.

Input is (N, C, H, W) in any memory order; the output keeps the input's order (a
channels-last input gives a channels-last output, see _layout.py), so a conv -> relu ->
pool -> conv chain never transposes.

Output size per axis, as PyTorch computes it::

    out = (in + 2*pad - dilation*(k - 1) - 1) / stride + 1     (floor, or ceil in ceil_mode)

and in ceil mode the last window is dropped if it would start inside the right padding
(``(out - 1) * stride >= in + pad``). PyTorch requires ``pad <= k // 2``.

Max and average pooling loop over the kh*kw kernel offsets, each step one vectorised
operation on an (N, C, OH, OW) strided slab of the input (padded only when padding or
ceil mode need it: no copy otherwise). With stride == kernel the slabs are exactly the
views a reshape to (N, C, OH, kh, OW, kw) gives, so a 2x2 pool reads the input once,
in its own memory order. The max keeps the index of the first maximal offset
(row-major), PyTorch's tie rule, and a NaN wins as in PyTorch. :func:`max_pool2d` runs
the common 2x2, stride 2 max pooling compiled when Numba is there
(``_compiled_ops.CompiledMaxPool2x2``) for few channels or elements, the rest of
float32 max pooling on oneDNN (``_onednn_pool.py``), :class:`MaxPool2d` being their
oracle;
:func:`avg_pool2d` runs oneDNN's average pooling for float32 (``_onednn_pool.py``), and
so does :func:`adaptive_avg_pool2d` where its windows are all of one size, the
textbook ops being their oracles.
"""
from .. import backend
from ..autograd import Function, Tensor
from ._compiled_ops import CompiledMaxPool2x2
from ._layout import (in_layout, is_channels_last, pad_in_order, padded_shape,
                      zeros_in_order)
from ..checks import InputError, check_input, check_tensor, pair
from .conv import window_slab


def pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """One axis' output length (PyTorch's ``pooling_output_shape``)."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


class _Pool(Function):
    def __init__(self, kernel, stride, padding, dilation, ceil_mode):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def _geometry(self, shape):
        """Output (OH, OW) and the pads ((top, bottom), (left, right)) that make every
        window fit, the bottom/right ones grown for ceil mode's partial windows."""
        out_hw, pads = [], []
        for a in range(2):
            n, k, s = shape[2 + a], self.kernel[a], self.stride[a]
            p, d = self.padding[a], self.dilation[a]
            out = pool_output_size(n, k, s, p, d, self.ceil_mode)
            need = (out - 1) * s + d * (k - 1) + 1  # padded length the windows reach
            out_hw.append(out)
            pads.append((p, max(need - n - p, 0)))
        return tuple(out_hw), tuple(pads)

    def _padded_zeros(self, xp, dtype):
        """Zeros for the padded input's gradient, in the input's memory order."""
        return zeros_in_order(xp, padded_shape(self.x_shape, self.pads), dtype,
                              self.channels_last)

    def _in_input_order(self, grad):
        """The gradient stored in the input's memory order (a copy when it is in the
        other one: products across mismatched strides ran 3x slower, BENCHMARKS.md)."""
        return in_layout(grad, "nhwc" if self.channels_last else "nchw")

    def _unpadded(self, padded):
        (pt, _), (pl, _) = self.pads
        h, w = self.x_shape[2:]
        return padded[:, :, pt:pt + h, pl:pl + w]


class MaxPool2d(_Pool):
    """Saves, per window, the offset k = i*kw + j of its maximum (uint8 when kh*kw <= 256).

    One pass over the kernel offsets keeps the running maximum (``np.maximum``, which
    propagates NaN as PyTorch does) and, where offset k is strictly larger, k as the
    index: since k grows, ``idx = max(idx, k * (v > best))`` records that without
    ``np.where``/``copyto(where=)`` (several times slower), and ties keep the first
    offset, PyTorch's rule. A window holding a NaN needs PyTorch's exact sequential rule
    (a NaN wins, the last one), taken only when the output has a NaN.
    """

    saves = ("pads", "out_hw", "x_shape", "channels_last", "idx")

    def forward(self, x):
        xp = backend.get_array_module(x)
        out_hw, pads = self._geometry(x.shape)
        kh, kw = self.kernel
        xpad = pad_in_order(x, pads, -xp.inf)
        index_type = xp.uint8 if kh * kw <= 256 else xp.int32
        self.pads, self.out_hw = pads, out_hw
        self.x_shape, self.channels_last = x.shape, is_channels_last(x)
        slabs = [xpad[window_slab(i, j, out_hw, self.stride, self.dilation)]
                 for i in range(kh) for j in range(kw)]
        best = slabs[0].copy(order="K")  # keeps x's memory order
        idx = xp.zeros_like(best, dtype=index_type)
        for k, v in enumerate(slabs[1:], 1):
            larger = v > best
            xp.maximum(best, v, out=best)
            xp.maximum(idx, larger * index_type(k), out=idx)
        if bool(xp.isnan(best).any()):
            idx = self._sequential_argmax(xp, slabs, index_type)
        self.idx = idx
        return best

    @staticmethod
    def _sequential_argmax(xp, slabs, index_type):
        """PyTorch's loop: take offset k when its value is larger or NaN."""
        best = slabs[0].copy()
        idx = xp.zeros(best.shape, dtype=index_type)
        for k, v in enumerate(slabs[1:], 1):
            take = (v > best) | xp.isnan(v)
            best = xp.where(take, v, best)
            idx = xp.where(take, index_type(k), idx)
        return idx

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        grad = self._in_input_order(grad)  # one memory order for the products
        kh, kw = self.kernel
        dxpad = self._padded_zeros(xp, grad.dtype)
        # windows that do not overlap can be written, not added, and need no temporary
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in
                       zip(self.stride, self.dilation, self.kernel))
        for i in range(kh):
            for j in range(kw):
                where = window_slab(i, j, self.out_hw, self.stride, self.dilation)
                hit = self.idx == i * kw + j
                if disjoint:
                    xp.multiply(grad, hit, out=dxpad[where])
                else:
                    dxpad[where] += grad * hit
        return (self._unpadded(dxpad),)


class AvgPool2d(_Pool):
    """``count_include_pad`` divides by the window clipped to the padded input (PyTorch:
    padding counts, ceil mode's overhang does not); otherwise by the pixels inside the
    input. ``divisor_override`` replaces both."""

    saves = ("scale", "pads", "out_hw", "x_shape", "channels_last")

    def __init__(self, kernel, stride, padding, ceil_mode, count_include_pad,
                 divisor_override):
        super().__init__(kernel, stride, padding, (1, 1), ceil_mode)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def _inverse_counts(self, shape, out_hw, xp, dtype):
        """1 / divisor for each output pixel, (OH, OW); separable into row * column."""
        if self.divisor_override:
            return xp.full(out_hw, 1.0 / self.divisor_override, dtype=dtype)
        lengths = []
        for a in range(2):
            n, k, s, p = shape[2 + a], self.kernel[a], self.stride[a], self.padding[a]
            start = xp.arange(out_hw[a]) * s - p
            end = xp.minimum(start + k, n + p)
            if not self.count_include_pad:
                start, end = xp.maximum(start, 0), xp.minimum(end, n)
            lengths.append(end - start)
        return (1.0 / (lengths[0][:, None] * lengths[1][None, :])).astype(dtype)

    def forward(self, x):
        xp = backend.get_array_module(x)
        out_hw, pads = self._geometry(x.shape)
        kh, kw = self.kernel
        xpad = pad_in_order(x, pads, 0)
        slabs = [xpad[window_slab(i, j, out_hw, self.stride, self.dilation)]
                 for i in range(kh) for j in range(kw)]
        out = slabs[0].copy()  # keeps x's memory order
        for v in slabs[1:]:
            out += v
        self.scale = self._inverse_counts(x.shape, out_hw, xp, x.dtype)
        out *= self.scale
        self.pads, self.out_hw = pads, out_hw
        self.x_shape, self.channels_last = x.shape, is_channels_last(x)
        return out

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        grad = self._in_input_order(grad)  # one memory order for the products
        kh, kw = self.kernel
        dxpad = self._padded_zeros(xp, grad.dtype)
        g = grad * self.scale
        for i in range(kh):
            for j in range(kw):
                dxpad[window_slab(i, j, self.out_hw, self.stride, self.dilation)] += g
        return (self._unpadded(dxpad),)


class AdaptiveAvgPool2d(Function):
    """Window ``i`` along an axis of length n covers [floor(i*n/out), ceil((i+1)*n/out)).

    The windows are separable, so the op is two small matrix products with averaging
    matrices: ``y = A_h @ x @ A_w.T`` and back ``dx = A_h.T @ g @ A_w``.
    """

    saves = ("ah", "aw")

    def __init__(self, output_size):
        self.output_size = output_size

    @staticmethod
    def _averaging(xp, n, out, dtype):
        a = xp.zeros((out, n), dtype=dtype)
        for i in range(out):  # a loop over output rows, not pixels: out is small
            start, end = (i * n) // out, -(-((i + 1) * n) // out)
            a[i, start:end] = 1.0 / (end - start)
        return a

    def forward(self, x):
        xp = backend.get_array_module(x)
        oh, ow = self.output_size
        self.ah = self._averaging(xp, x.shape[2], oh, x.dtype)
        self.aw = self._averaging(xp, x.shape[3], ow, x.dtype)
        return xp.matmul(xp.matmul(self.ah, x), self.aw.T)

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        return (xp.matmul(xp.matmul(self.ah.T, grad), self.aw),)


def _pool_args(who, kernel_size, stride, padding, dilation):
    kernel = pair(who, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] or stride == () else pair(
        who, "stride", stride)
    padding = pair(who, "padding", padding, minimum=0)
    dilation = pair(who, "dilation", dilation)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise ValueError(f"{who}: padding {padding} must be at most half the kernel "
                             f"size {kernel}")
    return kernel, stride, padding, dilation


def _check_pool_input(who, x, kernel, stride, padding, dilation, ceil_mode):
    """Check the input against the geometry; returns the output's (height, width)."""
    data = check_tensor(who, x)._data
    check_input(who, data)
    out_hw = []
    for a in range(2):
        out = pool_output_size(data.shape[2 + a], kernel[a], stride[a], padding[a],
                               dilation[a], ceil_mode)
        if out < 1:
            raise InputError(f"{who}: the kernel {kernel} (dilation {dilation}) is larger "
                             f"than the padded input: input shape {tuple(data.shape)}, "
                             f"padding {padding}")
        out_hw.append(out)
        # With dilation a window can hold padding only (PyTorch then returns -inf and
        # sends no gradient anywhere): refuse such a geometry. Every window starts before
        # the input's end, so only those starting in the left padding (a few) can.
        n, s, p, d = data.shape[2 + a], stride[a], padding[a], dilation[a]
        if d > 1 and any(all(not 0 <= o * s - p + t < n for t in range(0, d * kernel[a], d))
                         for o in range(min(out, p // s + 1))):
            raise InputError(f"{who}: with padding {padding} and dilation {dilation}, a "
                             f"window of the kernel {kernel} holds only padding for an "
                             f"input of shape {tuple(data.shape)} (its result would be "
                             f"-inf); use less padding or dilation")
    return tuple(out_hw)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over each window; ``torch.nn.functional.max_pool2d``'s arguments.

    With ``return_indices`` also returns each maximum's flat index into its input plane
    (an int64 Tensor without gradient), as PyTorch does.
    """
    who = "max_pool2d"
    given = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    op = onednn_max_op_seen(input, given)  # these arguments and this layout passed before
    if op is not None:
        return op(input)
    kernel, stride, padding, dilation = _pool_args(who, kernel_size, stride, padding,
                                                   dilation)
    out_hw = _check_pool_input(who, input, kernel, stride, padding, dilation, ceil_mode)
    op = _max_pool_op(input, kernel, stride, padding, dilation, bool(ceil_mode), out_hw,
                      return_indices, given)
    out = op(input)
    if return_indices:
        if getattr(op, "idx", None) is None:  # released after a no-grad forward: redo
            op = _max_pool_op(input, kernel, stride, padding, dilation, bool(ceil_mode))
            op.forward(input._data if isinstance(input, Tensor) else input)
        return out, Tensor(_flat_indices(op))
    return out


def _max_pool_op(x, kernel, stride, padding, dilation, ceil_mode, out_hw=None,
                 indices=True, given=None):
    """The one choice: oneDNN's for a float32 input (without ceil mode and indices: its
    argmax is in a format of its own), but the compiled 2x2 pool where it applies to an
    input with few channels or elements, else :class:`MaxPool2d`. oneDNN's op is filed
    under ``given`` (``max_pool2d``'s arguments) where that choice does not depend on
    whether the compiled loops are there."""
    op = MaxPool2d(kernel, stride, padding, dilation, ceil_mode)
    _, pads = op._geometry(x.shape)
    small_2x2 = (kernel == (2, 2) and stride == (2, 2) and dilation == (1, 1)
                 and pads == ((0, 0), (0, 0)) and (x.shape[1] < ONEDNN_2X2_FROM[0]
                                                   or x._data.size < ONEDNN_2X2_FROM[1]))
    if small_2x2 and CompiledMaxPool2x2.covers(x, kernel, stride, dilation, pads):
        return CompiledMaxPool2x2()
    if not (ceil_mode or indices):
        from . import _onednn_pool  # the accelerated layer, loaded on first use
        fast = _onednn_pool.max_op_for(x._data, kernel, stride, padding, dilation, out_hw,
                                       op, None if small_2x2 else given)
        if fast is not None:
            return fast
    return op


ONEDNN_2X2_FROM = (16, 1 << 16)
"""Channels and elements from which a 2x2 max pooling goes to oneDNN rather than the
compiled loop: forward and backward of (64, 32, 32, 32) 0.73 ms against 2.3 (channels
last; 2.0 against 4.5 NCHW), of (64, 6, 28, 28) channels-last 0.45 against 0.21
(BENCHMARKS.md)."""


def _flat_indices(op):
    """Each window's argmax (``op.idx``, the offset k = i*kw + j) as a flat index into
    its (H, W) input plane (int64), ``return_indices=True``'s second output."""
    xp = backend.get_array_module(op.idx)
    kw = op.kernel[1]
    oh, ow = op.out_hw
    w = op.x_shape[3]
    i, j = op.idx // kw, op.idx % kw
    rows = (xp.arange(oh) * op.stride[0] - op.padding[0])[:, None] + i.astype(
        xp.int64) * op.dilation[0]
    cols = (xp.arange(ow) * op.stride[1] - op.padding[1]) + j.astype(
        xp.int64) * op.dilation[1]
    return rows * w + cols


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each window; ``torch.nn.functional.avg_pool2d``'s arguments."""
    who = "avg_pool2d"
    given = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    op = onednn_op_seen(input, given)  # these arguments and this layout passed before
    if op is not None:
        return op(input)
    kernel, stride, padding, dilation = _pool_args(who, kernel_size, stride, padding, 1)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not
                                         isinstance(divisor_override, int)
                                         or divisor_override < 1):
        raise ValueError(f"{who}: divisor_override must be a positive int or None, got "
                         f"{divisor_override!r}")
    out_hw = _check_pool_input(who, input, kernel, stride, padding, dilation, ceil_mode)
    if not ceil_mode and divisor_override is None:
        op = onednn_op_for(input._data, kernel, stride, padding, out_hw,
                           bool(count_include_pad), given)
        if op is not None:
            return op(input)
    return AvgPool2d(kernel, stride, padding, bool(ceil_mode), bool(count_include_pad),
                     divisor_override)(input)


def onednn_op_for(*args):
    """oneDNN's average pooling for this input and geometry, or None (the accelerated
    layer, ``_onednn_pool.op_for``, loaded on first use; the one place that chooses it)."""
    from . import _onednn_pool
    return _onednn_pool.op_for(*args)


def onednn_max_op_seen(input, given):
    """oneDNN's max pooling where an input of this layout met the arguments ``given``
    before and passed the checks (``_onednn_pool.max_op_seen``), else None."""
    from . import _onednn_pool
    return _onednn_pool.max_op_seen(input, given)


def onednn_op_seen(input, given):
    """oneDNN's average pooling where an input of this layout met the arguments
    ``given`` before and passed the checks (``_onednn_pool.op_seen``), else None."""
    from . import _onednn_pool
    return _onednn_pool.op_seen(input, given)


def adaptive_avg_pool2d(input, output_size):
    """Average into a fixed ``output_size`` (an int, or a pair whose None keeps that axis'
    input size), PyTorch's window rule."""
    who = "adaptive_avg_pool2d"
    data = check_tensor(who, input)._data
    check_input(who, data)
    if 0 in data.shape[2:]:
        raise InputError(f"{who}: expected an input with H >= 1 and W >= 1, got shape "
                         f"{tuple(data.shape)}")
    if not isinstance(output_size, (list, tuple)):
        output_size = (output_size, output_size)
    if len(output_size) != 2:
        raise ValueError(f"{who}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(data.shape[2 + a] if s is None else s for a, s in enumerate(output_size))
    for s in size:
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise ValueError(f"{who}: output_size entries must be positive ints or None, "
                             f"got {output_size!r}")
    h, w = data.shape[2:]
    if h % size[0] == 0 and w % size[1] == 0:
        # every window the same, k = n / out apart: an average pooling (a ResNet's
        # global pool), oneDNN's 3x faster than the two products (BENCHMARKS.md)
        kernel = (h // size[0], w // size[1])
        op = onednn_op_for(data, kernel, kernel, (0, 0), size, True)
        if op is not None:
            return op(input)
    return AdaptiveAvgPool2d(size)(input)


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pool_output_size"]
