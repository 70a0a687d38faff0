"""oneDNN convolution plans: a ConvPlan holds the forward, backward-data and
backward-weights primitives of one convolution geometry and the reorders between the
user's arrays and oneDNN's layouts, made once and kept in an LRU cache (:func:`conv_plan`).
The bindings, the library's loading and the traps of its C API are in ``_onednn.py``.
"""
import threading

import numpy as np

from ._onednn import (address, _aligned_empty, ARG_BIAS, ARG_DIFF_BIAS, ARG_DIFF_DST,
                      ARG_DIFF_SRC, ARG_DIFF_WEIGHTS, ARG_DST, ARG_FROM, ARG_SRC, ARG_TO,
                      ARG_WEIGHTS, CONVOLUTION_DIRECT, Dims, FORWARD_TRAINING,
                      implementation, MemoryDesc, _pd_or_none, plan_for, Primitive,
                      QUERY_DIFF_DST_MD, QUERY_DIFF_SRC_MD, QUERY_DIFF_WEIGHTS_MD,
                      QUERY_DST_MD, QUERY_SRC_MD, QUERY_WEIGHTS_MD, _reorder, Unsupported)
from . import _onednn


# -- convolution ------------------------------------------------------------------------

def activation_strides(shape, layout):
    """Element strides of an (N, C, H, W) array stored 'nchw' or 'nhwc'."""
    n, c, h, w = shape
    return (c * h * w, 1, w * c, c) if layout == "nhwc" else (c * h * w, h * w, w, 1)


def _row_major_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def empty(shape, layout):
    """An uninitialised float32 (N, C, H, W) array stored in ``layout``."""
    n, c, h, w = shape
    if layout == "nhwc":
        return np.empty((n, h, w, c), np.float32).transpose(0, 3, 1, 2)
    return np.empty(shape, np.float32)


CANDIDATES = (("user", "user"), ("user", "any"), ("any", "any"))
"""Formats tried for a primitive's two activations (source side, destination side), in
order: the user's plain layouts, then the output (or both) in a layout oneDNN picks,
with reorders from and to the user's arrays. Weights are always "any"."""


def _choose(lib, make_pd, x_query, x_bytes, small):
    """The primitive descriptor of the first candidate whose implementation is a direct
    kernel (not the reference kernel, not im2col + gemm); else the first gemm one; else
    None. The reference kernels are 100-1000x slower than the NumPy path, and where
    oneDNN has both, its direct kernels beat its gemm ones several times over -- except
    on an input with few channels in a blocked layout (``x_query``'s descriptor more
    than twice the ``x_bytes`` of the plain array), whose channels are padded to the
    block size (1 to 16): such candidates are skipped. A ``small`` convolution takes the
    user's layouts with any kernel but the reference one: there the reorders to and
    from a blocked layout cost more than a direct kernel saves (LeNet's at batch 1:
    30 us against 40-60 us with its two reorders, BENCHMARKS.md)."""
    gemm = None
    for x_format, y_format in CANDIDATES:
        pd = make_pd(x_format, y_format)
        if pd is None:
            continue
        impl = implementation(lib, pd)
        if small and x_format == y_format == "user" and not impl.startswith("ref"):
            return pd
        padded = (x_format == "any" and lib.memory_desc_get_size(
            lib.primitive_desc_query_md(pd, x_query, 0)) > 2 * x_bytes)
        if impl.startswith("ref") or padded or (gemm is not None and "gemm" in impl):
            lib.primitive_desc_destroy(pd)
        elif "gemm" in impl:
            gemm = pd
        else:
            if gemm is not None:
                lib.primitive_desc_destroy(gemm)
            return pd
    return gemm


class ConvPlan:
    """The oneDNN primitives of one convolution geometry: a float32 input (N, C, H, W)
    stored in ``x_layout`` ('nchw' or 'nhwc'), a row-major weight (O, C/G, kh, kw).

    The output comes in ``y_layout``: the input's when oneDNN writes that layout itself,
    else NHWC (reordered from oneDNN's blocked layout). The three primitive descriptors
    are chosen at once (a geometry oneDNN cannot run well raises :class:`Unsupported`);
    the backward primitives are made on the first backward.
    """

    def __init__(self, lib, x_shape, x_layout, w_shape, has_bias, stride, pads, dilation,
                 groups, small=False):
        n, c, h, wd = x_shape
        o, cg, kh, kw = w_shape
        oh = _out_size(h, kh, stride[0], pads[0], dilation[0])
        ow = _out_size(wd, kw, stride[1], pads[1], dilation[1])
        self.lib, self.x_layout = lib, x_layout
        self.threads = lib.get_threads()  # plan_for's choice: the lazy primitives' too
        self.x_shape, self.y_shape, self.w_shape = x_shape, (n, o, oh, ow), w_shape
        # oneDNN's grouped weights are 5-D (G, O/G, C/G, kh, kw): the same memory
        w_dims = w_shape if groups == 1 else (groups, o // groups, cg, kh, kw)
        geometry = (Dims(*stride), Dims(dilation[0] - 1, dilation[1] - 1),
                    Dims(pads[0][0], pads[1][0]), Dims(pads[0][1], pads[1][1]))
        self._mds, self._conversions, self._sizes = {}, {}, {}
        self._lock = threading.Lock()
        self.w_md = MemoryDesc.plain(lib, w_dims, _row_major_strides(w_dims))
        self.b_md = MemoryDesc.plain(lib, (o,), (1,)) if has_bias else None
        b_md = self.b_md.handle if has_bias else None
        w_any = MemoryDesc.any(lib, w_dims)
        anys = {"x": MemoryDesc.any(lib, x_shape), "y": MemoryDesc.any(lib, self.y_shape)}

        def act(name, fmt, user_layout):
            md = anys[name] if fmt == "any" else self.user_md(name, user_layout)
            return md.handle

        def forward(src, dst):
            return _pd_or_none(lib, lib.convolution_forward_primitive_desc_create,
                               lib.engine, FORWARD_TRAINING, CONVOLUTION_DIRECT,
                               act("x", src, x_layout), w_any.handle, b_md,
                               act("y", dst, x_layout), *geometry, None)

        x_bytes = 4 * n * c * h * wd
        forward_pd = _choose(lib, forward, QUERY_SRC_MD, x_bytes, small)
        if forward_pd is None:
            raise Unsupported("no oneDNN forward kernel but the reference one")
        self.forward = Primitive(lib, forward_pd, "convolution forward")
        dst = self.forward.md(QUERY_DST_MD)
        self.y_layout = next((layout for layout in (x_layout, "nhwc", "nchw")
                              if self._equal(dst, self.user_md("y", layout))), "nhwc")
        y_layout = self.y_layout

        def backward_data(diff_src, diff_dst):
            return _pd_or_none(lib, lib.convolution_backward_data_primitive_desc_create,
                               lib.engine, CONVOLUTION_DIRECT,
                               act("x", diff_src, x_layout), w_any.handle,
                               act("y", diff_dst, y_layout), *geometry, forward_pd, None)

        def backward_weights(src, diff_dst):
            create = lib.convolution_backward_weights_primitive_desc_create
            return _pd_or_none(lib, create, lib.engine, CONVOLUTION_DIRECT,
                               act("x", src, x_layout), w_any.handle, b_md,
                               act("y", diff_dst, y_layout), *geometry, forward_pd, None)

        self._backward_pds = (
            _choose(lib, backward_data, QUERY_DIFF_SRC_MD, x_bytes, small),
            _choose(lib, backward_weights, QUERY_SRC_MD, x_bytes, small))
        if None in self._backward_pds:
            for pd in self._backward_pds:
                if pd is not None:
                    lib.primitive_desc_destroy(pd)
            raise Unsupported("no oneDNN backward kernel but the reference one")
        self.backward_data = self.backward_weights = None
        f = self.forward
        self._forward_mds = tuple(f.md(q) for q in (QUERY_SRC_MD, QUERY_WEIGHTS_MD,
                                                     QUERY_DST_MD))
        self._plain_forward = self._forward_without_reorders()

    # -- descriptors and conversions

    def user_md(self, name, layout):
        """The descriptor of the user's (N, C, H, W) 'x' or 'y' stored in ``layout``."""
        key = (name, layout)
        if key not in self._mds:
            shape = self.x_shape if name == "x" else self.y_shape
            self._mds[key] = MemoryDesc.plain(self.lib, shape,
                                              activation_strides(shape, layout))
        return self._mds[key]

    def _equal(self, a, b):
        a, b = (m.handle if isinstance(m, MemoryDesc) else m for m in (a, b))
        return bool(self.lib.memory_desc_equal(a, b))

    def _conversion(self, key, src, dst):
        """The reorder from ``src`` to ``dst`` (descriptors), or None when they are the
        same layout; cached under ``key``."""
        if key not in self._conversions:
            with self.lib.threads(self.threads):
                self._conversions[key] = (None if self._equal(src, dst) else
                                          _reorder(self.lib, _handle(src), _handle(dst)))
        return self._conversions[key]

    def _bytes(self, md):
        """The size of a primitive's memory descriptor ``md`` (asked once each)."""
        size = self._sizes.get(md.value)
        if size is None:
            size = self._sizes[md.value] = self.lib.memory_desc_get_size(md)
        return size

    def _give(self, key, array, user, wanted):
        """``array`` (descriptor ``user``) as the primitive wants it (``wanted``): itself,
        or reordered into a new buffer."""
        reorder = self._conversion(key, user, wanted)
        if reorder is None:
            return array
        buffer = _aligned_empty(self._bytes(wanted))
        reorder.execute({ARG_FROM: (_handle(user), address(array)),
                         ARG_TO: (wanted, address(buffer))})
        return buffer

    def _take(self, key, made, out, wanted):
        """Run ``made(buffer)``, the primitive writing an output of descriptor ``made``'s
        into ``buffer``; that is ``out`` (the user's array, descriptor ``wanted``)
        itself when the layouts agree, else a buffer reordered into ``out``."""
        md, run = made
        reorder = self._conversion(key, md, wanted)
        buffer = out if reorder is None else _aligned_empty(self._bytes(md))
        run(buffer)
        if reorder is not None:
            reorder.execute({ARG_FROM: (md, address(buffer)), ARG_TO: (_handle(wanted),
                                                                    address(out))})
        return out

    def _forward_without_reorders(self):
        """The forward primitive's arguments bound once, where it reads and writes the
        user's arrays as they are (a small convolution's: no reorder on any side), else
        None. Its calls then skip the conversion lookups (LeNet at batch 1: BENCHMARKS.md)."""
        f = self.forward
        src, weights, dst = self._forward_mds
        if not (self._equal(src, self.user_md("x", self.x_layout))
                and self._equal(weights, self.w_md)
                and self._equal(dst, self.user_md("y", self.y_layout))):
            return None
        mds = {ARG_SRC: src, ARG_WEIGHTS: weights, ARG_DST: dst}
        if self.b_md is not None:
            mds[ARG_BIAS] = self.b_md.handle
        return f.arguments(mds)

    # -- the three passes

    def run_forward(self, x, w, b):
        """y (N, O, OH, OW) stored in ``y_layout``, and what backward may reuse: the input
        and the weight as the forward primitive read them."""
        f = self.forward
        src, weights, dst = self._forward_mds
        if self._plain_forward is not None:
            y = empty(self.y_shape, self.y_layout)
            pointers = (address(x), address(w), address(y))
            f.run(self._plain_forward, *pointers, *(() if b is None else (address(b),)))
            return y, {"x": (src, x), "w": (weights, w)}
        xs = self._give("forward x", x, self.user_md("x", self.x_layout), src)
        ws = self._give("forward w", w, self.w_md, weights)
        args = {ARG_SRC: (src, address(xs)), ARG_WEIGHTS: (weights, address(ws))}
        if b is not None:
            args[ARG_BIAS] = (self.b_md.handle, address(b))

        def run(buffer):
            f.execute({**args, ARG_DST: (dst, address(buffer))})

        y = self._take("forward y", (dst, run), empty(self.y_shape, self.y_layout),
                       self.user_md("y", self.y_layout))
        return y, {"x": (src, xs), "w": (weights, ws)}

    def _make_backward(self):
        with self._lock, self.lib.threads(self.threads):
            if self.backward_data is None:
                data_pd, weights_pd = self._backward_pds
                self.backward_weights = Primitive(self.lib, weights_pd,
                                                  "convolution backward weights")
                self.backward_data = Primitive(self.lib, data_pd,
                                               "convolution backward data")

    def _reuse_or_give(self, key, array, user, wanted, reused):
        md, buffer = reused
        return buffer if self._equal(md, wanted) else self._give(key, array, user, wanted)

    def run_backward(self, x, w, gy, gy_layout, saved, input_grad, weight_grad):
        """(dL/dx or None, dL/dw or None, dL/db or None) from ``gy`` (N, O, OH, OW)
        stored in ``gy_layout``; ``saved`` is what run_forward returned."""
        self._make_backward()
        gy_md = self.user_md("y", gy_layout)
        gx = gw = gb = None
        given = {}  # gy converted for a primitive: (descriptor, buffer)
        if input_grad:
            d = self.backward_data
            diff_dst, weights, diff_src = (d.md(q) for q in (
                QUERY_DIFF_DST_MD, QUERY_WEIGHTS_MD, QUERY_DIFF_SRC_MD))
            gys = self._give(("data gy", gy_layout), gy, gy_md, diff_dst)
            given = {"gy": (diff_dst, gys)}
            ws = self._reuse_or_give("data w", w, self.w_md, weights, saved["w"])

            def run(buffer):
                d.execute({ARG_DIFF_DST: (diff_dst, address(gys)),
                           ARG_WEIGHTS: (weights, address(ws)),
                           ARG_DIFF_SRC: (diff_src, address(buffer))})

            gx = self._take("data gx", (diff_src, run),
                            empty(self.x_shape, self.x_layout),
                            self.user_md("x", self.x_layout))
        if weight_grad:
            bw = self.backward_weights
            src, diff_dst, diff_weights = (bw.md(q) for q in (
                QUERY_SRC_MD, QUERY_DIFF_DST_MD, QUERY_DIFF_WEIGHTS_MD))
            xs = self._reuse_or_give("weights x", x, self.user_md("x", self.x_layout),
                                     src, saved["x"])
            gys = (self._reuse_or_give(("weights gy", gy_layout), gy, gy_md, diff_dst,
                                       given["gy"]) if given
                   else self._give(("weights gy", gy_layout), gy, gy_md, diff_dst))
            args = {ARG_SRC: (src, address(xs)), ARG_DIFF_DST: (diff_dst, address(gys))}
            if self.b_md is not None:
                gb = np.empty(self.w_shape[0], np.float32)
                args[ARG_DIFF_BIAS] = (self.b_md.handle, address(gb))

            def run(buffer):
                bw.execute({**args, ARG_DIFF_WEIGHTS: (diff_weights, address(buffer))})

            gw = self._take("weights gw", (diff_weights, run),
                            np.empty(self.w_shape, np.float32), self.w_md)
        return gx, gw, gb

    def __del__(self):
        if getattr(self, "backward_data", 0) is None:  # the descriptors are still ours
            try:
                for pd in self._backward_pds:
                    self.lib.primitive_desc_destroy(pd)
            except Exception:  # interpreter shutdown  # pragma: no cover
                pass

    def implementations(self):
        """The oneDNN implementation picked for each pass ('brgconv:avx512_core', ...)."""
        data_pd, weights_pd = self._backward_pds
        return {"forward": self.forward.impl,
                "backward_data": implementation(self.lib, data_pd),
                "backward_weights": implementation(self.lib, weights_pd)}


def _handle(md):
    return md.handle if isinstance(md, MemoryDesc) else md


def conv_plan(x_shape, x_layout, w_shape, has_bias, stride, pads, dilation, groups):
    """The cached :class:`ConvPlan` of a geometry, made on first use; None where oneDNN
    cannot run it well (remembered too)."""
    key = ("conv", tuple(x_shape), x_layout, tuple(w_shape), bool(has_bias), tuple(stride),
           tuple(map(tuple, pads)), tuple(dilation), groups, "float32")

    def work():  # multiply-adds
        n, _, h, w = x_shape
        o, cg, kh, kw = w_shape
        return n * o * cg * kh * kw * (_out_size(h, kh, stride[0], pads[0], dilation[0])
                                       * _out_size(w, kw, stride[1], pads[1], dilation[1]))

    def make(lib):  # ONE_THREAD_BELOW read now, when the plan is made: tests change it
        return ConvPlan(lib, *key[1:-1], small=work() < _onednn.ONE_THREAD_BELOW)

    return plan_for(key, make, work)


def _out_size(n, k, stride, pads, dilation):
    return (n + sum(pads) - dilation * (k - 1) - 1) // stride + 1
