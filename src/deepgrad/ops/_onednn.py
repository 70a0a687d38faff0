"""oneDNN's convolution primitives through ctypes (optional: the ``onednn`` extra).

The wheel ``onednn-cpu-gomp`` ships ``libdnnl.so.3`` (oneDNN 3.2, OpenMP threads) with
its plain C API and no headers and no Python bindings: the few functions and constants
used here are declared below, as the C header declares them. Loaded on first use
(:func:`library`), never at ``import deepgrad``; ``DEEPGRAD_ONEDNN=0`` (or
``DEEPGRAD_COMPILED=0``, the switch of every accelerated layer) leaves it unloaded, and
a missing or broken library leaves :func:`library` None and :func:`unavailable_reason`
saying why.

A :class:`ConvPlan` holds the primitives of one convolution geometry, made once and
kept in an LRU cache (:func:`conv_plan`): forward, backward data and backward weights
(the last two made with the forward one as hint, and created on the first backward),
plus the reorders between the user's plain arrays and the layouts oneDNN asks for.
Weights are always given as format "any" (oneDNN picks its blocked layout and we
reorder into it); activations are first offered in the user's memory order (NCHW or
NHWC), then in layouts oneDNN picks (:data:`CANDIDATES`, :func:`_choose`).

Traps of the C API: pointers the library returns (the memory descriptors of a
primitive descriptor) must be declared ``c_void_p`` -- ctypes' default ``int`` cuts
them to 32 bits and the process segfaults; the backward-data primitive must be created
with weights of format "any" too, else oneDNN quietly takes its reference kernel, about
1000x slower; so does any mix of plain layouts (an NCHW source with an NHWC
destination) and an NHWC source of one channel: :func:`implementation` tells which
kernel was picked. Plain layouts are described by strides, not format tags, whose
numbering changed between versions; ``DNNL_ARG_BIAS`` is 41 in oneDNN 3.
"""
import ctypes
import os
import threading
from collections import OrderedDict

import numpy as np

LIBRARY_NAME = "libdnnl.so.3"
DISTRIBUTION = "onednn-cpu-gomp"
LIBRARY_PATH = None
"""Where to load the library from; None: find it in the installed wheel (tests point
it at a missing file to see the fallback)."""

# -- constants of the C API (oneDNN 3.x: dnnl_types.h, dnnl_common_types.h) --------------

SUCCESS = 0
CPU = 1  # dnnl_cpu engine kind
STREAM_IN_ORDER = 1
F32 = 3  # dnnl_f32
FORMAT_ANY = 1  # dnnl_format_tag_any
FORWARD_TRAINING = 64
CONVOLUTION_DIRECT = 1
QUERY_IMPL_INFO_STR = 8
QUERY_SRC_MD, QUERY_DIFF_SRC_MD, QUERY_WEIGHTS_MD = 129, 130, 131
QUERY_DIFF_WEIGHTS_MD, QUERY_DST_MD, QUERY_DIFF_DST_MD = 132, 133, 134
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
ARG_FROM, ARG_TO = ARG_SRC, ARG_DST  # a reorder's arguments
MAX_NDIMS = 12
STATUS = {1: "out of memory", 2: "invalid arguments", 3: "unimplemented",
          4: "last implementation reached", 5: "runtime error", 6: "not required"}

Dims = ctypes.c_int64 * MAX_NDIMS
P = ctypes.c_void_p  # every handle: engine, stream, memory (descriptor), primitive (desc)


class _ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", P)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


_PP = ctypes.POINTER(P)
_SIGNATURES = {  # name: (restype, argtypes)
    "dnnl_version": (ctypes.POINTER(_Version), []),
    "dnnl_engine_create": (ctypes.c_int, [_PP, ctypes.c_int, ctypes.c_size_t]),
    "dnnl_stream_create": (ctypes.c_int, [_PP, P, ctypes.c_uint]),
    "dnnl_stream_wait": (ctypes.c_int, [P]),
    "dnnl_memory_desc_create_with_tag": (ctypes.c_int, [_PP, ctypes.c_int, Dims,
                                                        ctypes.c_int, ctypes.c_int]),
    "dnnl_memory_desc_create_with_strides": (ctypes.c_int, [_PP, ctypes.c_int, Dims,
                                                            ctypes.c_int, Dims]),
    "dnnl_memory_desc_destroy": (ctypes.c_int, [P]),
    "dnnl_memory_desc_equal": (ctypes.c_int, [P, P]),
    "dnnl_memory_desc_get_size": (ctypes.c_size_t, [P]),
    "dnnl_memory_create": (ctypes.c_int, [_PP, P, P, P]),
    "dnnl_memory_destroy": (ctypes.c_int, [P]),
    "dnnl_convolution_forward_primitive_desc_create": (
        ctypes.c_int, [_PP, P, ctypes.c_int, ctypes.c_int, P, P, P, P, Dims, Dims, Dims,
                       Dims, P]),
    "dnnl_convolution_backward_data_primitive_desc_create": (
        ctypes.c_int, [_PP, P, ctypes.c_int, P, P, P, Dims, Dims, Dims, Dims, P, P]),
    "dnnl_convolution_backward_weights_primitive_desc_create": (
        ctypes.c_int, [_PP, P, ctypes.c_int, P, P, P, P, Dims, Dims, Dims, Dims, P, P]),
    "dnnl_reorder_primitive_desc_create": (ctypes.c_int, [_PP, P, P, P, P, P]),
    "dnnl_primitive_desc_query_md": (P, [P, ctypes.c_int, ctypes.c_int]),
    "dnnl_primitive_desc_query": (ctypes.c_int, [P, ctypes.c_int, ctypes.c_int, P]),
    "dnnl_primitive_desc_destroy": (ctypes.c_int, [P]),
    "dnnl_primitive_create": (ctypes.c_int, [_PP, P]),
    "dnnl_primitive_destroy": (ctypes.c_int, [P]),
    "dnnl_primitive_execute": (ctypes.c_int, [P, P, ctypes.c_int,
                                              ctypes.POINTER(_ExecArg)]),
}


class OneDNNError(RuntimeError):
    """A oneDNN call returned an error status."""


class Library:
    """The loaded ``libdnnl`` with its CPU engine and stream."""

    def __init__(self, path):
        self.path = path
        dll = ctypes.CDLL(path)
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(dll, name)
            fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name[len("dnnl_"):], fn)
        self.dll = dll
        v = self.version_info = self.version()[0]
        self.version_string = f"{v.major}.{v.minor}.{v.patch}"
        self.engine, self.stream = P(), P()
        self.check(self.engine_create(ctypes.byref(self.engine), CPU, 0), "engine_create")
        self.check(self.stream_create(ctypes.byref(self.stream), self.engine,
                                      STREAM_IN_ORDER), "stream_create")

    @staticmethod
    def check(status, what):
        if status != SUCCESS:
            raise OneDNNError(f"oneDNN {what} failed: {STATUS.get(status, status)}")


_state = {"library": None, "reason": None, "lock": threading.Lock()}


def _find_library():
    """The path of libdnnl in the installed wheel, or raise OSError saying why not."""
    if LIBRARY_PATH is not None:
        return LIBRARY_PATH
    from importlib import metadata
    try:
        files = metadata.files(DISTRIBUTION) or ()
    except metadata.PackageNotFoundError:
        raise OSError(f"the {DISTRIBUTION} wheel is not installed "
                      f"(pip install 'deepgrad[onednn]')") from None
    for f in files:
        if f.name == LIBRARY_NAME:
            return str(f.locate())
    raise OSError(f"the {DISTRIBUTION} wheel has no {LIBRARY_NAME}")


def switched_off():
    """True when the environment says not to use oneDNN."""
    return (os.environ.get("DEEPGRAD_ONEDNN", "1") == "0"
            or os.environ.get("DEEPGRAD_COMPILED", "1") == "0")


def library():
    """The loaded library, or None (switched off, not installed, fails to load); loads
    it on the first call."""
    if _state["library"] is None and _state["reason"] is None:
        with _state["lock"]:
            if _state["library"] is None and _state["reason"] is None:
                _load()
    return _state["library"] or None


def _load():
    if switched_off():
        _state["reason"] = "switched off (DEEPGRAD_ONEDNN=0 or DEEPGRAD_COMPILED=0)"
        return
    try:
        path = _find_library()
        # OpenMP's threads spin for a while after each parallel region (libgomp's
        # default), holding the cores that OpenBLAS's threads (the next matrix product)
        # and other processes need; passive waiting hands them back at once. libgomp
        # reads this when it loads, so it is set before the library (which links
        # libgomp) loads; a user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        _state["library"] = Library(path)
    except (OSError, AttributeError, OneDNNError) as err:  # missing, old or broken
        _state["reason"] = str(err) if isinstance(err, OSError) else repr(err)
        _state["library"] = False


def unavailable_reason():
    """Why oneDNN is not used here, or None when it is (loads it to find out)."""
    return None if library() else _state["reason"]


def reset():
    """Forget the loaded library and the cached primitives (tests)."""
    with _state["lock"]:
        _state["library"], _state["reason"] = None, None
        _plans.clear()


# -- thin wrappers that own a handle ----------------------------------------------------

class MemoryDesc:
    """A memory descriptor this module created (and destroys)."""

    def __init__(self, lib, handle):
        self.lib, self.handle = lib, handle

    @classmethod
    def plain(cls, lib, shape, strides):
        """f32 descriptor of ``shape`` with element ``strides`` (NCHW, NHWC, OIHW...)."""
        h = P()
        lib.check(lib.memory_desc_create_with_strides(
            ctypes.byref(h), len(shape), Dims(*shape), F32, Dims(*strides)),
            "memory_desc_create_with_strides")
        return cls(lib, h)

    @classmethod
    def any(cls, lib, shape):
        """f32 descriptor of format "any": the primitive picks the layout."""
        h = P()
        lib.check(lib.memory_desc_create_with_tag(
            ctypes.byref(h), len(shape), Dims(*shape), F32, FORMAT_ANY),
            "memory_desc_create_with_tag")
        return cls(lib, h)

    def __del__(self):
        try:
            self.lib.memory_desc_destroy(self.handle)
        except Exception:  # interpreter shutdown  # pragma: no cover
            pass


class Primitive:
    """A primitive made from a primitive descriptor ``pd`` (which it then owns, with
    the memory descriptors queried from it)."""

    def __init__(self, lib, pd, what):
        self.lib, self.pd, self.what = lib, pd, what
        self.handle = P()
        lib.check(lib.primitive_create(ctypes.byref(self.handle), pd),
                  f"primitive_create ({what})")
        self.impl = implementation(lib, pd)

    def md(self, query):
        """A memory descriptor of the primitive (owned by its descriptor)."""
        return P(self.lib.primitive_desc_query_md(self.pd, query, 0))

    def execute(self, args):
        """Run with ``args``: {DNNL_ARG_*: (memory descriptor, data pointer)}; the memory
        objects wrap the callers' buffers for this one call."""
        lib = self.lib
        mems = []
        with _execute_lock:  # one stream, used from one thread at a time
            try:
                for arg, (md, pointer) in args.items():
                    m = P()
                    lib.check(lib.memory_create(ctypes.byref(m), md, lib.engine,
                                                P(pointer)), "memory_create")
                    mems.append((arg, m))
                exec_args = (_ExecArg * len(mems))(*[_ExecArg(a, m) for a, m in mems])
                lib.check(lib.primitive_execute(self.handle, lib.stream, len(mems),
                                                exec_args), f"execute ({self.what})")
                lib.check(lib.stream_wait(lib.stream), "stream_wait")
            finally:
                for _, m in mems:
                    lib.memory_destroy(m)

    def __del__(self):
        try:
            self.lib.primitive_destroy(self.handle)
            self.lib.primitive_desc_destroy(self.pd)
        except Exception:  # interpreter shutdown  # pragma: no cover
            pass


_execute_lock = threading.Lock()


def implementation(lib, pd):
    """The name of the kernel oneDNN picked for ``pd`` ('brgconv:avx2', 'ref:any')."""
    name = ctypes.c_char_p()
    lib.primitive_desc_query(pd, QUERY_IMPL_INFO_STR, 0, ctypes.byref(name))
    return (name.value or b"?").decode()


def _pd(lib, create, what, *args):
    pd = P()
    lib.check(create(ctypes.byref(pd), *args), f"{what} primitive_desc_create")
    return pd


def _pd_or_none(lib, create, *args):
    """A primitive descriptor, or None where oneDNN has no implementation for it."""
    pd = P()
    return pd if create(ctypes.byref(pd), *args) == SUCCESS else None


def _reorder(lib, src_md, dst_md):
    pd = _pd(lib, lib.reorder_primitive_desc_create, "reorder", src_md, lib.engine,
             dst_md, lib.engine, None)
    return Primitive(lib, pd, "reorder")


def _aligned_empty(nbytes):
    """A float32 buffer of at least ``nbytes``, 64-byte aligned (oneDNN's blocked
    layouts are read with whole cache lines)."""
    raw = np.empty(nbytes // 4 + 16, np.float32)
    start = (-raw.ctypes.data % 64) // 4
    return raw[start:start + nbytes // 4]


def _ptr(a):
    return a.ctypes.data


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


class Unsupported(Exception):
    """oneDNN has no usable implementation for a geometry (only its reference kernel)."""


def _choose(lib, make_pd, x_query, x_bytes):
    """The primitive descriptor of the first candidate whose implementation is a direct
    kernel (not the reference kernel, not im2col + gemm); else the first gemm one; else
    None. The reference kernels are 100-1000x slower than the NumPy path, and where
    oneDNN has both, its direct kernels beat its gemm ones several times over -- except
    on an input with few channels in a blocked layout (``x_query``'s descriptor more
    than twice the ``x_bytes`` of the plain array), whose channels are padded to the
    block size (1 to 16): such candidates are skipped."""
    gemm = None
    for x_format, y_format in CANDIDATES:
        pd = make_pd(x_format, y_format)
        if pd is None:
            continue
        impl = implementation(lib, pd)
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
                 groups):
        n, c, h, wd = x_shape
        o, cg, kh, kw = w_shape
        oh = (h + sum(pads[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        ow = (wd + sum(pads[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        self.lib, self.x_layout = lib, x_layout
        self.x_shape, self.y_shape, self.w_shape = x_shape, (n, o, oh, ow), w_shape
        # oneDNN's grouped weights are 5-D (G, O/G, C/G, kh, kw): the same memory
        w_dims = w_shape if groups == 1 else (groups, o // groups, cg, kh, kw)
        geometry = (Dims(*stride), Dims(dilation[0] - 1, dilation[1] - 1),
                    Dims(pads[0][0], pads[1][0]), Dims(pads[0][1], pads[1][1]))
        self._mds, self._conversions, self._lock = {}, {}, threading.Lock()
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
        forward_pd = _choose(lib, forward, QUERY_SRC_MD, x_bytes)
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

        self._backward_pds = (_choose(lib, backward_data, QUERY_DIFF_SRC_MD, x_bytes),
                              _choose(lib, backward_weights, QUERY_SRC_MD, x_bytes))
        if None in self._backward_pds:
            for pd in self._backward_pds:
                if pd is not None:
                    lib.primitive_desc_destroy(pd)
            raise Unsupported("no oneDNN backward kernel but the reference one")
        self.backward_data = self.backward_weights = None

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
            self._conversions[key] = (None if self._equal(src, dst)
                                      else _reorder(self.lib, _handle(src), _handle(dst)))
        return self._conversions[key]

    def _give(self, key, array, user, wanted):
        """``array`` (descriptor ``user``) as the primitive wants it (``wanted``): itself,
        or reordered into a new buffer."""
        reorder = self._conversion(key, user, wanted)
        if reorder is None:
            return array
        buffer = _aligned_empty(self.lib.memory_desc_get_size(wanted))
        reorder.execute({ARG_FROM: (_handle(user), _ptr(array)),
                         ARG_TO: (wanted, _ptr(buffer))})
        return buffer

    def _take(self, key, made, out, wanted):
        """Run ``made(buffer)``, the primitive writing an output of descriptor ``made``'s
        into ``buffer``; that is ``out`` (the user's array, descriptor ``wanted``)
        itself when the layouts agree, else a buffer reordered into ``out``."""
        md, run = made
        reorder = self._conversion(key, md, wanted)
        buffer = out if reorder is None else _aligned_empty(
            self.lib.memory_desc_get_size(md))
        run(buffer)
        if reorder is not None:
            reorder.execute({ARG_FROM: (md, _ptr(buffer)), ARG_TO: (_handle(wanted),
                                                                    _ptr(out))})
        return out

    # -- the three passes

    def run_forward(self, x, w, b):
        """y (N, O, OH, OW) stored in ``y_layout``, and what backward may reuse: the input
        and the weight as the forward primitive read them."""
        f = self.forward
        src, weights, dst = (f.md(q) for q in (QUERY_SRC_MD, QUERY_WEIGHTS_MD,
                                                QUERY_DST_MD))
        xs = self._give("forward x", x, self.user_md("x", self.x_layout), src)
        ws = self._give("forward w", w, self.w_md, weights)
        args = {ARG_SRC: (src, _ptr(xs)), ARG_WEIGHTS: (weights, _ptr(ws))}
        if b is not None:
            args[ARG_BIAS] = (self.b_md.handle, _ptr(b))

        def run(buffer):
            f.execute({**args, ARG_DST: (dst, _ptr(buffer))})

        y = self._take("forward y", (dst, run), empty(self.y_shape, self.y_layout),
                       self.user_md("y", self.y_layout))
        return y, {"x": (src, xs), "w": (weights, ws)}

    def _make_backward(self):
        with self._lock:
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
                d.execute({ARG_DIFF_DST: (diff_dst, _ptr(gys)),
                           ARG_WEIGHTS: (weights, _ptr(ws)),
                           ARG_DIFF_SRC: (diff_src, _ptr(buffer))})

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
            args = {ARG_SRC: (src, _ptr(xs)), ARG_DIFF_DST: (diff_dst, _ptr(gys))}
            if self.b_md is not None:
                gb = np.empty(self.w_shape[0], np.float32)
                args[ARG_DIFF_BIAS] = (self.b_md.handle, _ptr(gb))

            def run(buffer):
                bw.execute({**args, ARG_DIFF_WEIGHTS: (diff_weights, _ptr(buffer))})

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


PLAN_CACHE_SIZE = 64
"""How many convolution geometries keep their primitives (the least recently used go)."""

_plans = OrderedDict()


def conv_plan(x_shape, x_layout, w_shape, has_bias, stride, pads, dilation, groups):
    """The cached :class:`ConvPlan` of a geometry, made on first use; None where oneDNN
    cannot run it well (remembered too)."""
    key = (tuple(x_shape), x_layout, tuple(w_shape), bool(has_bias), tuple(stride),
           tuple(map(tuple, pads)), tuple(dilation), groups, "float32")
    with _state["lock"]:
        if key in _plans:
            _plans.move_to_end(key)
            return _plans[key]
    try:
        plan = ConvPlan(library(), *key[:-1])
    except Unsupported:
        plan = None
    with _state["lock"]:
        plan = _plans.setdefault(key, plan)
        _plans.move_to_end(key)
        while len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    return plan
