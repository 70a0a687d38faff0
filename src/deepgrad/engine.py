"""The backward walk: from a result down to the leaves, each Function once, deepest
first. :func:`run_backward` is the algorithm; the classes around it say where the
gradients wait (:class:`_Waiting`) and where they end (:class:`LeafGradients`, each
leaf's ``.grad``; :class:`Captured`, for ``autograd.grad``)."""
import heapq
import itertools
import sys

from .grad_mode import check_finite, is_anomaly_enabled


def run_backward(root, grad, retain_graph=False, sink=None):
    """The backward walk: propagate ``grad`` from ``root`` down the graph.

    Functions run in decreasing generation, so each runs once, after every gradient for
    its output has arrived and been summed; the gradients of its inputs go on to the
    Functions that made them, or, at a leaf, to ``sink`` (by default each leaf's
    ``.grad``; :func:`grad` collects them instead).
    """
    sink = LeafGradients() if sink is None else sink
    if root.creator is None:
        sink.leaf(root, grad)
        return
    waiting = _Waiting()
    waiting.add(root.creator, grad)
    while waiting:
        fn, g = waiting.pop()
        g = sink.reached(fn, _run_hooks(fn._hooks, g))
        _check_still_usable(fn)
        for x, creator, needed, gx in zip(fn.inputs, fn.input_creators, fn.needs_input_grad,
                                          _call_backward(fn, g)):
            if gx is None or not needed:
                continue
            if creator is None:
                sink.leaf(x, gx)
            else:
                waiting.add(creator, gx)
        if not retain_graph:
            fn.release()


class _Waiting:
    """Functions waiting to run, deepest generation first, each with the sum of the
    gradients that reached its output so far."""

    def __init__(self):
        self.heap, self.sums, self.order = [], {}, itertools.count()

    def __bool__(self):
        return bool(self.heap)

    def add(self, fn, g):
        key = id(fn)
        if key in self.sums:
            self.sums[key] = self.sums[key] + g
        else:  # the counter breaks ties: Functions are not comparable
            self.sums[key] = g
            heapq.heappush(self.heap, (-fn.generation, next(self.order), fn))

    def pop(self):
        fn = heapq.heappop(self.heap)[2]
        return fn, self.sums.pop(id(fn))


def _check_still_usable(fn):
    """A Function whose graph was freed, or whose saved arrays were changed in place
    since, cannot give a correct gradient: say so instead."""
    if fn.inputs is None:
        raise RuntimeError(
            f"backward through {fn.name} a second time: its graph was freed after the "
            f"first backward. Pass retain_graph=True to the first backward().")
    if fn._versions:
        _check_versions(fn)


def _check_versions(fn):
    for index, box, version, shape in fn._versions:
        if box[0] != version:
            what = "its output" if index < 0 else f"its input {index}"
            raise RuntimeError(
                f"backward of {fn.name}: {what} (shape {tuple(shape)}), which it saved for "
                f"the gradient, was modified by an in-place operation: it is at version "
                f"{box[0]}, expected version {version}. Use an out-of-place operation "
                f"(x = x + y instead of x += y) or .clone() the tensor before changing it.")


def _call_backward(fn, g):
    """``fn.backward(g)``; in anomaly mode its results are checked, and an error names
    where the op was created."""
    try:
        grads = fn.backward(g)
    except Exception as err:
        if fn._origin:
            err.add_note(f"in the backward of {fn.name}, created at {fn._origin}")
        raise
    if is_anomaly_enabled():
        for gx in grads:
            if gx is not None:
                check_finite(gx, f"the backward of {fn.name}", fn._origin)
    return grads


class LeafGradients:
    """Where the walk leaves gradients by default: accumulated into each leaf's
    ``.grad``, which always owns its memory (so users and optimizers may change it in
    place)."""

    def __init__(self):
        self.given = set()  # ids of arrays already stored as some leaf's .grad

    def reached(self, fn, g):
        return g

    def leaf(self, leaf, grad):
        if grad.shape != leaf._data.shape:  # an op's backward is wrong: fail here
            raise RuntimeError(f"internal error: gradient of shape {tuple(grad.shape)} "
                               f"for a tensor of shape {tuple(leaf.shape)}")
        grad = _run_hooks(leaf._hooks, grad)
        if leaf._grad is not None:
            # In place, as PyTorch, when nothing else holds the old gradient (two
            # references: the leaf's and getrefcount's argument); a user's ``g = x.grad``
            # or a view of it keeps its values, so then the sum is a new array. (CuPy's
            # arrays have no writeable flag: they always are.)
            if (sys.getrefcount(leaf._grad) == 2 and leaf._grad.dtype == grad.dtype
                    and getattr(leaf._grad.flags, "writeable", True)):
                leaf._grad += grad
            else:
                leaf._grad = leaf._grad + grad
            return
        # The same array may also be another leaf's gradient, or a view of an array
        # the graph still uses: then the leaf gets a copy.
        if id(grad) in self.given or not grad.flags.owndata:
            grad = grad.copy()
        if grad.dtype != leaf.dtype:
            grad = grad.astype(leaf.dtype)
        self.given.add(id(grad))
        leaf._grad = grad


class Captured:
    """The sink of :func:`grad`: the gradients of chosen tensors, summed, and no
    ``.grad`` changed."""

    def __init__(self, tensors):
        self.wanted = {id(t) for t in tensors}
        self.by_creator = {id(t.creator): id(t) for t in tensors if t.creator is not None}
        self.sums = {}

    def reached(self, fn, g):
        key = self.by_creator.get(id(fn))
        if key is not None:
            self._add(key, g)
        return g

    def leaf(self, leaf, grad):
        if id(leaf) in self.wanted:
            self._add(id(leaf), grad)

    def _add(self, key, g):
        previous = self.sums.get(key)
        self.sums[key] = g.copy() if previous is None else previous + g


def _run_hooks(hooks, grad):
    """Each hook may replace the gradient (by returning one) or only look at it."""
    for hook in list(hooks or ()):
        replaced = hook(grad)
        if replaced is not None:
            grad = getattr(replaced, "_data", replaced)  # a Tensor or an array
    return grad
