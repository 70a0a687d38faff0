"""A Tensor as Python and NumPy values (``item``, ``float()``, ``np.asarray``), and its
``repr`` in PyTorch's style."""
import numpy as np

from . import backend


def numpy(self, *, force=False):
    """The values as a NumPy array, sharing memory on the CPU (copied from a GPU)."""
    if self.requires_grad and not force:
        raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; "
                           "use tensor.detach().numpy()")
    data = self._data
    return data.get() if hasattr(data, "get") else data


def _array(self, dtype=None, copy=None):
    """NumPy's protocol: ``np.asarray(t)`` shares memory, ``np.array(t)`` copies."""
    out = numpy(self)
    if dtype is not None and out.dtype != dtype:
        return out.astype(dtype)
    return out.copy() if copy else out


def item(self):
    """The value of a one-element tensor as a Python number."""
    if self._data.size != 1:
        raise RuntimeError(f"item(): a tensor with {self._data.size} elements cannot be "
                           f"converted to a Python number (only one-element tensors can)")
    return self._data.item()


def tolist(self):
    return numpy(self, force=True).tolist()


def _scalar(kind):
    def convert(self):
        if self._data.size != 1:
            raise TypeError(f"{kind.__name__}(): only one-element tensors can be converted "
                            f"to Python scalars, this one has shape {tuple(self.shape)}")
        return kind(self._data.item())
    return convert


def _bool(self):
    if self._data.size != 1:
        raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is "
                           f"ambiguous; use .any() or .all()")
    return bool(self._data.item())


def _index(self):
    if self._data.size != 1 or self.dtype.kind not in "iub":
        raise TypeError(f"only integer tensors of a single element can be used as an index, "
                        f"got dtype {self.dtype} and shape {tuple(self.shape)}")
    return int(self._data.item())


def _format(self, spec):
    if self._data.ndim == 0 and spec:
        return format(self._data.item(), spec)
    return format(repr(self), spec)


def _repr(self):
    data = numpy(self, force=True)
    extras = []
    if self.device.type != "cpu":
        extras.append(f"device='{self.device}'")
    if data.dtype not in (np.dtype(backend.default_dtype), np.int64, np.bool_):
        extras.append(f"dtype=deepgrad.{data.dtype.name}")
    if data.size == 0 and data.ndim != 1:
        extras.insert(0, f"size={tuple(data.shape)}")
    if self.creator is not None:
        extras.append(f"grad_fn={self.creator!r}")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    body = np.array2string(data, separator=", ", prefix="tensor(", threshold=1000,
                           edgeitems=3, max_line_width=80, formatter=_formatter(data))
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _repr_html(self):
    """A notebook's view: shape, dtype, device and the autograd record in a header, the
    values (as ``repr`` gives them, summarised when large) below."""
    import html
    facts = [f"shape {list(self._data.shape)}", str(self._data.dtype), str(self.device)]
    if self.creator is not None:
        facts.append(f"grad_fn {self.creator.name}")
    elif self.requires_grad:
        facts.append("requires grad")
    if self._grad is not None:
        facts.append("has .grad")
    return (f"<div><code>Tensor: {html.escape(' · '.join(facts))}</code>"
            f"<pre>{html.escape(_repr(self))}</pre></div>")


def _formatter(data):
    """PyTorch's number style: '1.' for whole floats, four decimals, else 1.0000e-05;
    every element right-aligned to the widest."""
    if data.dtype.kind != "f" or data.size == 0:
        return None
    finite = np.abs(data[np.isfinite(data)]).astype(np.float64)
    nonzero = finite[finite > 0]
    if finite.size and np.all(finite == np.round(finite)) and finite.max() < 1e8:
        style = lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)  # noqa: E731
    elif nonzero.size and (nonzero.max() >= 1e8 or nonzero.min() < 1e-4
                           or nonzero.max() / nonzero.min() > 1e3):
        style = lambda v: f"{v:.4e}" if np.isfinite(v) else str(v)  # noqa: E731
    else:
        style = lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)  # noqa: E731
    shown = data if data.size <= 1000 else np.concatenate([data.ravel()[:3], data.ravel()[-3:]])
    width = max(len(style(v)) for v in shown.ravel())
    return {"float_kind": lambda v: style(v).rjust(width)}
