"""The new public surface, fuzzed against PyTorch (issue 24): one table of bad calls.

Every row calls the same code on ``deepgrad`` and on ``torch`` (2.13): a factory, a
Tensor method, an ``nn`` layer's constructor or forward, or a DataLoader, with wrong
types, wrong shapes, negative or huge sizes, NaN/inf, empty tensors or mismatched
dtypes. Each answer of deepgrad must be

* PyTorch's answer: the same value (shape, dtype and values, NaN where PyTorch has NaN;
  shape and dtype only for random results), or an exception where PyTorch raises one;
* or, where PyTorch answers and deepgrad is stricter, a ValueError or TypeError;

and every exception deepgrad raises must be of an ordinary kind (ValueError, TypeError,
IndexError, RuntimeError, MemoryError and their subclasses), raised by deepgrad's own
code rather than from inside NumPy with NumPy's message, with a message naming the
function (the row's ``who``) and, for a ValueError/TypeError that PyTorch would not
raise, the argument (``arg``). A row also fails on a hang (5 s per call) or a
non-ordinary exception (AttributeError, KeyError, ...).

Rows marked ``only_deepgrad`` (LocallyConnected2d, deepgrad's own DataLoader
arguments) have no PyTorch twin: deepgrad must refuse them cleanly. The whole table
runs in a few seconds.
"""
import math
import signal
import traceback
import types

import numpy as np
import pytest
import torch
import torch.utils.data

import deepgrad as dg
import deepgrad.data

NAN, INF = float("nan"), float("inf")
ORDINARY = (ValueError, TypeError, IndexError, RuntimeError, MemoryError)
DTYPE_NAMES = ("a dtype's name ('float32') is NumPy's spelling, accepted as an alias "
               "(DESIGN.md: where a NumPy spelling is accepted too, it is an alias)")


class _Torch(types.SimpleNamespace):
    """torch, with ``torch.utils.data`` as ``.data`` (deepgrad's spelling)."""

    def __getattr__(self, name):
        return getattr(torch, name)


DG, TORCH = dg, _Torch(data=torch.utils.data)


class Row:
    def __init__(self, name, who, call, arg=None, random=False, only_deepgrad=False,
                 lenient=None, expect="error"):
        self.name, self.who, self.call, self.arg = name, who, call, arg
        self.random, self.only_deepgrad = random, only_deepgrad
        self.lenient = lenient  # why deepgrad knowingly answers where PyTorch raises
        self.expect = expect  # for only_deepgrad rows: "error" or "value"

    def __repr__(self):
        return self.name


TABLE = []


def row(name, who, call, **options):
    TABLE.append(Row(name, who, call, **options))


def x23(L, dtype=None):
    """[[0, 1, 2], [3, 4, 5]] as float32 (or ``dtype``)."""
    return L.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], dtype=dtype or L.float32)


def empty(L, *shape):
    return L.zeros(*shape)


# -- factories --------------------------------------------------------------------------

for fn in ("zeros", "ones", "empty", "rand", "randn"):
    random = fn in ("empty", "rand", "randn")  # values not compared (empty: PyTorch's
    # memory is uninitialised, deepgrad's zeros)
    for label, args, kwargs in [
        ("valid", (2, 3), {}), ("a tuple", ((2, 3),), {}), ("a list", ([2, 3],), {}),
        ("size=", (), {"size": (2,)}), ("zero", (0,), {}), ("scalar", ((),), {}),
        ("negative", (-1,), {}), ("negative second", (2, -3), {}), ("float", (2.5,), {}),
        ("string", ("3",), {}), ("None", (None,), {}), ("NaN", (NAN,), {}),
        ("nested", ((2, (3,)),), {}), ("numpy int", (np.int64(2),), {}),
        ("overflowing", (2 ** 62, 2 ** 62), {}), ("past int64", (2 ** 64,), {}),
        ("too large to allocate", (2 ** 45,), {}), ("float64", (2,), {"dtype": "f64"}),
        ("int64", (2,), {"dtype": "i64"}), ("string dtype", (2,), {"dtype": "float32"}),
        ("dtype a number", (2,), {"dtype": 3}), ("requires_grad on int", (2,),
                                                 {"dtype": "i64", "requires_grad": True}),
    ]:
        def call(L, fn=fn, args=args, kwargs=kwargs):
            kwargs = dict(kwargs)
            if kwargs.get("dtype") in ("f64", "i64"):
                kwargs["dtype"] = L.float64 if kwargs["dtype"] == "f64" else L.int64
            return getattr(L, fn)(*args, **kwargs)
        if fn in ("rand", "randn") and label in ("int64", "requires_grad on int"):
            continue  # PyTorch has no integer normal or uniform samples; refused below
        row(f"{fn} {label}", fn, call, arg=("size", "dtype"), random=random,
            lenient=DTYPE_NAMES if label == "string dtype" else None)

row("rand int64", "rand", lambda L: L.rand(2, dtype=L.int64), arg="dtype")
row("randn int64", "randn", lambda L: L.randn(2, dtype=L.int64), arg="dtype")

for label, args in [("valid", ((2, 2), 1.5)), ("NaN", ((2,), NAN)), ("inf", ((2,), -INF)),
                    ("int", ((2,), 3)), ("bool", ((2,), True)), ("string", ((2,), "x")),
                    ("None", ((2,), None)), ("list value", ((2,), [1, 2])),
                    ("negative size", (-1, 1.0)), ("size a float", (2.5, 1.0)),
                    ("empty", ((0, 2), 1.0)), ("tensor value", ((2,), "T"))]:
    def call(L, args=args):
        size, value = args
        return L.full(size, L.tensor(2.0) if value == "T" else value)
    row(f"full {label}", "full", call, arg=("size", "fill_value"))
row("full float into int", "full", lambda L: L.full((2,), 1.7, dtype=L.int64))
row("full huge into int8", "full", lambda L: L.full((2,), 1000, dtype=L.int8),
    arg="fill_value")

for fn in ("zeros_like", "ones_like", "rand_like", "randn_like", "empty_like"):
    row(f"{fn} of a list", fn, lambda L, fn=fn: getattr(L, fn)([1.0, 2.0]), arg="input")
    row(f"{fn} of None", fn, lambda L, fn=fn: getattr(L, fn)(None), arg="input")
    row(f"{fn} of an empty tensor", fn, lambda L, fn=fn: getattr(L, fn)(L.zeros(0, 3)),
        random=True)
row("full_like of a number", "full_like", lambda L: L.full_like(3.0, 1.0), arg="input")
row("full_like NaN", "full_like", lambda L: L.full_like(x23(L), NAN))

for label, args, kwargs in [
    ("valid", (5,), {}), ("start end step", (1, 10, 3), {}), ("float step", (0, 1, 0.25), {}),
    ("negative step", (5, 0, -1), {}), ("empty", (5, 0), {}), ("zero step", (0, 5, 0), {}),
    ("NaN end", (NAN,), {}), ("inf end", (0, INF), {}), ("NaN step", (0, 5, NAN), {}),
    ("string", ("5",), {}), ("None", (None,), {}), ("wrong direction", (0, 5, -1), {}),
    ("huge", (2 ** 60,), {}), ("tensor bound", ("T",), {}), ("float64", (3,),
                                                             {"dtype": "f64"}),
    ("bool end", (True,), {}), ("complex", (1j,), {}),
]:
    def call(L, args=args, kwargs=kwargs):
        args = tuple(L.tensor(4) if a == "T" else a for a in args)
        kwargs = {k: L.float64 for k in kwargs}
        return L.arange(*args, **kwargs)
    row(f"arange {label}", "arange", call, arg=("start", "end", "step"))

for label, args in [("valid", (0, 1, 5)), ("one step", (0, 1, 1)), ("zero steps", (0, 1, 0)),
                    ("negative steps", (0, 1, -1)), ("float steps", (0, 1, 2.5)),
                    ("string steps", (0, 1, "3")), ("NaN start", (NAN, 1, 3)),
                    ("inf end", (0, INF, 3)), ("inf both", (-INF, INF, 3)),
                    ("string start", ("a", 1, 3)), ("None end", (0, None, 3)),
                    ("tensor start", ("T", 1, 3)), ("reversed", (1, 0, 4)),
                    ("huge steps", (0, 1, 2 ** 62))]:
    def call(L, args=args):
        return L.linspace(*(L.tensor(0.5) if a == "T" else a for a in args))
    row(f"linspace {label}", "linspace", call, arg=("start", "end", "steps"))

for label, args, kwargs in [
    ("valid", (0, 10, (3,)), {}), ("high only", (10, (2, 2)), {}),
    ("empty range", (10, 0, (2,)), {}), ("equal bounds", (3, 3, (2,)), {}),
    ("negative size", (0, 10, (-1,)), {}), ("size an int", (0, 10, 3), {}),
    ("float high", (0, 10.5, (2,)), {}), ("NaN high", (0, NAN, (2,)), {}),
    ("string high", (0, "9", (2,)), {}), ("missing size", (10,), {}),
    ("float dtype", (0, 10, (2,)), {"dtype": "f64"}), ("huge range", (0, 2 ** 63, (2,)), {}),
    ("past int64", (0, 2 ** 64, (2,)), {}), ("negative low", (-5, 5, (3,)), {}),
]:
    def call(L, args=args, kwargs=kwargs):
        kwargs = {k: L.float64 for k in kwargs}
        return L.randint(*args, **kwargs)
    row(f"randint {label}", "randint", call, arg=("low", "high", "size"), random=True)

for label, n in [("valid", 5), ("zero", 0), ("negative", -1), ("float", 2.5),
                 ("string", "3"), ("None", None), ("huge", 2 ** 62)]:
    row(f"randperm {label}", "randperm", lambda L, n=n: L.randperm(n), arg="n", random=True)

for label, args in [("valid", (3,)), ("rectangular", (2, 3)), ("zero", (0,)),
                    ("negative", (-1,)), ("negative m", (3, -1)), ("float", (2.5,)),
                    ("string", ("3",)), ("None", (None,)), ("huge", (2 ** 40,))]:
    row(f"eye {label}", "eye", lambda L, args=args: L.eye(*args), arg=("n", "m"))

for label, data, kwargs in [
    ("a string", "abc", {}), ("list with a string", [1, "a"], {}),
    ("ragged", [[1, 2], [3]], {}), ("None", None, {}), ("empty list", [], {}),
    ("NaN", NAN, {}), ("inf list", [INF, -INF], {}), ("dict", {1: 2}, {}),
    ("object", object(), {}), ("bool and int", [True, 2], {}), ("int past int64", 2 ** 70, {}),
    ("int requiring grad", [1, 2], {"requires_grad": True}),
    ("string dtype", [1.0], {"dtype": "float32"}), ("nested empty", [[], []], {}),
    ("complex", [1 + 2j], {}), ("numpy object array", np.array([1, None], dtype=object), {}),
    ("bytes", b"ab", {}), ("set", {1, 2}, {}),
]:
    row(f"tensor {label}", "tensor", lambda L, data=data, kwargs=kwargs: L.tensor(data, **kwargs),
        arg="data", lenient=DTYPE_NAMES if label == "string dtype" else None)


# -- Tensor methods ---------------------------------------------------------------------

def method(name, who, fn, **options):
    row(name, who, fn, **options)


for label, shape in [("valid", (3, 2)), ("-1", (-1,)), ("-1 and 3", (-1, 3)),
                     ("no fit", (-1, 4)), ("two -1", (-1, -1)), ("-2", (-2, 3)),
                     ("float", (2.5,)), ("string", ("6",)), ("zero", (0, -1)),
                     ("too many", (7,)), ("tuple", ((3, 2),)), ("None", (None,))]:
    for fn in ("view", "reshape"):
        method(f"{fn} {label}", fn, lambda L, fn=fn, shape=shape:
               getattr(x23(L), fn)(*shape), arg="shape")
method("view of an empty tensor as -1", "view", lambda L: empty(L, 0, 3).view(-1))
method("view of an empty tensor as (-1, 0)", "view", lambda L: empty(L, 0, 3).view(-1, 0))
method("reshape of an empty tensor as (0, -1)", "reshape",
       lambda L: empty(L, 0, 3).reshape(0, -1))

for fn in ("sum", "mean", "std", "var", "amax", "amin", "logsumexp", "softmax",
           "log_softmax", "cumsum", "argmax", "argmin", "norm"):
    needs_dim = fn in ("logsumexp", "softmax", "log_softmax", "cumsum", "amax", "amin")
    for label, kwargs in [("dim 2", {"dim": 2}), ("dim -3", {"dim": -3}),
                          ("dim float", {"dim": 1.5}), ("dim string", {"dim": "a"}),
                          ("dim None", {"dim": None}), ("dim 1", {"dim": 1}),
                          ("dims repeated", {"dim": (0, 0)}), ("dims", {"dim": (0, 1)}),
                          ("dims out of range", {"dim": (0, 5)})]:
        if needs_dim and label == "dim None" and fn not in ("amax", "amin"):
            continue
        method(f"{fn} {label}", fn, lambda L, fn=fn, kwargs=kwargs:
               getattr(x23(L), fn)(**kwargs), arg="dim")
    if not needs_dim or fn in ("amax", "amin"):
        method(f"{fn} of an empty tensor", fn, lambda L, fn=fn: getattr(empty(L, 0, 3), fn)())
    method(f"{fn} of an empty tensor along dim 0", fn,
           lambda L, fn=fn: getattr(empty(L, 0, 3), fn)(dim=0))
    method(f"{fn} of an empty tensor along dim 1", fn,
           lambda L, fn=fn: getattr(empty(L, 0, 3), fn)(dim=1))
    method(f"{fn} with NaN and inf", fn, lambda L, fn=fn: getattr(
        L.tensor([[NAN, 1.0, INF], [-INF, 2.0, 3.0]]), fn)(**({"dim": 1} if needs_dim else {})))
for fn in ("mean", "std", "var", "softmax", "log_softmax", "logsumexp", "norm"):
    method(f"{fn} of an int tensor", fn, lambda L, fn=fn: getattr(L.arange(6), fn)(
        **({"dim": 0} if fn in ("softmax", "log_softmax", "logsumexp") else {})), arg="dtype")
method("sum keepdim string", "sum", lambda L: x23(L).sum(dim=1, keepdim="yes"), arg="keepdim")
method("sum of bool", "sum", lambda L: L.tensor([True, True, False]).sum())
method("sum dtype", "sum", lambda L: x23(L).sum(dtype=L.float64))
method("std correction 2", "std", lambda L: x23(L).std(dim=1, correction=2))
method("var of one element", "var", lambda L: L.tensor([1.0]).var())
method("var correction larger than n", "var", lambda L: x23(L).var(dim=0, correction=5))

for fn in ("max", "min"):
    method(f"{fn} all", fn, lambda L, fn=fn: getattr(x23(L), fn)())
    method(f"{fn} dim 1", fn, lambda L, fn=fn: tuple(getattr(x23(L), fn)(dim=1)))
    method(f"{fn} dim 2", fn, lambda L, fn=fn: getattr(x23(L), fn)(dim=2), arg="dim")
    method(f"{fn} dim float", fn, lambda L, fn=fn: getattr(x23(L), fn)(dim=0.5), arg="dim")
    method(f"{fn} of empty", fn, lambda L, fn=fn: getattr(empty(L, 0), fn)())
    method(f"{fn} of empty along 1", fn, lambda L, fn=fn: tuple(getattr(empty(L, 2, 0), fn)(1)))
    method(f"{fn} of empty along 0", fn, lambda L, fn=fn: tuple(getattr(empty(L, 0, 2), fn)(1)))
    method(f"{fn} with NaN", fn, lambda L, fn=fn: tuple(getattr(
        L.tensor([[1.0, NAN], [2.0, 3.0]]), fn)(dim=1)))
    method(f"{fn} of another tensor", fn, lambda L, fn=fn: getattr(x23(L), fn)(x23(L) * 0 + 2))
    method(f"{fn} of another shape", fn, lambda L, fn=fn: getattr(x23(L), fn)(L.ones(4)))
for fn in ("argmax", "argmin"):
    method(f"{fn} of empty", fn, lambda L, fn=fn: getattr(empty(L, 0), fn)())
    method(f"{fn} with NaN", fn, lambda L, fn=fn: getattr(L.tensor([1.0, NAN, 3.0]), fn)())

GATHER = [("valid", 1, [[0, 0], [1, 2]]), ("index too large", 1, [[0, 3]]),
          ("negative index", 1, [[-1, 0]]), ("dim 2", 2, [[0]]), ("dim -3", -3, [[0]]),
          ("index float", 1, "float"), ("index 1-D", 1, [0, 1]),
          ("index larger than input", 1, [[0, 1, 2, 0], [0, 0, 0, 0], [1, 1, 1, 1]]),
          ("empty index", 1, "empty"), ("index a list", 1, "list"),
          ("dim a float", 1.0, [[0]]), ("int32 index", 1, "int32")]
for label, dim, index in GATHER:
    def call(L, dim=dim, index=index):
        if index == "float":
            idx = L.tensor([[0.0, 1.0]])
        elif index == "empty":
            idx = L.zeros(2, 0, dtype=L.int64)
        elif index == "list":
            idx = [[0, 1]]
        elif index == "int32":
            idx = L.tensor([[0, 1]], dtype=L.int32)
        else:
            idx = L.tensor(index)
        return x23(L).gather(dim, idx)
    method(f"gather {label}", "gather", call, arg=("dim", "index"))

for label, dim, index in [("valid", 1, [2, 0]), ("out of range", 0, [5]),
                          ("negative", 0, [-1]), ("float index", 0, "float"),
                          ("2-D index", 0, [[0]]), ("dim 2", 2, [0]), ("a list", 0, "list"),
                          ("empty index", 1, "empty"), ("0-d index", 0, "scalar"),
                          ("dim a string", "0", [0]), ("bool index", 0, "bool")]:
    def call(L, dim=dim, index=index):
        idx = {"float": L.tensor([0.0]), "list": [0], "empty": L.zeros(0, dtype=L.int64),
               "scalar": L.tensor(1), "bool": L.tensor([True, False])}.get(
            index if isinstance(index, str) else None)
        if idx is None:
            idx = L.tensor(index)
        return x23(L).index_select(dim, idx)
    method(f"index_select {label}", "index_select", call, arg=("dim", "index"))

for label, args, kwargs in [("valid", (2,), {}), ("k = size", (3,), {}), ("k too large", (4,), {}),
                            ("k zero", (0,), {}), ("k negative", (-1,), {}),
                            ("k float", (2.5,), {}), ("k string", ("2",), {}),
                            ("dim 2", (1,), {"dim": 2}), ("dim 0", (2,), {"dim": 0}),
                            ("smallest", (2,), {"largest": False}),
                            ("largest a string", (2,), {"largest": "no"}),
                            ("k a tensor", ("T",), {})]:
    def call(L, args=args, kwargs=kwargs):
        args = tuple(L.tensor(2) if a == "T" else a for a in args)
        return tuple(x23(L).topk(*args, **kwargs))
    method(f"topk {label}", "topk", call, arg=("k", "dim", "largest"))
method("topk with NaN", "topk", lambda L: tuple(L.tensor([1.0, NAN, 3.0, 2.0]).topk(2)))
method("topk of empty", "topk", lambda L: tuple(empty(L, 0).topk(0)))
method("topk of empty k 1", "topk", lambda L: tuple(empty(L, 0).topk(1)))
method("topk of int", "topk", lambda L: tuple(L.tensor([3, 1, 2]).topk(2)))
method("sort with NaN", "sort", lambda L: tuple(L.tensor([3.0, NAN, 1.0, -INF]).sort()))
method("sort dim 3", "sort", lambda L: x23(L).sort(dim=3), arg="dim")
method("sort descending a string", "sort", lambda L: x23(L).sort(descending="yes"),
       arg="descending")
method("argsort with NaN", "argsort", lambda L: L.tensor([3.0, NAN, 1.0]).argsort())
method("sort descending with NaN and inf", "sort", lambda L: tuple(L.tensor(
    [[1.0, NAN, INF, 2.0, NAN], [NAN, -INF, 0.0, 0.0, 5.0]]).sort(dim=1, descending=True)))

for label, fn in [
    ("transpose dim 5", lambda L: x23(L).transpose(0, 5)),
    ("transpose float", lambda L: x23(L).transpose(0, 1.0)),
    ("permute repeated", lambda L: x23(L).permute(0, 0)),
    ("permute too few", lambda L: x23(L).permute(0)),
    ("permute out of range", lambda L: x23(L).permute(0, 2)),
    ("squeeze dim 5", lambda L: x23(L).squeeze(5)),
    ("unsqueeze dim 3", lambda L: x23(L).unsqueeze(3)),
    ("unsqueeze dim -4", lambda L: x23(L).unsqueeze(-4)),
    ("unsqueeze dim -3", lambda L: x23(L).unsqueeze(-3)),
    ("expand wrong", lambda L: x23(L).expand(3, 3)),
    ("expand -1", lambda L: x23(L).expand(-1, -1)),
    ("expand new leading", lambda L: x23(L).expand(2, 2, 3)),
    ("expand negative", lambda L: L.ones(1, 3).expand(-2, 3)),
    ("repeat negative", lambda L: x23(L).repeat(-1, 1)),
    ("repeat too few", lambda L: x23(L).repeat(2)),
    ("repeat zero", lambda L: x23(L).repeat(0, 2)),
    ("flatten reversed", lambda L: x23(L).flatten(1, 0)),
    ("flatten dim 5", lambda L: x23(L).flatten(0, 5)),
    ("split 0", lambda L: x23(L).split(0)),
    ("split negative", lambda L: x23(L).split(-1)),
    ("split sizes wrong", lambda L: x23(L).split([1, 1], dim=1)),
    ("chunk 0", lambda L: x23(L).chunk(0)),
    ("chunk negative", lambda L: x23(L).chunk(-1)),
    ("chunk more than size", lambda L: x23(L).chunk(5)),
    ("unflatten wrong", lambda L: x23(L).unflatten(1, (2, 2))),
    ("swapaxes dim 3", lambda L: x23(L).swapaxes(0, 3)),
    ("t of 3-D", lambda L: L.zeros(2, 2, 2).t()),
]:
    who = label.split()[0]
    if who == "swapaxes":  # NumPy's name of transpose (an alias)
        who = ("swapaxes", "transpose")
    method(label, who, fn, arg="dim" if "dim" in label else None)

for label, fn, who in [
    ("clamp NaN min", lambda L: x23(L).clamp(min=NAN), "clamp"),
    ("clamp min above max", lambda L: x23(L).clamp(min=3, max=1), "clamp"),
    ("clamp nothing", lambda L: x23(L).clamp(), "clamp"),
    ("clamp a string", lambda L: x23(L).clamp(min="0"), "clamp"),
    ("clamp NaN input", lambda L: L.tensor([NAN, 1.0]).clamp(0, 0.5), "clamp"),
    ("masked_fill int mask", lambda L: x23(L).masked_fill(L.ones(2, 3, dtype=L.int64), 0.0),
     "masked_fill"),
    ("masked_fill shape mismatch", lambda L: x23(L).masked_fill(
        L.ones(4, dtype=L.bool), 0.0), "masked_fill"),
    ("masked_fill NaN", lambda L: x23(L).masked_fill(x23(L) > 2, NAN), "masked_fill"),
    ("masked_fill a tensor value", lambda L: x23(L).masked_fill(
        x23(L) > 2, L.ones(2)), "masked_fill"),
    ("masked_fill a list mask", lambda L: x23(L).masked_fill([True], 0.0), "masked_fill"),
    ("pow NaN", lambda L: x23(L).pow(NAN), "pow"),
    ("pow a string", lambda L: x23(L).pow("2"), "pow"),
    ("pow negative int", lambda L: L.tensor([2, 3]).pow(-1), "pow"),
    ("item of many", lambda L: x23(L).item(), "item"),
    ("item of empty", lambda L: empty(L, 0).item(), "item"),
    ("tolist of empty", lambda L: empty(L, 0, 2).tolist(), "tolist"),
    ("matmul mismatched", lambda L: x23(L).matmul(x23(L)), "matmul"),
    ("matmul 0-d", lambda L: x23(L).matmul(L.tensor(2.0)), "matmul"),
    ("matmul empty inner", lambda L: L.zeros(2, 0).matmul(L.zeros(0, 3)), "matmul"),
    ("matmul dtypes", lambda L: x23(L).matmul(x23(L, L.float64).t()), "matmul"),
    ("matmul int and float", lambda L: L.ones(2, 2, dtype=L.int64).matmul(L.ones(2, 2)),
     "matmul"),
    ("mm 1-D", lambda L: x23(L).mm(L.ones(3)), "mm"),
    ("mm mismatched", lambda L: x23(L).mm(x23(L)), "mm"),
    ("bmm 2-D", lambda L: x23(L).bmm(x23(L)), "bmm"),
    ("bmm batch mismatch", lambda L: L.ones(2, 2, 3).bmm(L.ones(3, 3, 2)), "bmm"),
    ("dot 2-D", lambda L: x23(L).dot(x23(L)), "dot"),
    ("dot lengths", lambda L: L.ones(3).dot(L.ones(4)), "dot"),
    ("dot dtypes", lambda L: L.ones(3).dot(L.ones(3, dtype=L.float64)), "dot"),
    ("add shapes", lambda L: x23(L) + L.ones(4), "add"),
    ("add a string", lambda L: x23(L) + "a", "add"),
    ("add None", lambda L: x23(L) + None, "add"),
    ("mul a list", lambda L: x23(L) * [1.0, 2.0, 3.0], "mul"),
    ("add float64", lambda L: x23(L) + x23(L, L.float64), "add"),
    ("add int tensor", lambda L: x23(L) + L.ones(3, dtype=L.int64), "add"),
    ("divide by zero", lambda L: x23(L) / 0, "div"),
    ("int divided by zero", lambda L: L.tensor([1, 2]) / 0, "div"),
    ("floor divide int by zero", lambda L: L.tensor([1, 2]) // L.tensor([0, 1]), "floor"),
    ("remainder int by zero", lambda L: L.tensor([1, 2]) % L.tensor([0, 1]), "remainder"),
    ("sqrt of negative", lambda L: L.tensor([-1.0, 4.0]).sqrt(), "sqrt"),
    ("log of zero", lambda L: L.tensor([0.0, -1.0]).log(), "log"),
    ("sqrt of int", lambda L: L.tensor([4, 9]).sqrt(), "sqrt"),
    ("exp overflow", lambda L: L.tensor([100.0, 1000.0]).exp(), "exp"),
    ("sigmoid of int", lambda L: L.tensor([1, 2]).sigmoid(), "sigmoid"),
    ("to a bad device", lambda L: x23(L).to("teleport"), "to"),
    ("to a number", lambda L: x23(L).to(5), "to"),
    ("to a dtype", lambda L: x23(L).to(L.int64), "to"),
    ("type a bad name", lambda L: x23(L).type("foo"), "type"),
    ("cat empty list", lambda L: L.cat([]), "cat"),
    ("cat mismatched", lambda L: L.cat([x23(L), L.ones(2, 2)], dim=0), "cat"),
    ("cat dim 2", lambda L: L.cat([x23(L), x23(L)], dim=2), "cat"),
    ("cat dtypes", lambda L: L.cat([x23(L), x23(L, L.float64)]), "cat"),
    ("cat not tensors", lambda L: L.cat([[1.0], [2.0]]), "cat"),
    ("stack mismatched", lambda L: L.stack([x23(L), L.ones(3, 2)]), "stack"),
    ("stack empty", lambda L: L.stack([]), "stack"),
    ("stack dim 3", lambda L: L.stack([x23(L), x23(L)], dim=4), "stack"),
    ("where shapes", lambda L: L.where(x23(L) > 1, x23(L), L.ones(4)), "where"),
    ("where int condition", lambda L: L.where(L.ones(2, 3, dtype=L.int64), x23(L), 0.0),
     "where"),
    ("scatter out of range", lambda L: L.zeros(2, 3).scatter(1, L.tensor([[5]]), 1.0),
     "scatter"),
    ("scatter float index", lambda L: L.zeros(2, 3).scatter(1, L.tensor([[0.0]]), 1.0),
     "scatter"),
    ("equal shapes", lambda L: x23(L).equal(L.ones(4)), "equal"),
    ("allclose shapes", lambda L: x23(L).allclose(L.ones(4)), "allclose"),
    ("new_full negative", lambda L: x23(L).new_full((-1,), 1.0), "new_full"),
    ("new_zeros float size", lambda L: x23(L).new_zeros((2.5,)), "new_zeros"),
    ("fill_ NaN", lambda L: x23(L).fill_(NAN), "fill_"),
    ("fill_ a string", lambda L: x23(L).fill_("a"), "fill_"),
    ("size dim 5", lambda L: x23(L).size(5), "size"),
    ("abs of bool", lambda L: L.tensor([True]).abs(), "abs"),
    ("neg of bool", lambda L: L.tensor([True]).neg(), "neg"),
    ("round decimals", lambda L: L.tensor([1.2345]).round(decimals=2), "round"),
    ("cumsum of empty", lambda L: empty(L, 0).cumsum(0), "cumsum"),
]:
    method(label, who, fn)


# -- devices (this machine: no GPU in PyTorch's CPU build nor, here, for deepgrad) -----------

for label, fn, who in [
    ("zeros on an unknown device", lambda L: L.zeros(2, device="teleport"), "zeros"),
    ("tensor on an unknown device", lambda L: L.tensor([1.0], device="teleport"), "tensor"),
    ("to an unknown device", lambda L: x23(L).to("teleport"), "to"),
    ("to a device index", lambda L: x23(L).to("cpu:0"), "to"),
    ("randn on a device number", lambda L: L.randn(2, device=3.5), "randn"),
    ("Linear on an unknown device", lambda L: L.nn.Linear(2, 2, device="teleport"),
     "Linear"),
]:
    row(label, who, fn, arg="device", random=True)


# -- nn layers: constructors and forward ---------------------------------------------------

def layer(name, who, fn, **options):
    row(name, who, fn, **options)


BAD_SIZES = [("zero", 0), ("negative", -1), ("float", 2.5), ("string", "2"),
             ("None", None), ("bool", True), ("NaN", NAN), ("huge", 2 ** 40)]
for label, bad in BAD_SIZES:
    layer(f"Linear in_features {label}", "Linear", lambda L, b=bad: L.nn.Linear(b, 2),
          arg="in_features", random=True)
    layer(f"Linear out_features {label}", "Linear", lambda L, b=bad: L.nn.Linear(2, b),
          arg="out_features", random=True)
    layer(f"Conv2d in_channels {label}", "Conv2d", lambda L, b=bad: L.nn.Conv2d(b, 2, 3),
          arg="in_channels", random=True)
    layer(f"Conv2d out_channels {label}", "Conv2d", lambda L, b=bad: L.nn.Conv2d(2, b, 3),
          arg="out_channels", random=True)
    layer(f"Conv2d kernel_size {label}", "Conv2d", lambda L, b=bad: L.nn.Conv2d(2, 2, b),
          arg="kernel_size", random=True)
    layer(f"BatchNorm1d num_features {label}", "BatchNorm1d",
          lambda L, b=bad: L.nn.BatchNorm1d(b), arg="num_features", random=True)
    layer(f"BatchNorm2d num_features {label}", "BatchNorm2d",
          lambda L, b=bad: L.nn.BatchNorm2d(b), arg="num_features", random=True)
    layer(f"MaxPool2d kernel_size {label}", "MaxPool2d",
          lambda L, b=bad: L.nn.MaxPool2d(b)(L.ones(1, 1, 4, 4)), arg="kernel_size")
    layer(f"AvgPool2d kernel_size {label}", "AvgPool2d",
          lambda L, b=bad: L.nn.AvgPool2d(b)(L.ones(1, 1, 4, 4)), arg="kernel_size")
    if label != "huge":
        layer(f"LocallyConnected2d in_channels {label}", "LocallyConnected2d",
              lambda L, b=bad: dg.nn.LocallyConnected2d(b, 2, 4, 3), arg="in_channels",
              only_deepgrad=True)
        layer(f"LocallyConnected2d input_size {label}", "LocallyConnected2d",
              lambda L, b=bad: dg.nn.LocallyConnected2d(1, 2, b, 3), arg="input_size",
              only_deepgrad=True)
        layer(f"LocallyConnected2d kernel_size {label}", "LocallyConnected2d",
              lambda L, b=bad: dg.nn.LocallyConnected2d(1, 2, 4, b), arg="kernel_size",
              only_deepgrad=True)

for label, kwargs in [("stride 0", {"stride": 0}), ("stride -1", {"stride": -1}),
                      ("padding -1", {"padding": -1}), ("dilation 0", {"dilation": 0}),
                      ("groups 0", {"groups": 0}), ("groups not dividing", {"groups": 2}),
                      ("padding same stride 2", {"padding": "same", "stride": 2}),
                      ("padding a word", {"padding": "full"}),
                      ("padding_mode a word", {"padding_mode": "mirror"}),
                      ("kernel_size 3 numbers", {"kernel_size": (3, 3, 3)}),
                      ("kernel_size 1 number", {"kernel_size": (3,)}),
                      ("stride a float", {"stride": 1.5}), ("bias a string", {"bias": "no"})]:
    def call(L, kwargs=kwargs):
        kwargs = dict(kwargs)
        return L.nn.Conv2d(3, 4, kwargs.pop("kernel_size", 3), **kwargs)
    layer(f"Conv2d {label}", "Conv2d", call, arg=label.split()[0], random=True)
for label, kwargs in [("stride 0", {"stride": 0}), ("padding -1", {"padding": -1}),
                      ("padding 'same'", {"padding": "same"}), ("bias a string", {"bias": "no"}),
                      ("input_size 0", {"input_size": 0}),
                      ("kernel larger than input", {"kernel_size": 9})]:
    def call(L, kwargs=kwargs):
        kwargs = dict({"input_size": 8, "kernel_size": 3}, **kwargs)
        return dg.nn.LocallyConnected2d(2, 3, **kwargs)
    layer(f"LocallyConnected2d {label}", "LocallyConnected2d", call, arg=label.split()[0],
          only_deepgrad=True, expect="value" if label == "padding 'same'" else "error")

for pool in ("MaxPool2d", "AvgPool2d"):
    for label, kwargs in [("stride 0", {"stride": 0}), ("stride -1", {"stride": -1}),
                          ("padding -1", {"padding": -1}), ("padding over half", {"padding": 2}),
                          ("ceil_mode a string", {"ceil_mode": "yes"}),
                          ("kernel larger than input", {"kernel_size": 9}),
                          ("dilation 0", {"dilation": 0})]:
        if pool == "AvgPool2d" and label == "dilation 0":
            continue
        def call(L, pool=pool, kwargs=kwargs):
            kwargs = dict(kwargs)
            return getattr(L.nn, pool)(kwargs.pop("kernel_size", 3), **kwargs)(
                L.ones(1, 1, 4, 4))
        layer(f"{pool} {label}", pool, call, arg=label.split()[0])
    layer(f"{pool} on 3-D input", pool, lambda L, pool=pool: getattr(L.nn, pool)(2)(
        L.ones(1, 4, 4)))
    layer(f"{pool} on 2-D input", pool, lambda L, pool=pool: getattr(L.nn, pool)(2)(
        L.ones(4, 4)))
    layer(f"{pool} on an empty batch", pool, lambda L, pool=pool: getattr(L.nn, pool)(2)(
        L.ones(0, 1, 4, 4)))
    layer(f"{pool} on int input", pool, lambda L, pool=pool: getattr(L.nn, pool)(2)(
        L.ones(1, 1, 4, 4, dtype=L.int64)))
    layer(f"{pool} on NaN", pool, lambda L, pool=pool: getattr(L.nn, pool)(2)(
        L.tensor([[[[NAN, 1.0], [2.0, 3.0]]]])))

for bn in ("BatchNorm1d", "BatchNorm2d"):
    for label, kwargs in [("eps negative", {"eps": -1.0}), ("eps NaN", {"eps": NAN}),
                          ("momentum 2", {"momentum": 2.0}), ("momentum None", {"momentum": None}),
                          ("momentum string", {"momentum": "0.1"}),
                          ("affine a string", {"affine": "no"})]:
        layer(f"{bn} {label}", bn, lambda L, bn=bn, kwargs=kwargs: getattr(L.nn, bn)(
            3, **kwargs), arg=label.split()[0], random=True)
shape_1d = {"2-D": (4, 3), "3-D": (4, 3, 5), "1-D": (3,), "one sample": (1, 3),
            "wrong features": (4, 5), "empty batch": (0, 3), "4-D": (2, 3, 2, 2)}
for label, shape in shape_1d.items():
    layer(f"BatchNorm1d forward {label}", "BatchNorm1d",
          lambda L, shape=shape: L.nn.BatchNorm1d(3)(L.ones(*shape)))
for label, shape in {"4-D": (2, 3, 2, 2), "3-D": (3, 2, 2), "wrong channels": (2, 4, 2, 2),
                     "one value per channel": (1, 3, 1, 1), "empty batch": (0, 3, 2, 2)}.items():
    layer(f"BatchNorm2d forward {label}", "BatchNorm2d",
          lambda L, shape=shape: L.nn.BatchNorm2d(3)(L.ones(*shape)))
layer("BatchNorm1d forward int", "BatchNorm1d",
      lambda L: L.nn.BatchNorm1d(3)(L.ones(4, 3, dtype=L.int64)))
layer("BatchNorm1d forward float64", "BatchNorm1d",
      lambda L: L.nn.BatchNorm1d(3)(L.ones(4, 3, dtype=L.float64)))

for label, p in [("negative", -0.1), ("above 1", 1.5), ("NaN", NAN), ("string", "0.5"),
                 ("None", None), ("1", 1.0), ("0", 0.0), ("bool", True), ("inf", INF)]:
    layer(f"Dropout p {label}", "Dropout", lambda L, p=p: L.nn.Dropout(p).eval()(x23(L)),
          arg="p")
layer("Dropout inplace a string", "Dropout", lambda L: L.nn.Dropout(0.5, inplace="x"),
      arg="inplace", random=True)
layer("Dropout on an empty tensor", "Dropout", lambda L: L.nn.Dropout(0.5)(empty(L, 0, 3)))

for label, shape, dtype in [("wrong features", (2, 4), None), ("1-D", (3,), None),
                            ("0-d", (), None), ("empty batch", (0, 3), None),
                            ("int input", (2, 3), "i64"), ("float64 input", (2, 3), "f64"),
                            ("3-D", (2, 5, 3), None)]:
    def call(L, shape=shape, dtype=dtype):
        dtype = {"i64": L.int64, "f64": L.float64}.get(dtype, L.float32)
        return L.nn.Linear(3, 2)(L.ones(*shape, dtype=dtype))
    layer(f"Linear forward {label}", "Linear", call, random=True)
layer("Linear forward a list", "Linear", lambda L: L.nn.Linear(3, 2)([1.0, 2.0, 3.0]),
      arg="input")
for label, shape, dtype in [("wrong channels", (1, 2, 5, 5), None),
                            ("3-D (unbatched)", (3, 5, 5), None), ("2-D", (5, 5), None),
                            ("kernel larger than input", (1, 3, 2, 2), None),
                            ("empty batch", (0, 3, 5, 5), None), ("int input", (1, 3, 5, 5), "i64"),
                            ("float64 input", (1, 3, 5, 5), "f64"),
                            ("zero width", (1, 3, 5, 0), None)]:
    def call(L, shape=shape, dtype=dtype):
        dtype = {"i64": L.int64, "f64": L.float64}.get(dtype, L.float32)
        return L.nn.Conv2d(3, 4, 3)(L.ones(*shape, dtype=dtype))
    layer(f"Conv2d forward {label}", "Conv2d", call, random=True)
for label, shape in [("wrong size", (1, 2, 7, 7)), ("3-D", (2, 8, 8)),
                     ("wrong channels", (1, 3, 8, 8)), ("empty batch", (0, 2, 8, 8))]:
    layer(f"LocallyConnected2d forward {label}", "LocallyConnected2d",
          lambda L, shape=shape: dg.nn.LocallyConnected2d(2, 3, 8, 3)(dg.ones(*shape)),
          only_deepgrad=True, expect="value" if label == "empty batch" else "error")

for label, fn, who in [
    ("LeakyReLU slope a string", lambda L: L.nn.LeakyReLU("0.1")(x23(L)), "LeakyReLU"),
    ("Softmax dim 5", lambda L: L.nn.Softmax(dim=5)(x23(L)), ("Softmax", "softmax")),
    ("Flatten start_dim 5", lambda L: L.nn.Flatten(start_dim=5)(x23(L)), "Flatten"),
    ("Flatten reversed dims", lambda L: L.nn.Flatten(1, 0)(x23(L)), "Flatten"),
    ("ReLU of int", lambda L: L.nn.ReLU()(L.tensor([-1, 2])), "ReLU"),
    ("Tanh of int", lambda L: L.nn.Tanh()(L.tensor([-1, 2])), "Tanh"),
    ("CrossEntropyLoss class out of range", lambda L: L.nn.CrossEntropyLoss()(
        x23(L), L.tensor([0, 3])), "cross_entropy"),
    ("CrossEntropyLoss float target shape", lambda L: L.nn.CrossEntropyLoss()(
        x23(L), L.ones(2)), "cross_entropy"),
    ("CrossEntropyLoss empty batch", lambda L: L.nn.CrossEntropyLoss()(
        L.zeros(0, 3), L.zeros(0, dtype=L.int64)), "cross_entropy"),
    ("MSELoss shapes", lambda L: L.nn.MSELoss()(x23(L), L.ones(4)), "mse_loss"),
    ("MSELoss reduction word", lambda L: L.nn.MSELoss(reduction="avg")(x23(L), x23(L)),
     "MSELoss"),
    ("MSELoss empty", lambda L: L.nn.MSELoss()(L.zeros(0), L.zeros(0)), "mse_loss"),
    ("NLLLoss negative target", lambda L: L.nn.NLLLoss()(x23(L), L.tensor([-1, 0])),
     "nll_loss"),
    ("BCEWithLogitsLoss int target", lambda L: L.nn.BCEWithLogitsLoss()(
        x23(L), L.ones(2, 3, dtype=L.int64)), "binary_cross_entropy_with_logits"),
]:
    layer(label, who, fn)


# -- DataLoader ---------------------------------------------------------------------------

def dataset(L, n=10):
    return L.data.TensorDataset(L.arange(float(n)).reshape(n, 1), L.arange(n))


for label, kwargs in [
    ("batch_size 0", {"batch_size": 0}), ("batch_size -1", {"batch_size": -1}),
    ("batch_size float", {"batch_size": 2.5}), ("batch_size string", {"batch_size": "2"}),
    ("batch_size None", {"batch_size": None}), ("batch_size larger than the data",
                                                {"batch_size": 25}),
    ("batch_size huge", {"batch_size": 2 ** 62}),
    ("shuffle a string", {"shuffle": "yes"}), ("drop_last a string", {"drop_last": "yes"}),
    ("drop_last with batch_size None", {"batch_size": None, "drop_last": True}),
    ("num_workers -1", {"num_workers": -1}), ("num_workers float", {"num_workers": 2.5}),
    ("num_workers string", {"num_workers": "2"}), ("timeout -1", {"timeout": -1}),
    ("timeout NaN", {"timeout": NAN}), ("timeout string", {"timeout": "1"}),
    ("sampler a number", {"sampler": 5}), ("sampler and shuffle", {"sampler": [0, 1],
                                                                   "shuffle": True}),
    ("batch_sampler and batch_size", {"batch_sampler": [[0, 1]], "batch_size": 2}),
    ("batch_sampler a number", {"batch_sampler": 3}),
    ("collate_fn a number", {"collate_fn": 5}), ("worker_init_fn a number",
                                                 {"worker_init_fn": 3, "num_workers": 1}),
    ("prefetch_factor without workers", {"prefetch_factor": 2}),
    ("prefetch_factor 0", {"prefetch_factor": 0, "num_workers": 1}),
    ("persistent_workers without workers", {"persistent_workers": True}),
    ("multiprocessing_context a word", {"multiprocessing_context": "teleport",
                                        "num_workers": 1}),
    ("generator a string", {"generator": "seed"}), ("sampler out of range",
                                                    {"sampler": [0, 99]}),
]:
    def call(L, kwargs=kwargs):
        return [tuple(b) if isinstance(b, (list, tuple)) else b
                for b in L.data.DataLoader(dataset(L), **kwargs)]
    who = ("DataLoader", "TensorDataset") if label == "sampler out of range" else "DataLoader"
    row(f"DataLoader {label}", who, call, arg=label.split()[0])
row("DataLoader of a number", "DataLoader", lambda L: list(L.data.DataLoader(5)), arg="dataset")
row("DataLoader of None", "DataLoader", lambda L: list(L.data.DataLoader(None)), arg="dataset")
row("DataLoader of an empty dataset", "DataLoader",
    lambda L: list(L.data.DataLoader(L.data.TensorDataset(L.zeros(0, 2)))), arg="dataset")
row("TensorDataset of mismatched lengths", "TensorDataset",
    lambda L: L.data.TensorDataset(L.zeros(3), L.zeros(4)), arg="tensors")
row("TensorDataset of a list", "TensorDataset",
    lambda L: len(L.data.TensorDataset([1.0, 2.0])), arg="tensors",
    lenient="deepgrad's TensorDataset takes arrays and lists as well as Tensors (PyTorch "
            "fails on a list with an AttributeError)")
for label, kwargs in [("seed negative", {"seed": -1}), ("seed a string", {"seed": "1"}),
                      ("replacement a string", {"replacement": "yes"}),
                      ("replacement with shuffle", {"replacement": True, "shuffle": True}),
                      ("device a word", {"device": "teleport"})]:
    row(f"DataLoader {label}", "DataLoader",
        lambda L, kwargs=kwargs: list(dg.data.DataLoader(dataset(dg), **kwargs)),
        arg=label.split()[0], only_deepgrad=True)


# -- the harness ------------------------------------------------------------------------------

class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("no answer within 5 s")


def answer(call, L):
    """("value", result) or ("error", exception), with a 5 s limit."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        return "value", call(L)
    except Hang:
        raise
    except Exception as err:  # noqa: BLE001 - every exception is judged below
        return "error", err
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def plain(value, random):
    """A comparable form: arrays for tensors, shapes for modules, and so on."""
    if isinstance(value, (dg.Tensor, torch.Tensor)):
        array = value.detach().cpu().numpy()
        return ("array", array.dtype.str, array.shape, None if random else array)
    if isinstance(value, (dg.nn.Module, torch.nn.Module)):
        return ("module", sorted((k, tuple(v.shape)) for k, v in value.state_dict().items()))
    if isinstance(value, (list, tuple)):
        return ("seq", [plain(v, random) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted((k, plain(v, random)) for k, v in value.items()))
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return ("py", value)


def same(ours, theirs):
    if ours[0] != theirs[0]:
        return False
    if ours[0] == "array":
        if ours[1:3] != theirs[1:3]:
            return False
        if ours[3] is None:
            return True
        a, b = ours[3], theirs[3]
        if a.dtype.kind in "fc":
            return np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(
                np.nan_to_num(a, nan=0), np.nan_to_num(b, nan=0), rtol=1e-6, atol=1e-6,
                equal_nan=True) and np.array_equal(np.isinf(a), np.isinf(b))
        return np.array_equal(a, b)
    if ours[0] == "seq":
        return len(ours[1]) == len(theirs[1]) and all(
            same(a, b) for a, b in zip(ours[1], theirs[1]))
    if ours[0] == "dict":
        return [k for k, _ in ours[1]] == [k for k, _ in theirs[1]] and all(
            same(a, b) for (_, a), (_, b) in zip(ours[1], theirs[1]))
    return ours == theirs


def from_numpy_internals(err):
    """True when the exception was raised inside NumPy's Python code, or carries one of
    NumPy's own messages (raised in NumPy's C code, the frame being deepgrad's call)."""
    frames = traceback.extract_tb(err.__traceback__)
    if frames and "/numpy/" in frames[-1].filename:
        return True
    return isinstance(err, np.exceptions.AxisError) or str(err).startswith((
        "negative dimensions", "Unable to allocate", "array is too big",
        "cannot reshape array", "could not broadcast", "operands could not be broadcast",
        "setting an array element", "axis ", "index ", "invalid literal",
        "Maximum allowed dimension", "arange: cannot compute length"))


def check_row(case):
    ours = answer(case.call, DG)
    theirs = None if case.only_deepgrad else answer(case.call, TORCH)
    who = (case.who,) if isinstance(case.who, str) else case.who
    args = (case.arg,) if isinstance(case.arg, str) else (case.arg or ())
    if ours[0] == "error":
        err = ours[1]
        assert case.expect == "error" or not case.only_deepgrad, f"refused: {err}"
        text = f"{type(err).__name__}: {err}"
        assert isinstance(err, ORDINARY), f"not an ordinary exception: {text}"
        assert not from_numpy_internals(err), f"NumPy's own error leaked out: {text}"
        assert any(w in str(err) for w in who), f"the message does not name {who}: {text}"
        refuses_more = theirs is None or theirs[0] == "value"
        if refuses_more:
            assert isinstance(err, (ValueError, TypeError)), (
                f"PyTorch accepts ({theirs and plain(theirs[1], True)}) but deepgrad "
                f"raises a {type(err).__name__}, not a ValueError/TypeError: {text}")
            if args:
                assert any(a in str(err) for a in args), (
                    f"the message does not name the argument {args}: {text}")
        return "refused" if refuses_more else "both raise"
    if theirs is None:
        assert case.expect == "value", f"deepgrad accepts what it should refuse: {ours[1]!r}"
        return "accepted"
    if theirs[0] == "error":
        if case.lenient:
            return "lenient"
        pytest.fail(f"PyTorch raises {type(theirs[1]).__name__}: {theirs[1]}, deepgrad "
                    f"answers {plain(ours[1], case.random)}")
    a, b = plain(ours[1], case.random), plain(theirs[1], case.random)
    assert same(a, b), f"different answers:\n deepgrad {a}\n PyTorch  {b}"
    return "same value"


@pytest.mark.parametrize("case", TABLE, ids=[c.name for c in TABLE])
def test_the_surface_answers_bad_input_as_pytorch_or_with_a_clean_error(case):
    torch.manual_seed(0)
    dg.manual_seed(0)
    check_row(case)


def test_the_table_covers_the_surface():
    """Every family the issue names has rows, and the table is large."""
    names = " ".join(c.name for c in TABLE)
    for family in ("zeros", "ones", "empty", "full", "arange", "linspace", "rand", "randn",
                   "randint", "randperm", "eye", "tensor", "view", "reshape", "sum", "mean",
                   "max", "gather", "index_select", "topk", "Linear", "Conv2d", "MaxPool2d",
                   "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Dropout",
                   "LocallyConnected2d", "DataLoader"):
        assert family in names, family
    assert len(TABLE) > 500
