"""oneDNN's primitives through ctypes (optional: the ``onednn`` extra): convolutions and
matrix products.

The wheel ``onednn-cpu-gomp`` ships ``libdnnl.so.3`` (oneDNN 3.2, OpenMP threads) with
its plain C API and no headers and no Python bindings: the few functions and constants
used here are declared below, as the C header declares them. Loaded on first use
(:func:`library`), never at ``import deepgrad``; ``DEEPGRAD_ONEDNN=0`` (or
``DEEPGRAD_COMPILED=0``, the switch of every accelerated layer) leaves it unloaded, and
a missing or broken library leaves :func:`library` None and :func:`unavailable_reason`
saying why.

The matrix products' plans are in ``_onednn_matmul.py``; the convolution's in
``_onednn_conv.py``: a ConvPlan holds the primitives of one convolution geometry, made
once and kept in an LRU cache (``conv_plan``): forward, backward data and backward
weights (the last two made with the forward one as hint, and created on the first
backward), plus the reorders between the user's plain arrays and the layouts oneDNN
asks for. Each plan says how much work it does (:func:`plan_for`): a small one is made
and run on the calling thread alone (:data:`ONE_THREAD_BELOW`), a large one on
OpenMP's threads; its primitives bind their memory objects once and are then run on
the callers' buffers (:meth:`Primitive.arguments`, :meth:`Primitive.run`).
Weights are always given as format "any" (oneDNN picks its blocked layout and we
reorder into it); activations are first offered in the user's memory order (NCHW or
NHWC), then in layouts oneDNN picks (``CANDIDATES``, ``_choose``).

Traps of the C API: pointers the library returns (the memory descriptors of a
primitive descriptor) must be declared ``c_void_p`` -- ctypes' default ``int`` cuts
them to 32 bits and the process segfaults; the backward-data primitive must be created
with weights of format "any" too, else oneDNN quietly takes its reference kernel, about
1000x slower; so does any mix of plain layouts (an NCHW source with an NHWC
destination) and an NHWC source of one channel: :func:`implementation` tells which
kernel was picked. Plain layouts are described by strides, not format tags, whose
numbering changed between versions; ``DNNL_ARG_BIAS`` is 41 in oneDNN 3.
"""
import contextlib
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


RUNTIME_SEQUENTIAL, RUNTIME_OPENMP = 1, 2  # dnnl_version_t.cpu_runtime (DNNL_RUNTIME_*)


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
    "dnnl_memory_set_data_handle": (ctypes.c_int, [P, P]),
    "dnnl_convolution_forward_primitive_desc_create": (
        ctypes.c_int, [_PP, P, ctypes.c_int, ctypes.c_int, P, P, P, P, Dims, Dims, Dims,
                       Dims, P]),
    "dnnl_convolution_backward_data_primitive_desc_create": (
        ctypes.c_int, [_PP, P, ctypes.c_int, P, P, P, Dims, Dims, Dims, Dims, P, P]),
    "dnnl_convolution_backward_weights_primitive_desc_create": (
        ctypes.c_int, [_PP, P, ctypes.c_int, P, P, P, P, Dims, Dims, Dims, Dims, P, P]),
    "dnnl_matmul_primitive_desc_create": (ctypes.c_int, [_PP, P, P, P, P, P, P]),
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
        # On the sequential and OpenMP runtimes (the wheel's) a CPU primitive has finished
        # when execute returns, and the stream's wait does nothing; a threadpool's may not.
        self.waits = v.cpu_runtime not in (RUNTIME_SEQUENTIAL, RUNTIME_OPENMP)
        self.engine, self.stream = P(), P()
        self.check(self.engine_create(ctypes.byref(self.engine), CPU, 0), "engine_create")
        self.check(self.stream_create(ctypes.byref(self.stream), self.engine,
                                      STREAM_IN_ORDER), "stream_create")
        # the OpenMP runtime libdnnl runs on (dlsym searches its dependencies)
        self.get_threads, self.set_threads = dll.omp_get_max_threads, dll.omp_set_num_threads
        self.get_threads.restype, self.get_threads.argtypes = ctypes.c_int, []
        self.set_threads.restype, self.set_threads.argtypes = None, [ctypes.c_int]

    @contextlib.contextmanager
    def threads(self, n):
        """A ``with`` block in which oneDNN runs on ``n`` threads (the calling thread's
        OpenMP setting, restored after)."""
        before = self.get_threads()
        self.set_threads(n)
        try:
            yield
        finally:
            self.set_threads(before)

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
        _state["library"] = Library(path)
    except (OSError, AttributeError, OneDNNError) as err:  # missing, old or broken
        _state["reason"] = str(err) if isinstance(err, OSError) else repr(err)
        _state["library"] = False


def unavailable_reason():
    """Why oneDNN is not used here, or None when it is (loads it to find out)."""
    return None if library() else _state["reason"]


_plans = OrderedDict()  # the plans of _onednn_conv.py and _onednn_matmul.py, an LRU cache
PLAN_CACHE_SIZE = 96
"""How many geometries (convolutions, matrix products) keep their primitives (the least
recently used go)."""


class Unsupported(Exception):
    """oneDNN has no usable implementation for a geometry (only its reference kernel)."""


def plan_for(key, make, work):
    """The cached plan of ``key``, made by ``make(library)`` on first use; None where
    oneDNN is unavailable or has no usable kernel (see :func:`cached_plan`). ``work()``
    (multiply-adds, or elements for a pass over memory; asked only when the plan is
    made) sets its threads (:func:`threads_for`)."""
    try:  # a plan made before: the hot path of every small op, without the lock
        plan = _plans[key]  # (a dict's reads and move_to_end are atomic)
        _plans.move_to_end(key)
        return plan
    except KeyError:  # not made yet, or dropped by another thread just now
        pass
    lib = library()
    if lib is None:
        return None

    def make_on_its_threads():
        with lib.threads(threads_for(lib, work())):
            return make(lib)

    return cached_plan(key, make_on_its_threads)


def seen_key(kind, arrays, given):
    """The key under which a plan is filed for calls of ``kind`` with these arrays (their
    shapes, strides and dtypes) and these arguments exactly as given, their types too
    (2 == 2.0 == True as dict keys); None where an array is not a NumPy one or an
    argument is not None, an int, a bool, a str or a pair of ints.

    A public function's checks depend on nothing else, so a call whose key was filed by
    one that passed them may skip them and its plan lookup: in LeNet-5's evaluation at
    batch 1 those cost more than oneDNN's kernels (BENCHMARKS.md)."""
    parts = [kind]
    for a in arrays:
        if a is None:
            parts.append(None)
        elif type(a) is np.ndarray:
            parts.append((a.shape, a.strides, a.dtype))
        else:
            return None
    for v in given:
        t = type(v)
        if not (v is None or t is int or t is bool or t is str or (
                t is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int)):
            return None
    return (*parts, tuple([type(v) for v in given]), given)


def seen_plan(key):
    """The plan filed under ``key`` (from :func:`seen_key`), or None."""
    return None if key is None else _plans.get(key)


def file_seen(key, plan):
    """File ``plan`` (or what an op needs besides it) under ``key``, in the plan cache:
    :func:`reset` forgets it."""
    if key is not None and plan is not None:
        cached_plan(key, lambda: plan)


ONE_THREAD_BELOW = 1 << 20
"""Work (multiply-adds, or elements for a pass over memory) below which a primitive runs
on the calling thread alone. Waking OpenMP's other threads for a small op costs more
than they save, and afterwards they spin for a while on cores the next Python code
and NumPy calls need: LeNet's evaluation at batch 1 ran 1.5x faster on one thread
(BENCHMARKS.md)."""


def threads_for(lib, work):
    """The threads a primitive of ``work`` runs on: one below ``ONE_THREAD_BELOW``, else
    OpenMP's setting."""
    return 1 if work < ONE_THREAD_BELOW else lib.get_threads()


def cached_plan(key, make):
    """The plan cached under ``key``, made by ``make()`` on first use; None where
    ``make`` raised :class:`Unsupported` (remembered too, so it is asked once)."""
    with _state["lock"]:
        if key in _plans:
            _plans.move_to_end(key)
            return _plans[key]
    try:
        plan = make()
    except Unsupported:
        plan = None
    with _state["lock"]:
        plan = _plans.setdefault(key, plan)
        _plans.move_to_end(key)
        while len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    return plan


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
        # oneDNN sizes its kernels' work split for the threads at creation (make a plan
        # in a Library.threads block), and each call runs on the same number
        self.threads = lib.get_threads()
        self._mds = {}
        # (arg, descriptor) pairs -> (argument array, memory objects, the addresses
        # they were last given)
        self._bound = {}

    def md(self, query):
        """A memory descriptor of the primitive (owned by its descriptor, so asked once)."""
        md = self._mds.get(query)
        if md is None:
            md = self._mds[query] = P(self.lib.primitive_desc_query_md(self.pd, query, 0))
        return md

    def arguments(self, mds):
        """The memory objects of one set of arguments, ``{DNNL_ARG_*: memory descriptor}``,
        made on first use and kept (making and freeing them at each call was a third of
        a small convolution's time, BENCHMARKS.md); :meth:`run` takes them."""
        key = tuple([(arg, md if md.__class__ is int else md.value)
                     for arg, md in mds.items()])
        with _execute_lock:
            bound = self._bound.get(key)
            if bound is None:
                bound = self._bound[key] = self._bind(mds)
        return bound

    def run(self, bound, *pointers):
        """Run on the buffers at ``pointers``, one for each of ``bound``'s arguments (from
        :meth:`arguments`), in its order. Statuses are checked inline: this is the hot
        path of every small op."""
        lib = self.lib
        exec_args, memories, current = bound
        with _execute_lock:  # one stream, used from one thread at a time
            for i, pointer in enumerate(pointers):
                if pointer != current[i]:  # a weight's buffer stays: set it once
                    status = lib.memory_set_data_handle(memories[i], pointer)
                    if status:
                        lib.check(status, "memory_set_data_handle")
                    current[i] = pointer
            caller_threads = lib.get_threads()
            if caller_threads != self.threads:
                lib.set_threads(self.threads)
            status = lib.primitive_execute(self.handle, lib.stream, len(memories), exec_args)
            if caller_threads != self.threads:
                lib.set_threads(caller_threads)
            if status:
                lib.check(status, f"execute ({self.what})")
            if lib.waits:
                status = lib.stream_wait(lib.stream)
                if status:
                    lib.check(status, "stream_wait")

    def execute(self, args):
        """Run with ``args``: ``{DNNL_ARG_*: (memory descriptor, data pointer)}``."""
        self.run(self.arguments({arg: md for arg, (md, _) in args.items()}),
                 *[pointer for _, pointer in args.values()])

    def _bind(self, mds):
        """The memory objects (without buffers) and the argument array of a set of
        arguments."""
        lib, memories = self.lib, []
        for md in mds.values():
            m = P()
            lib.check(lib.memory_create(ctypes.byref(m), md, lib.engine, None),
                      "memory_create")
            memories.append(m)
        exec_args = (_ExecArg * len(memories))(
            *[_ExecArg(arg, m) for arg, m in zip(mds, memories)])
        return exec_args, memories, [None] * len(memories)  # the buffers' addresses

    def __del__(self):
        try:
            for _, memories, _ in self._bound.values():
                for m in memories:
                    self.lib.memory_destroy(m)
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


def declare(lib, signatures):
    """Give functions of the C API beyond ``_SIGNATURES`` ({name: argtypes}, returning a
    status) their types, where a plan of one kind needs them."""
    for name, argtypes in signatures.items():
        fn = getattr(lib.dll, name)
        fn.restype, fn.argtypes = ctypes.c_int, argtypes


def fast_primitive(lib, pd, what):
    """The primitive of the descriptor ``pd``; :class:`Unsupported` where there is none
    (``pd`` None: no kernel for these arrays) or oneDNN picked its slow reference kernel."""
    if pd is None:
        raise Unsupported(f"no oneDNN {what} for these arrays")
    primitive = Primitive(lib, pd, what)
    if primitive.impl.startswith("ref"):
        raise Unsupported(f"only oneDNN's reference {what}")
    return primitive


def _reorder(lib, src_md, dst_md):
    pd = _pd(lib, lib.reorder_primitive_desc_create, "reorder", src_md, lib.engine,
             dst_md, lib.engine, None)
    return Primitive(lib, pd, "reorder")


def _aligned_empty(nbytes):
    """A float32 buffer of at least ``nbytes``, 64-byte aligned (oneDNN's blocked
    layouts are read with whole cache lines)."""
    raw = np.empty(nbytes // 4 + 16, np.float32)
    start = (-address(raw) % 64) // 4
    return raw[start:start + nbytes // 4]


def address(a):
    """The address of ``a``'s first element. ``a.ctypes.data`` makes a helper object
    (about 1 us); a writable C-contiguous array's buffer gives it in a third of that
    (asking ``a.flags`` first cost half as much again)."""
    try:
        return ctypes.addressof(_Byte.from_buffer(a))
    except (TypeError, ValueError):  # strided, read-only or empty: no such buffer
        return a.ctypes.data


_Byte = ctypes.c_char

