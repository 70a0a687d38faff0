"""Data-parallel training over MPI (mpi4py).

Minibatch SGD averages per-sample gradients, so a global minibatch of B samples can be
split across K processes ("ranks"): each computes the gradient of its shard, and the
average over the whole batch is the sum over ranks of (b_r / B) x (the shard's mean
gradient). deepgrad scales each rank's loss by b_r / B before backward and then sums
the gradients with Allreduce, so every rank takes exactly the single-process step.

Launch with ``mpiexec -n K deepgrad train ... --distributed`` (or any script that calls
``fit``/``Trainer`` after :func:`init`). Without ``mpiexec`` the world has one rank and
nothing is communicated.

What crosses the network per step: the gradients, once, as float32 (or the parameters'
dtype) in buckets of about ``bucket_bytes``: 4 bytes x parameters, e.g. 2.1 MB for the
784-512-256-10 MLP. Per epoch a handful of numbers (the metric sums). At the start the
parameters and buffers are broadcast from rank 0 so every rank starts identical.
"""
import os
import sys
import time
import traceback

import numpy as np

from . import backend
from .autograd import Function, Tensor

_comm = None  # the MPI communicator once init() ran under mpiexec, else None
_LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


def launched_by_mpi():
    """True when this process was started by mpiexec (MPICH, Open MPI, Intel MPI)."""
    return any(v in os.environ for v in _LAUNCH_VARS)


def init():
    """Join the MPI world if started by mpiexec; returns ``(rank, size)``.

    Under MPI, an uncaught exception on any rank prints its traceback and aborts every
    rank, so a failure never leaves the others waiting forever in a collective.
    """
    global _comm
    if _comm is None and launched_by_mpi():
        try:
            from mpi4py import MPI
        except ImportError as err:
            raise ImportError("distributed training needs mpi4py: pip install "
                              "'deepgrad[mpi]'") from err
        _comm = MPI.COMM_WORLD
        if _comm.Get_size() > 1:
            sys.excepthook = _abort_on_exception
            backend.share_cores(_local_ranks())
    return rank(), world_size()


def _local_ranks():
    """How many ranks run on this host (MPICH and Open MPI say so in the environment)."""
    for var in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return world_size()


def _abort_on_exception(kind, value, tb):
    # One write, then a moment before the abort: mpiexec forwards each rank's stderr in
    # the background, and an abort can drop what it has not forwarded yet (the header
    # alone reached the terminal once, without the traceback).
    sys.stderr.write(f"[rank {rank()}/{world_size()}] fatal error, aborting all ranks:\n"
                     + "".join(traceback.format_exception(kind, value, tb)))
    sys.stderr.flush()
    time.sleep(0.5)
    abort(1)


def abort(code=1):
    """End every rank now (the MPI way to fail a collective job)."""
    if _comm is not None and _comm.Get_size() > 1:
        _comm.Abort(code)
    sys.exit(code)


def rank():
    """This process's rank in ``MPI.COMM_WORLD`` (0 without MPI)."""
    return _comm.Get_rank() if _comm is not None else 0


def world_size():
    """The number of processes (1 without MPI or without ``mpiexec``)."""
    return _comm.Get_size() if _comm is not None else 1


def is_main():
    """Rank 0 logs, prints and writes files."""
    return rank() == 0


def is_distributed():
    """True when more than one process runs."""
    return world_size() > 1


def _host(array):
    return array.get() if backend.get_array_module(array) is not np else array


def broadcast_arrays(arrays, root=0):
    """Overwrite each array in place with rank ``root``'s values."""
    if not is_distributed():
        return
    for a in arrays:
        host = np.ascontiguousarray(_host(a))
        _comm.Bcast(host, root=root)
        a[...] = backend.get_array_module(a).asarray(host)


def broadcast_model(model, root=0):
    """Make every rank's parameters and buffers equal to rank ``root``'s."""
    broadcast_arrays([p._data for p in model.parameters()] + list(model.buffers()), root)


def broadcast_object(obj, root=0):
    """A small Python object (config, seed) from ``root`` to every rank."""
    return _comm.bcast(obj, root=root) if is_distributed() else obj


def allreduce_sum(values):
    """Sum a dict of numbers over ranks (epoch metrics)."""
    if not is_distributed():
        return dict(values)
    keys = sorted(values)
    total = np.array([float(values[k]) for k in keys])
    from mpi4py import MPI
    _comm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
    return dict(zip(keys, total.tolist()))


def gather(obj, root=0):
    """Every rank's ``obj`` as a list on ``root`` (None elsewhere); ``[obj]`` on one
    process."""
    return _comm.gather(obj, root=root) if is_distributed() else [obj]


def barrier():
    """Wait until every rank gets here (nothing on one process)."""
    if is_distributed():
        _comm.Barrier()


class GradientSync:
    """Average the gradients of ``params`` over ranks after backward, in buckets.

    Each rank backpropagates the *sum* of its shard's per-sample losses; the gradients
    are packed into a few contiguous buffers of about ``bucket_bytes`` each (one
    Allreduce per bucket instead of one per parameter), summed over ranks in place,
    and divided by the global batch size, which travels in the first bucket's extra
    last slot. The result is the gradient of the mean loss over the whole global
    batch: the single-process step. A parameter without a gradient on this rank (an
    empty shard) contributes zeros, so all ranks take part in every Allreduce.
    """

    def __init__(self, params, bucket_bytes=4 << 20):
        self.params = list(params)
        self.buckets, current, size = [], [], 0
        for p in self.params:
            current.append(p)
            size += p._data.nbytes
            if size >= bucket_bytes:
                self.buckets.append(current)
                current, size = [], 0
        if current:
            self.buckets.append(current)
        self._buffers = []
        for i, bucket in enumerate(self.buckets):
            dtype = np.result_type(*[p._data.dtype for p in bucket])
            extra = 1 if i == 0 else 0  # the sample count
            self._buffers.append(np.empty(sum(p.numel() for p in bucket) + extra, dtype=dtype))
        self.bytes_per_step = sum(b.nbytes for b in self._buffers)
        self.seconds = 0.0  # time spent in Allreduce (for the benchmark)
        self.calls = 0

    def __call__(self, local_count):
        """Sum gradients and counts over ranks; leave the global mean gradient in .grad."""
        import time
        from mpi4py import MPI
        for i, (bucket, buf) in enumerate(zip(self.buckets, self._buffers)):
            offset = 0
            for p in bucket:
                n = p.numel()
                buf[offset:offset + n] = 0 if p._grad is None else _host(p._grad).reshape(-1)
                offset += n
            if i == 0:
                buf[-1] = local_count
            start = time.perf_counter()
            _comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            self.seconds += time.perf_counter() - start
        total = self._buffers[0][-1]
        for bucket, buf in zip(self.buckets, self._buffers):
            offset = 0
            for p in bucket:
                n = p.numel()
                mean = buf[offset:offset + n].reshape(p.shape) / total
                if p._grad is None or backend.get_array_module(p._grad) is not np:
                    p._grad = backend.get_array_module(p._data).asarray(mean, dtype=p._data.dtype)
                else:
                    p._grad[...] = mean  # a leaf's grad owns its memory
                offset += n
        self.calls += 1


class AllreduceSum(Function):
    """Sum of a tensor over ranks, differentiable: the gradient is summed over ranks too
    (every rank's loss depends on the sum). Used by synchronised batch normalisation."""

    def forward(self, a):
        out = np.ascontiguousarray(_host(a)).copy()
        if is_distributed():
            from mpi4py import MPI
            _comm.Allreduce(MPI.IN_PLACE, out, op=MPI.SUM)
        return backend.get_array_module(a).asarray(out)

    def backward(self, g):
        return (self.forward(g),)


def allreduce_sum_tensor(x):
    """The sum of ``x`` over the ranks, differentiable: its backward sums the
    gradient over the ranks too."""
    return AllreduceSum()(x if isinstance(x, Tensor) else Tensor(x))


class _SyncStats:
    """Batch normalisation whose training statistics are taken over every rank's shard:
    the mean and variance of the global batch, as one process would compute them. The
    sums travel through :class:`AllreduceSum`, so the backward is exact as well."""

    def forward(self, x):
        if not (self.training and is_distributed()):
            return super().forward(x)
        from . import ops
        self._check_input(x, use_batch=False)
        c = self.num_features
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        n = allreduce_sum({"n": x.numel() // c})["n"]
        if n <= 1:
            raise ValueError(f"{self._label()}: batch statistics need more than 1 value per "
                             f"channel over all ranks, got {int(n)}")
        mean = allreduce_sum_tensor(ops.sum(x, axis=axes)) / n
        centred = x - ops.reshape(mean, shape)
        var = allreduce_sum_tensor(ops.sum(centred * centred, axis=axes)) / n
        y = centred / ops.sqrt(ops.reshape(var, shape) + self.eps)
        if self.affine:
            y = y * ops.reshape(self.weight, shape) + ops.reshape(self.bias, shape)
        if self.track_running_stats:
            buffers = self._buffers
            buffers["num_batches_tracked"] += 1
            f = (1.0 / float(buffers["num_batches_tracked"]) if self.momentum is None
                 else self.momentum)
            buffers["running_mean"][...] = (1 - f) * buffers["running_mean"] + f * mean._data
            buffers["running_var"][...] = ((1 - f) * buffers["running_var"]
                                           + f * var._data * (n / (n - 1)))
        return y


def convert_sync_batchnorm(model):
    """Make every BatchNorm1d/2d of ``model`` use statistics over all ranks (in place;
    state-dict keys and single-process behaviour are unchanged)."""
    from .nn.batchnorm import BatchNorm1d, BatchNorm2d
    synced = {BatchNorm1d: SyncBatchNorm1d, BatchNorm2d: SyncBatchNorm2d}
    for module in model.modules():
        if type(module) in synced:
            module.__class__ = synced[type(module)]
    return model


def _sync_classes():
    from .nn.batchnorm import BatchNorm1d, BatchNorm2d
    doc = ("{} whose training statistics are taken over every rank's shard (the\n"
           "global batch's mean and variance); on one process it computes what {} does.")
    one = type("SyncBatchNorm1d", (_SyncStats, BatchNorm1d), {
        "__module__": __name__, "__doc__": doc.format("BatchNorm1d", "BatchNorm1d")})
    two = type("SyncBatchNorm2d", (_SyncStats, BatchNorm2d), {
        "__module__": __name__, "__doc__": doc.format("BatchNorm2d", "BatchNorm2d")})
    return one, two


SyncBatchNorm1d, SyncBatchNorm2d = _sync_classes()
