"""Worker processes for ``DataLoader(num_workers=K)``, as in ``torch.utils.data``.

The main process decides the indices of every batch (the sampler runs there only) and
hands them round-robin to K worker processes, ``prefetch_factor`` batches per worker
ahead of the one being consumed. Each worker fetches and collates its batches and sends
them back through one result queue; the main process delivers them in the order of
their indices. So the batches and their order are those of ``num_workers=0``, whatever
the timing.

Failures reach the main process instead of hanging it:

* an exception in a worker (in ``__getitem__``, ``collate_fn``, ``worker_init_fn``) is
  raised again there, of the same type where possible, with the sample indices and the
  worker's traceback in its message;
* a worker that dies (killed, out of memory, ``os._exit``) is noticed within about
  ``2 * LIVENESS_CHECK`` seconds and raises ``RuntimeError`` naming its worker id, pid,
  exit code and the signal that killed it;
* ``timeout > 0`` bounds the wait for each batch.

Workers exit when told to, and on their own when the main process is gone. Inside a
worker, :func:`get_worker_info` says which one it is; outside, it returns None.
"""
import os
import pickle
import queue
import random
import signal
import time
import traceback
import weakref

import numpy as np

from .. import backend
from ..autograd import Tensor

LIVENESS_CHECK = 0.5
"""Seconds between checks that the workers (in the main process) or the main process
(in a worker) are still alive."""


class WorkerInfo:
    """Who a worker is: ``id`` in [0, num_workers), ``num_workers``, the ``seed`` its
    generators were seeded with, and its copy of the ``dataset``."""

    def __init__(self, id, num_workers, seed, dataset):  # noqa: A002 - PyTorch's name
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, "
                f"seed={self.seed}, dataset={type(self.dataset).__name__})")


_worker_info = None


def get_worker_info():
    """This worker's :class:`WorkerInfo` inside a DataLoader worker, None elsewhere."""
    return _worker_info


class WorkerError:
    """An exception raised in a worker, carried to the main process as its type and
    text (tracebacks do not pickle)."""

    def __init__(self, where, err):
        self.exc_type = type(err)
        self.message = (f"Caught {type(err).__name__} {where}.\nOriginal "
                        + "".join(traceback.format_exception(err)))

    def reraise(self):
        message = self.message
        if self.exc_type is KeyError:  # KeyError shows the repr of its argument
            message = _KeyErrorMessage(message)
        try:
            err = self.exc_type(message)
        except Exception:  # an exception type that needs other arguments
            raise RuntimeError(message) from None
        raise err


class _KeyErrorMessage(str):
    def __repr__(self):
        return str(self)


# -- what travels between the processes -------------------------------------------------
# Batches go as pickles of their arrays: Tensors in the usual containers are replaced by
# their arrays on the way, so that nothing of a Tensor but its values crosses over.

class _TensorOnTheWire:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def _pack(obj):
    if isinstance(obj, Tensor):
        return _TensorOnTheWire(obj._data)
    if type(obj) in (list, tuple):
        return type(obj)(_pack(x) for x in obj)
    if type(obj) is dict:
        return {k: _pack(v) for k, v in obj.items()}
    return obj


def _unpack(obj):
    if type(obj) is _TensorOnTheWire:
        return Tensor(obj.array)
    if type(obj) in (list, tuple):
        return type(obj)(_unpack(x) for x in obj)
    if type(obj) is dict:
        return {k: _unpack(v) for k, v in obj.items()}
    return obj


def _dumps(obj):
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _dumps_error(where, err):
    error = WorkerError(where, err)
    try:
        return _dumps(error)
    except Exception:  # e.g. an exception class defined inside a function
        error.exc_type = RuntimeError
        return _dumps(error)


def _short(indices, most=8):
    indices = indices.tolist() if hasattr(indices, "tolist") else indices
    if not isinstance(indices, list):
        return str(indices)
    head = ", ".join(str(i) for i in indices[:most])
    return f"[{head}{', ...' if len(indices) > most else ''}] ({len(indices)} samples)"


# -- the worker process ------------------------------------------------------------------

def _worker_loop(worker_id, num_workers, seed, dataset, fetch, init_fn, tasks, results,
                 parent_pid):
    """Seed, run ``init_fn``, then answer ``(key, number, indices)`` tasks with
    ``(key, number, pickled batch or WorkerError)`` until told to stop (None)."""
    global _worker_info
    try:
        random.seed(seed)
        np.random.seed(seed % 2 ** 32)
        backend.manual_seed(seed)
        backend.set_num_threads(1)  # K workers beside the main process: one thread each
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        if init_fn is not None:
            try:
                init_fn(worker_id)
            except Exception as err:
                results.put((None, worker_id, _dumps_error(
                    f"in DataLoader worker process {worker_id} (in worker_init_fn)", err)))
                return
        while True:
            try:
                task = tasks.get(timeout=LIVENESS_CHECK)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process is gone
                    break
                continue
            if task is None:
                break
            key, number, indices = task
            try:
                payload = _dumps(_pack(fetch(indices)))
            except Exception as err:
                payload = _dumps_error(f"in DataLoader worker process {worker_id} while "
                                       f"fetching the samples {_short(indices)}", err)
            results.put((key, number, payload))
    except KeyboardInterrupt:  # Ctrl-C reaches the workers too; the main process reports it
        pass
    results.cancel_join_thread()  # the main process no longer reads: do not wait for it


# -- the main process's side -------------------------------------------------------------

class WorkerPool:
    """K worker processes answering one pass of index batches at a time."""

    def __init__(self, fetch, dataset, num_workers, prefetch_factor, timeout, init_fn,
                 context, base_seed):
        self.num_workers, self.prefetch_factor, self.timeout = (num_workers, prefetch_factor,
                                                                timeout)
        self.results = context.Queue()
        self.tasks = [context.Queue() for _ in range(num_workers)]
        self.processes = []  # the started ones, which _shutdown stops
        self.key = 0  # the current pass; results of an abandoned one are dropped
        self._dead_seen = False
        self._stop = weakref.finalize(self, _shutdown, self.processes, self.tasks,
                                      self.results)
        try:
            for i in range(num_workers):
                p = context.Process(target=_worker_loop, daemon=True, args=(
                    i, num_workers, (base_seed + i) % 2 ** 63, dataset, fetch, init_fn,
                    self.tasks[i], self.results, os.getpid()))
                p.start()  # with 'spawn': pickles the dataset, which may fail
                self.processes.append(p)
        except BaseException:
            self.shutdown()
            raise

    @property
    def alive(self):
        return self._stop.alive

    def shutdown(self):
        self._stop()

    def run(self, batches):
        """Yield the fetched batch of every index batch of ``batches``, in order."""
        self.key += 1
        key, batches = self.key, enumerate(batches)
        sent = received = 0
        early = {}  # batch number -> payload that came before its turn

        def send():
            nonlocal sent
            item = next(batches, None)
            if item is not None:
                number, indices = item
                self.tasks[number % self.num_workers].put((key, number, indices))
                sent += 1

        for _ in range(self.prefetch_factor * self.num_workers):
            send()
        while received < sent:
            while received not in early:
                if self.key != key:
                    raise RuntimeError("DataLoader: this iterator was superseded by a newer "
                                       "iter(loader); with persistent_workers=True both "
                                       "would share the same workers")
                self._receive(key, early)
            payload = early.pop(received)
            received += 1
            send()
            batch = pickle.loads(payload)
            if isinstance(batch, WorkerError):
                batch.reraise()
            yield _unpack(batch)

    def _receive(self, key, early):
        """Wait for one result of pass ``key`` (or raise: worker error, death, timeout)."""
        start = time.monotonic()
        while True:
            wait = LIVENESS_CHECK
            if self.timeout:
                wait = max(0.0, min(wait, start + self.timeout - time.monotonic()))
            try:
                got_key, number, payload = self.results.get(timeout=wait)
            except queue.Empty:
                self._check_alive()
                if self.timeout and time.monotonic() - start >= self.timeout:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                       f"waiting for a batch from its workers") from None
                continue
            if got_key is None:  # worker_init_fn failed
                self.shutdown()
                pickle.loads(payload).reraise()
            if got_key == key:
                early[number] = payload
                return

    def _check_alive(self):
        """Raise if a worker has died. A worker that died is given one more wait for a
        message it may have sent first (its worker_init_fn's error)."""
        dead = [(i, p) for i, p in enumerate(self.processes) if not p.is_alive()]
        if not dead:
            return
        if not self._dead_seen:
            self._dead_seen = True
            return
        self.shutdown()
        who = ", ".join(f"pid {p.pid}, exit code {p.exitcode}" for _, p in dead)
        how = "; ".join(f"worker {i} of {self.num_workers} {_death(p.exitcode)}"
                        for i, p in dead)
        raise RuntimeError(f"DataLoader worker ({who}) exited unexpectedly: {how} (SIGKILL "
                           f"is often the out-of-memory killer)")


def _death(code):
    """How a worker process ended, in words: its signal's name, or its exit code."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by signal {-code} ({name})"
    return f"exited with code {code} without sending its batch"


def _shutdown(processes, tasks, results):
    for q in tasks:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 2 * LIVENESS_CHECK
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.terminate()
            p.join(LIVENESS_CHECK)
    for q in (*tasks, results):
        q.cancel_join_thread()
        q.close()
