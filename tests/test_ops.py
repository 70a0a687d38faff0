"""Every op against PyTorch, forward and backward, float64 and float32, broadcasting,
non-contiguous inputs, and a float64 directional gradient check (see helpers_ops.py).

Plus the clear errors ops raise on bad input.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import deepgrad as dg
from deepgrad import ops
from helpers_ops import (Case, away_from, check_against_torch, check_case, constant,
                         distinct, integers, positive, uniform)

U = uniform()
NONZERO = away_from([0.0])


def _binary(name, dg_op, torch_op, shapes, samplers=None):
    return [Case(f"{name} {a}x{b}", (a, b), dg_op, torch_op, samplers)
            for a, b in shapes]


BROADCAST = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 4), (3, 1)),
             ((), (2, 3)), ((5,), ())]

CASES = []

# -- arithmetic --------------------------------------------------------------------------
CASES += _binary("add", lambda a, b: a + b, lambda a, b: a + b, BROADCAST)
CASES += _binary("sub", lambda a, b: a - b, lambda a, b: a - b, BROADCAST)
CASES += _binary("mul", lambda a, b: a * b, lambda a, b: a * b, BROADCAST)
CASES += _binary("div", lambda a, b: a / b, lambda a, b: a / b, BROADCAST,
                 (U, away_from([0.0], gap=0.3)))
CASES += [
    Case("neg", ((3, 4),), lambda a: -a, lambda a: -a),
    Case("add scalar", ((3, 4),), lambda a: a + 2.5, lambda a: a + 2.5),
    Case("radd scalar", ((3, 4),), lambda a: 2.5 + a, lambda a: 2.5 + a),
    Case("rsub scalar", ((3, 4),), lambda a: 1.5 - a, lambda a: 1.5 - a),
    Case("mul scalar", ((3, 4),), lambda a: a * -3.0, lambda a: a * -3.0),
    Case("rtruediv scalar", ((3, 4),), lambda a: 2.0 / a, lambda a: 2.0 / a,
         away_from([0.0], gap=0.3)),
    Case("pow int scalar", ((3, 4),), lambda a: a ** 3, lambda a: a ** 3),
    Case("pow float scalar", ((3, 4),), lambda a: a ** 2.5, lambda a: a ** 2.5, positive()),
    Case("pow negative scalar", ((3, 4),), lambda a: a ** -1.5, lambda a: a ** -1.5,
         positive()),
    Case("rpow scalar base", ((3, 4),), lambda a: 2.0 ** a, lambda a: 2.0 ** a),
    Case("pow tensor tensor", ((3, 4), (3, 4)), lambda a, b: a ** b, lambda a, b: a ** b,
         (positive(), U)),
    Case("pow tensor tensor broadcast", ((2, 3, 4), (3, 1)), lambda a, b: a ** b,
         lambda a, b: a ** b, (positive(), U)),
    Case("ops.pow", ((4,), (4,)), ops.pow, torch.pow, (positive(), U)),
]

MATMUL = [((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,)), ((3, 4), (4, 5)),
          ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
          ((4,), (2, 4, 3)), ((2, 3, 4), (4,))]
CASES += _binary("matmul", lambda a, b: a @ b, lambda a, b: a @ b, MATMUL)
CASES += [Case("ops.matmul", ((3, 4), (4, 2)), ops.matmul, torch.matmul)]

CASES += [
    Case("linear", ((5, 4), (3, 4), (3,)), ops.linear, F.linear),
    Case("linear no bias", ((5, 4), (3, 4)), ops.linear, F.linear),
    Case("linear one sample", ((1, 4), (3, 4), (3,)), ops.linear, F.linear),
    Case("linear 3-D input", ((2, 5, 4), (3, 4), (3,)), ops.linear, F.linear),
    Case("linear 1-D input", ((4,), (3, 4), (3,)), ops.linear, F.linear),
]

# -- reductions ---------------------------------------------------------------------------
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]
for axis in AXES:
    for keep in (False, True):
        CASES.append(Case(
            f"sum axis={axis} keepdims={keep}", ((2, 3, 4),),
            lambda a, axis=axis, keep=keep: a.sum(axis=axis, keepdims=keep),
            lambda a, axis=axis, keep=keep: (a.sum() if axis is None and not keep else
                                             a.sum(dim=axis, keepdim=keep))))
        CASES.append(Case(
            f"mean axis={axis} keepdims={keep}", ((2, 3, 4),),
            lambda a, axis=axis, keep=keep: dg.mean(a, axis=axis, keepdims=keep),
            lambda a, axis=axis, keep=keep: (a.mean() if axis is None and not keep else
                                             a.mean(dim=axis, keepdim=keep))))
        for name, dg_fn, torch_fn in (("max", dg.amax, torch.amax), ("min", dg.amin, torch.amin)):
            CASES.append(Case(
                f"{name} axis={axis} keepdims={keep}", ((2, 3, 4),),
                lambda a, axis=axis, keep=keep, f=dg_fn: f(a, axis=axis, keepdims=keep),
                lambda a, axis=axis, keep=keep, f=torch_fn: f(
                    a, dim=() if axis is None else axis, keepdim=keep),
                distinct()))
TIES = constant([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
CASES += [  # ties share the gradient equally, as torch.amax/amin and a full max() do
    Case("max ties full", ((2, 3),), lambda a: a.max(), lambda a: a.max(), TIES,
         gradcheck=False),
    Case("max ties axis", ((2, 3),), lambda a: a.amax(axis=1), lambda a: a.amax(dim=1), TIES,
         gradcheck=False),
    Case("min ties axis", ((2, 3),), lambda a: a.amin(axis=-1), lambda a: a.amin(dim=-1),
         TIES, gradcheck=False),
    Case("sum numpy-integer axis", ((2, 3),), lambda a: a.sum(axis=np.int64(1)),
         lambda a: a.sum(dim=1)),
]
CASES += [
    Case("sum of a 1-D", ((5,),), lambda a: a.sum(), lambda a: a.sum()),
    Case("max method full", ((3, 4),), lambda a: a.max(), lambda a: a.max(), distinct()),
    Case("min method axis", ((3, 4),), lambda a: a.amin(axis=0), lambda a: a.amin(dim=0),
         distinct()),
]

# -- shape ------------------------------------------------------------------------------------
CASES += [
    Case("reshape", ((2, 3, 4),), lambda a: a.reshape(6, 4), lambda a: a.reshape(6, 4)),
    Case("reshape -1 tuple", ((2, 3, 4),), lambda a: a.reshape((4, -1)),
         lambda a: a.reshape(4, -1)),
    Case("reshape to scalar", ((1, 1),), lambda a: dg.reshape(a, ()), lambda a: a.reshape(())),
    Case("T reverses the dims", ((2, 3, 4),), lambda a: a.permute(2, 1, 0),
         lambda a: a.permute(2, 1, 0)),
    Case("permute", ((2, 3, 4),), lambda a: a.permute(1, 2, 0),
         lambda a: a.permute(1, 2, 0)),
    Case("permute negative dims", ((2, 3, 4),), lambda a: dg.permute(a, (-1, 0, 1)),
         lambda a: a.permute(2, 0, 1)),
    Case("transpose two dims", ((2, 3, 4),), lambda a: a.transpose(0, 2),
         lambda a: a.transpose(0, 2)),
    Case("transpose negative dims", ((2, 3, 4),), lambda a: dg.transpose(a, -1, 1),
         lambda a: a.transpose(-1, 1)),
    Case(".T", ((3, 4),), lambda a: a.T, lambda a: a.T),
    Case("swapaxes", ((2, 3, 4),), lambda a: a.swapaxes(0, 2), lambda a: a.transpose(0, 2)),
    Case("broadcast_to", ((3, 1),), lambda a: ops.broadcast_to(a, (2, 3, 4)),
         lambda a: a.broadcast_to((2, 3, 4))),
    Case("broadcast_to same", ((3, 4),), lambda a: ops.broadcast_to(a, (3, 4)),
         lambda a: a.broadcast_to((3, 4))),
]

INDEXES = [
    ("int", 1), ("negative int", -1), ("slice", slice(1, 3)),
    ("step slice", (slice(None), slice(None, None, 2))),
    ("ellipsis", (Ellipsis, 0)), ("newaxis", (None, slice(0, 2))),
    ("int array with repeats", np.array([0, 2, 0, 0])),
    ("int array list", [3, 1, 1]),
    ("2-D int array", np.array([[0, 1], [1, 1]])),
    ("int arrays pair", (np.array([0, 0, 3]), np.array([1, 1, 4]))),
    ("slice and int array", (slice(1, None), np.array([4, 4, 0]))),
    ("boolean mask", np.array([True, False, True, True])),
]


def _torch_index(index):
    """The same index for a torch tensor (arrays and lists become tensors)."""
    if isinstance(index, tuple):
        return tuple(_torch_index(i) for i in index)
    if isinstance(index, (list, np.ndarray)):
        return torch.as_tensor(np.asarray(index))
    return index


for label, index in INDEXES:
    CASES.append(Case(f"getitem {label}", ((4, 5),), lambda a, i=index: a[i],
                      lambda a, i=index: a[_torch_index(i)]))
CASES += [
    Case("getitem negative step", ((4, 5),), lambda a: a[::-1, 1], lambda a: a.flip(0)[:, 1]),
    Case("getitem boolean mask 2-D", ((3, 4), (3, 4)), lambda a, m: a[m], lambda a, m: a[m],
         (U, lambda rng, s: rng.uniform(size=s) > 0.4)),
    Case("getitem tensor mask", ((3, 4),), lambda a: a[a > 0], lambda a: a[a > 0],
         away_from([0.0])),
]

CASES += [
    Case("concatenate axis 0", ((2, 3), (4, 3), (1, 3)),
         lambda a, b, c: dg.concatenate([a, b, c]), lambda a, b, c: torch.cat([a, b, c])),
    Case("concatenate axis -1", ((2, 3, 1), (2, 3, 4)),
         lambda a, b: dg.concatenate([a, b], axis=-1),
         lambda a, b: torch.cat([a, b], dim=-1)),
    Case("stack axis 0", ((2, 3), (2, 3), (2, 3)),
         lambda a, b, c: dg.stack([a, b, c]), lambda a, b, c: torch.stack([a, b, c])),
    Case("stack axis -1", ((2, 3), (2, 3)), lambda a, b: dg.stack([a, b], axis=-1),
         lambda a, b: torch.stack([a, b], dim=-1)),
    Case("stack axis 1", ((2, 3), (2, 3)), lambda a, b: dg.stack([a, b], axis=1),
         lambda a, b: torch.stack([a, b], dim=1)),
]

# -- elementwise ----------------------------------------------------------------------------
CASES += [
    Case("exp", ((3, 4),), dg.exp, torch.exp, uniform(-3, 3)),
    Case("log", ((3, 4),), dg.log, torch.log, positive(0.1, 5)),
    Case("sqrt", ((3, 4),), dg.sqrt, torch.sqrt, positive(0.1, 5)),
    Case("abs", ((3, 4),), dg.abs, torch.abs, NONZERO),
    Case("abs operator", ((3, 4),), lambda a: abs(a), torch.abs, NONZERO),
    Case("clip both", ((4, 5),), lambda a: dg.clip(a, -0.5, 0.5),
         lambda a: torch.clamp(a, -0.5, 0.5), away_from([-0.5, 0.5])),
    Case("clip min only", ((4, 5),), lambda a: a.clip(min=0.2),
         lambda a: torch.clamp(a, min=0.2), away_from([0.2])),
    Case("clip max only", ((4, 5),), lambda a: dg.clip(a, max=-0.1),
         lambda a: torch.clamp(a, max=-0.1), away_from([-0.1])),
    Case("where", ((3, 4), (3, 4), (3, 4)), lambda c, a, b: dg.where(c, a, b),
         lambda c, a, b: torch.where(c, a, b), (lambda rng, s: rng.uniform(size=s) > 0.5, U, U)),
    Case("where broadcast", ((3, 1), (4,), (3, 4)), lambda c, a, b: dg.where(c, a, b),
         lambda c, a, b: torch.where(c, a, b), (lambda rng, s: rng.uniform(size=s) > 0.5, U, U)),
    Case("where scalar branch", ((3, 4), (3, 4)), lambda c, a: dg.where(c, a, 0.0),
         lambda c, a: torch.where(c, a, 0.0), (lambda rng, s: rng.uniform(size=s) > 0.5, U)),
]

# -- activations ----------------------------------------------------------------------------
LARGE = constant([[-800.0, -50.0, -20.0, -1.0], [0.5, 20.0, 50.0, 800.0]])
CASES += [
    Case("relu", ((4, 5),), dg.relu, torch.relu, NONZERO),
    Case("relu method", ((4, 5),), lambda a: a.relu(), torch.relu, NONZERO),
    Case("leaky_relu", ((4, 5),), ops.leaky_relu, F.leaky_relu, NONZERO),
    Case("leaky_relu slope 0.2", ((4, 5),), lambda a: ops.leaky_relu(a, 0.2),
         lambda a: F.leaky_relu(a, 0.2), NONZERO),
    Case("sigmoid", ((4, 5),), dg.sigmoid, torch.sigmoid, uniform(-6, 6)),
    Case("sigmoid large |x|", ((2, 4),), dg.sigmoid, torch.sigmoid, LARGE, gradcheck=False),
    Case("tanh", ((4, 5),), dg.tanh, torch.tanh, uniform(-3, 3)),
    Case("tanh large |x|", ((2, 4),), dg.tanh, torch.tanh, LARGE, gradcheck=False),
]
for dim in (0, 1, -1):
    CASES += [
        Case(f"softmax dim={dim}", ((3, 4, 5),), lambda a, d=dim: dg.softmax(a, dim=d),
             lambda a, d=dim: torch.softmax(a, dim=d), uniform(-3, 3)),
        Case(f"log_softmax dim={dim}", ((3, 4, 5),), lambda a, d=dim: dg.log_softmax(a, dim=d),
             lambda a, d=dim: torch.log_softmax(a, dim=d), uniform(-3, 3)),
    ]
CASES += [
    Case("softmax large logits", ((2, 4),), dg.softmax, lambda a: torch.softmax(a, -1),
         LARGE, gradcheck=False),
    Case("log_softmax large logits", ((2, 4),), dg.log_softmax,
         lambda a: torch.log_softmax(a, -1), LARGE, gradcheck=False),
]

# -- losses ------------------------------------------------------------------------------------
for red in ("mean", "sum", "none"):
    CASES += [
        Case(f"cross_entropy (N,C) {red}", ((6, 4), None),
             lambda x, t, r=red: ops.cross_entropy(x, t, reduction=r),
             lambda x, t, r=red: F.cross_entropy(x, t, reduction=r),
             (uniform(-3, 3), integers(4, (6,)))),
        Case(f"cross_entropy (N,C,d1) {red}", ((3, 4, 5), None),
             lambda x, t, r=red: ops.cross_entropy(x, t, reduction=r),
             lambda x, t, r=red: F.cross_entropy(x, t, reduction=r),
             (uniform(-3, 3), integers(4, (3, 5)))),
        Case(f"cross_entropy (N,C,d1,d2) {red}", ((2, 3, 2, 2), None),
             lambda x, t, r=red: ops.cross_entropy(x, t, reduction=r),
             lambda x, t, r=red: F.cross_entropy(x, t, reduction=r),
             (uniform(-3, 3), integers(3, (2, 2, 2)))),
        Case(f"nll_loss (N,C) {red}", ((6, 4), None),
             lambda x, t, r=red: ops.nll_loss(x, t, reduction=r),
             lambda x, t, r=red: F.nll_loss(x, t, reduction=r),
             (uniform(-3, 0), integers(4, (6,)))),
        Case(f"nll_loss (N,C,d1) {red}", ((3, 4, 5), None),
             lambda x, t, r=red: ops.nll_loss(x, t, reduction=r),
             lambda x, t, r=red: F.nll_loss(x, t, reduction=r),
             (uniform(-3, 0), integers(4, (3, 5)))),
        Case(f"mse_loss {red}", ((4, 3), (4, 3)),
             lambda x, y, r=red: ops.mse_loss(x, y, reduction=r),
             lambda x, y, r=red: F.mse_loss(x, y, reduction=r)),
        Case(f"mse_loss constant target {red}", ((4, 3), (4, 3)),
             lambda x, y, r=red: ops.mse_loss(x, y, reduction=r),
             lambda x, y, r=red: F.mse_loss(x, y, reduction=r), nondiff=(1,)),
        Case(f"bce_with_logits {red}", ((4, 3), (4, 3)),
             lambda x, y, r=red: ops.binary_cross_entropy_with_logits(x, y, reduction=r),
             lambda x, y, r=red: F.binary_cross_entropy_with_logits(x, y, reduction=r),
             (uniform(-4, 4), uniform(0, 1))),
    ]
CASES += [
    Case("cross_entropy large logits", ((2, 4), None), ops.cross_entropy, F.cross_entropy,
         (LARGE, constant([0, 3])), gradcheck=False),
    Case("bce_with_logits large logits", ((2, 4), (2, 4)),
         ops.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
         (LARGE, uniform(0, 1)), gradcheck=False),
    Case("cross_entropy 1-D input", ((5,), None), ops.cross_entropy, F.cross_entropy,
         (U, constant(np.int64(2)))),
    Case("nn.functional.cross_entropy", ((6, 4), None), dg.nn.functional.cross_entropy,
         F.cross_entropy, (U, integers(4, (6,)))),
]

# -- exactly at the kinks: the subgradient PyTorch picks ----------------------------------------
AT_KINKS = constant([[-1.0, 0.0, 0.5, -0.5, 2.0]])
CASES += [
    Case("relu at 0", ((1, 5),), dg.relu, torch.relu, AT_KINKS, gradcheck=False),
    Case("leaky_relu at 0", ((1, 5),), ops.leaky_relu, F.leaky_relu, AT_KINKS,
         gradcheck=False),
    Case("abs at 0", ((1, 5),), dg.abs, torch.abs, AT_KINKS, gradcheck=False),
    Case("clip at its bounds", ((1, 5),), lambda a: dg.clip(a, -0.5, 0.5),
         lambda a: torch.clamp(a, -0.5, 0.5), AT_KINKS, gradcheck=False),
    Case("pow at base 0 and exponent 0", ((5,), (5,)), lambda a, b: a ** b,
         lambda a, b: a ** b, (constant([0.0, 0.0, 2.0, -2.0, 0.5]),
                               constant([0.0, 2.0, 0.0, 2.0, 0.0])), gradcheck=False),
    Case("pow scalar 0 at 0", ((3,),), lambda a: a ** 0, lambda a: a ** 0,
         constant([0.0, 1.0, -1.0]), gradcheck=False),
]

# -- composites: several ops in one graph (accumulation, reuse) -------------------------------
CASES += [
    Case("x*x + x (reuse)", ((3, 4),), lambda a: a * a + a, lambda a: a * a + a),
    Case("mlp", ((5, 4), (6, 4), (6,), (3, 6)),
         lambda x, w1, b1, w2: ops.linear(ops.tanh(ops.linear(x, w1, b1)), w2),
         lambda x, w1, b1, w2: F.linear(torch.tanh(F.linear(x, w1, b1)), w2)),
    Case("ops fed non-contiguous gradients", ((4, 5), (4, 3)),
         lambda a, b: dg.log_softmax(a.T @ b, dim=0).T[:, ::2].exp(),
         lambda a, b: torch.log_softmax(a.T @ b, dim=0).T[:, ::2].exp()),
    Case("cross_entropy of a transposed input", ((4, 6), None),
         lambda x, t: ops.cross_entropy(x.T * 2.0, t, reduction="none"),
         lambda x, t: F.cross_entropy(x.T * 2.0, t, reduction="none"),
         (U, integers(4, (6,)))),
    Case("normalise rows", ((4, 5),),
         lambda a: (a - a.mean(axis=1, keepdims=True)) / (a * a).sum(axis=1, keepdims=True).sqrt(),
         lambda a: (a - a.mean(dim=1, keepdim=True)) / (a * a).sum(dim=1, keepdim=True).sqrt()),
]


def _id(case):
    return case.name


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_op(case):
    check_case(case)


def test_every_op_in_the_issue_is_covered():
    names = " ".join(c.name for c in CASES)
    for op in ("add", "sub", "mul", "div", "neg", "pow tensor tensor", "pow int scalar",
               "matmul", "linear", "sum", "mean", "max", "min", "reshape", "transpose",
               "getitem int array with repeats", "boolean mask", "concatenate", "stack",
               "broadcast_to", "exp", "log", "sqrt", "abs", "clip", "where", "relu",
               "leaky_relu", "sigmoid large", "tanh", "softmax", "log_softmax",
               "cross_entropy (N,C) ", "cross_entropy (N,C,d1)", "nll_loss", "mse_loss",
               "bce_with_logits"):
        assert op in names, op


# -- the harness itself must be able to fail ----------------------------------------------------

def test_harness_catches_a_wrong_backward():
    class BadExp(dg.autograd.Function):
        def forward(self, a):
            self.y = np.exp(a)
            return self.y

        def backward(self, g):
            return (g * self.y * 1.001,)

    case = Case("bad exp", ((3,),), lambda a: BadExp()(a), torch.exp)
    with pytest.raises(AssertionError):
        check_against_torch(case, np.float64)
    from helpers_ops import check_gradient
    from deepgrad.diagnostics import GradcheckError
    with pytest.raises(GradcheckError, match="bad exp|BadExp|analytic"):
        check_gradient(case)


def test_harness_catches_an_op_that_modifies_its_input():
    class InPlaceNeg(dg.autograd.Function):
        def forward(self, a):
            a *= -1
            return a.copy()

        def backward(self, g):
            return (-g,)

    case = Case("in-place neg", ((3,),), lambda a: InPlaceNeg()(a), lambda a: -a)
    with pytest.raises(AssertionError):
        check_against_torch(case, np.float64)


# -- errors that name the function, the argument and the values ----------------------------------

def _t(shape, dtype=np.float32):
    return dg.tensor(np.zeros(shape, dtype=dtype), requires_grad=True)


@pytest.mark.parametrize("fn,name", [(ops.cross_entropy, "cross_entropy"),
                                     (ops.nll_loss, "nll_loss")])
def test_class_losses_reject_bad_targets(fn, name):
    with pytest.raises(ValueError, match=rf"{name}.*\(4, 3\).*\(4,\).*\(5,\)"):
        fn(_t((4, 3)), np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 3, 5\).*\(2, 5\).*\(2, 3\)"):
        fn(_t((2, 3, 5)), np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{name}.*class 3.*3 classes"):
        fn(_t((4, 3)), np.array([0, 1, 3, 2]))
    with pytest.raises(ValueError, match=rf"{name}.*class -1"):
        fn(_t((4, 3)), np.array([0, -1, 2, 2]))
    with pytest.raises(TypeError, match=rf"{name}.*integer.*float"):
        fn(_t((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=rf"{name}.*reduction.*'avg'"):
        fn(_t((4, 3)), np.zeros(4, dtype=np.int64), reduction="avg")


@pytest.mark.parametrize("fn,name", [(ops.mse_loss, "mse_loss"),
                                     (ops.binary_cross_entropy_with_logits,
                                      "binary_cross_entropy_with_logits")])
def test_elementwise_losses_reject_shape_mismatch(fn, name):
    with pytest.raises(ValueError, match=rf"{name}.*\(4, 3\).*\(4, 1\)"):
        fn(_t((4, 3)), np.zeros((4, 1), dtype=np.float32))
    with pytest.raises(ValueError, match=rf"{name}.*reduction"):
        fn(_t((4, 3)), np.zeros((4, 3), dtype=np.float32), reduction="max")


def test_shape_op_errors():
    x = _t((2, 3))
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"transpose.*\(0, 0\)"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"cat.*tensor 1.*\(2, 4\)"):
        dg.concatenate([x, _t((2, 4))], axis=0)
    with pytest.raises(ValueError, match=r"stack.*tensor 1.*\(3, 2\)"):
        dg.stack([x, _t((3, 2))])
    with pytest.raises(ValueError, match=r"sum: axis 2.*2 dimensions"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match=r"clamp"):
        dg.clip(x)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        _t((2, 3)) @ _t((4, 5))


def test_float32_stays_float32_with_python_scalars():
    x = dg.tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    y = ((x * 2.5 + 1) / 3.0 - 0.5) ** 2
    y = dg.where(y.data > 0, y, 0.1).mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


# -- property tests: random broadcastable shapes and random strides --------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

BINARY = {"add": (lambda a, b: a + b), "sub": (lambda a, b: a - b),
          "mul": (lambda a, b: a * b), "div": (lambda a, b: a / b)}


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16))
def test_broadcasting_property(shapes, op, seed):
    fn = BINARY[op]
    samplers = (U, away_from([0.0], gap=0.3)) if op == "div" else (U, U)
    check_against_torch(Case(f"{op} {shapes.input_shapes}", tuple(shapes.input_shapes), fn, fn,
                             samplers, seed=seed), np.float64)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_strided_views_property(data):
    """Any basic-slice view (steps, reversals) of an input gives the results of a copy."""
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = data.draw(hnp.basic_indices(shape, min_dims=1, allow_newaxis=False,
                                        allow_ellipsis=False))
    base = np.random.default_rng(0).uniform(-1, 1, size=shape)
    view = base[index]
    if view.size == 0:
        return
    gy = np.random.default_rng(1).uniform(-1, 1, size=view.shape[:-1])
    results = []
    for a in (view, view.copy()):
        x = dg.Tensor(a, requires_grad=True)
        y = (dg.tanh(x) * x).sum(axis=-1)
        y.backward(gy)
        results.append((y.data, x.grad))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-14)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-14)


def test_index_errors_name_the_index_and_shape():
    x = _t((4, 5))
    with pytest.raises(IndexError, match=r"index 7 .*\(4, 5\)"):
        x[7]
    with pytest.raises(IndexError, match=r"\(4, 5\)"):
        x[np.array([0, 9])]


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"linear: expected input of shape \(\.\.\., 4\) "
                                         r"for a weight of shape \(3, 4\), got \(2, 5\)"):
        ops.linear(_t((2, 5)), _t((3, 4)))
    with pytest.raises(ValueError, match=r"linear: bias has shape \(4,\), expected \(3,\)"):
        ops.linear(_t((2, 4)), _t((3, 4)), _t((4,)))


@settings(max_examples=30, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3,
                                                max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_matmul_property(shapes, seed):
    """Random 1-D..N-D operands with broadcast batch axes, forward and backward."""
    fn = (lambda a, b: a @ b)
    check_against_torch(Case(f"matmul {shapes.input_shapes}", tuple(shapes.input_shapes),
                             fn, fn, seed=seed), np.float64)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), op=st.sampled_from(["sum", "mean", "max", "min"]),
       keep=st.booleans())
def test_reduction_property(data, op, keep):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1) | st.lists(
        st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True
    ).map(tuple))
    dims = tuple(range(len(shape))) if axis is None else axis
    torch_fn = {"sum": lambda a: a.sum(dim=dims, keepdim=keep),
                "mean": lambda a: a.mean(dim=dims, keepdim=keep),
                "max": lambda a: a.amax(dim=dims, keepdim=keep),
                "min": lambda a: a.amin(dim=dims, keepdim=keep)}[op]
    dg_fn = {"sum": dg.sum, "mean": dg.mean, "max": dg.amax, "min": dg.amin}[op]
    check_against_torch(Case(f"{op} {shape} axis={axis}", (shape,),
                             lambda a: dg_fn(a, axis=axis, keepdims=keep), torch_fn,
                             distinct()), np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_the_two_sided_formula_bit_for_bit(dtype):
    """The branch-free product gives exactly 1 / (1 + e) for a >= 0 and e / (1 + e)
    below, e = exp(-|a|), NaN and the infinities included."""
    a = np.random.default_rng(0).standard_normal(10_000).astype(dtype) * 30
    a[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.finfo(dtype).tiny]
    e = np.exp(-np.abs(a))
    expected = np.where(a >= 0, 1 / (1 + e), e * (1 / (1 + e)))
    np.testing.assert_array_equal(dg.sigmoid(dg.tensor(a)).numpy(), expected)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 0.0, -0.5, 2.0])
def test_leaky_relu_is_the_two_sided_formula_bit_for_bit(slope):
    """Whichever form runs (branch-free for slopes in (0, 1]), the output and the
    gradient are where(a > 0, a, slope * a) and where(a > 0, g, slope * g), bit for bit."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal(10_000).astype(np.float32) * 30
    a[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.finfo(np.float32).tiny]
    g = rng.standard_normal(10_000).astype(np.float32)
    g[6:9] = [np.nan, np.inf, -np.inf]
    s = np.float32(slope)
    x = dg.tensor(a, requires_grad=True)
    with np.errstate(invalid="ignore"):  # inf * 0 with slope 0, on both sides
        y = dg.nn.functional.leaky_relu(x, slope)
        y.backward(dg.tensor(g))
        np.testing.assert_array_equal(y.detach().numpy(), np.where(a > 0, a, a * s))
        np.testing.assert_array_equal(x.grad.numpy(), np.where(a > 0, g, g * s))
