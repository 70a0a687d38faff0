"""Reading one batch: ``_Fetcher`` turns an index batch into the collated samples
(``dataset[i]``, ``__getitems__`` or, with the default collate, ``get_batch`` in one
indexing operation, whose result ``_as_batch`` shapes as default_collate's), in the
main process or in a worker, and adds a note naming the failing samples to an
exception raised by the dataset or ``collate_fn``.
"""
import numpy as np

from .. import backend
from ..autograd import Tensor
from .collate import default_collate


class _Fetcher:
    """One task: the samples of an index batch, collated (in the main process or in a
    worker). Names the failing index on an exception raised by the dataset."""

    def __init__(self, dataset, collate_fn, auto_collation):
        self.dataset, self.collate_fn, self.auto_collation = dataset, collate_fn, auto_collation
        self.whole_batches = (auto_collation and collate_fn is default_collate
                              and callable(getattr(dataset, "get_batch", None)))
        self.getitems = auto_collation and callable(getattr(dataset, "__getitems__", None))

    def __call__(self, indices):
        if not self.auto_collation:  # one index, one sample
            return self.collate_fn(self._samples([indices])[0])
        if self.whole_batches:
            try:
                return _as_batch(self.dataset.get_batch(np.asarray(indices)))
            except Exception as err:
                err.add_note(f"DataLoader: raised by dataset.get_batch() for the samples "
                             f"{_listed(indices)}")
                raise
        keys = indices.tolist() if isinstance(indices, np.ndarray) else list(indices)
        samples = self._samples(keys)
        try:
            return self.collate_fn(samples)
        except Exception as err:
            err.add_note(f"DataLoader: raised by collate_fn on the samples {_listed(keys)}")
            raise

    def _samples(self, keys):
        if self.getitems:
            try:
                return self.dataset.__getitems__(keys)
            except Exception as err:
                err.add_note(f"DataLoader: raised by dataset.__getitems__() for the "
                             f"samples {_listed(keys)}")
                raise
        samples = []
        try:
            for key in keys:
                samples.append(self.dataset[key])
        except Exception as err:  # a note, shown under the traceback: the failing index
            err.add_note(f"DataLoader: raised by dataset[{key!r}]")
            raise
        return samples


def _listed(indices, most=8):
    indices = indices.tolist() if isinstance(indices, np.ndarray) else list(indices)
    shown = ", ".join(str(i) for i in indices[:most])
    return f"[{shown}{', ...' if len(indices) > most else ''}]"


def _as_batch(batch):
    """``get_batch``'s result as default_collate's: arrays as Tensors, a tuple as a list."""
    if isinstance(batch, Tensor):
        return batch
    if backend.is_array(batch):
        return Tensor(batch)
    if isinstance(batch, dict):
        return {k: _as_batch(v) for k, v in batch.items()}
    if type(batch) in (tuple, list):
        return [_as_batch(x) for x in batch]
    return batch
