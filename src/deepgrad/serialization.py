"""Reading and writing the safetensors format, atomically and without pickle.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the raw little-endian bytes of every tensor. PyTorch, JAX and the ``safetensors``
package read the files written here, and this module reads theirs.

Everything read is checked before anything is allocated: the header length against the
file size, every dtype against the known ones, every shape against its byte range, the
byte ranges against the body. A file that fails a check raises
:class:`CheckpointError` saying what is wrong; no code in the file is ever run.
"""
import json
import os
import struct
import tempfile

import numpy as np

from . import backend

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit


class CheckpointError(ValueError):
    """A file is not a readable safetensors file (truncated, foreign, corrupt)."""


def atomic_write(path, data):
    """Write ``data`` (bytes) to ``path`` so that a crash leaves the old file or the new
    one, never a mix: temporary file in the same directory, fsync, rename, fsync dir."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode open() would
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(tensors, metadata=None):
    """Serialise ``{name: array}`` (NumPy, CuPy or Tensor) and string metadata to bytes."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):  # sorted: the same state always gives the same bytes
        array = _host(tensors[name])
        code = _CODES.get(array.dtype)
        if code is None:
            raise TypeError(f"cannot save {name!r}: dtype {array.dtype} is not supported")
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"safetensors metadata must map str to str; bad keys: {bad}")
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # align the body to 8 bytes, as the reference does
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_file(tensors, path, metadata=None):
    atomic_write(path, dumps(tensors, metadata))


def refuse_pickle(data, source="<bytes>"):
    """Raise :class:`CheckpointError` with the conversion recipe when ``data`` is a
    pickled PyTorch file (``torch.save``'s zip archive or its legacy raw pickle).

    A safetensors file starts with its header length and then ``{``; the zip and pickle
    magic numbers are only looked for when byte 8 is not ``{`` (a header of 640 bytes
    starts with the same two bytes as a protocol-2 pickle)."""
    head = bytes(data[:9])
    if len(head) == 9 and head[8:9] == b"{":
        return
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = "a zip archive (the format of torch.save, or a TorchScript model)"
    elif len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        kind = "a Python pickle (the legacy format of torch.save)"
    else:
        return
    name = source if source != "<bytes>" else "model.pt"
    raise CheckpointError(
        f"{source}: this is {kind}, which deepgrad never reads: unpickling a file can run "
        f"any code it contains. Convert it once where PyTorch is installed:\n"
        f"    import torch, safetensors.torch\n"
        f"    state = torch.load({name!r}, map_location='cpu', weights_only=True)\n"
        f"    safetensors.torch.save_file({{k: v.contiguous() for k, v in state.items()}}, "
        f"'model.safetensors')\n"
        f"and load 'model.safetensors' instead (for a nested checkpoint, save each flat "
        f"dict of tensors, such as state['model'], on its own).")


def loads(data, source="<bytes>"):
    """Parse safetensors bytes into ``({name: numpy array}, metadata dict)``.

    A pickled PyTorch file is refused with the recipe that converts it."""
    refuse_pickle(data, source)
    if len(data) < 8:
        raise CheckpointError(f"{source}: {len(data)} bytes is too short for a safetensors "
                              f"file (truncated or not a checkpoint)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise CheckpointError(f"{source}: the header claims {n} bytes but the file has "
                              f"{len(data) - 8} after the length field (truncated or not "
                              f"a safetensors file)")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{source}: the header is not valid JSON ({err}); not a "
                              f"safetensors file") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{source}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"{source}: __metadata__ must map strings to strings")
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        tensors[name] = _read_tensor(name, info, body, source)
    return tensors, metadata


def _read_tensor(name, info, body, source):
    where = f"{source}: tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where}: entry must have exactly dtype, shape, data_offsets")
    dtype = _DTYPES.get(info["dtype"])
    if dtype is None:
        raise CheckpointError(f"{where}: unknown dtype {info['dtype']!r}; known: "
                              f"{sorted(_DTYPES)}")
    shape, offsets = info["shape"], info["data_offsets"]
    if (not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape)
            or not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets)):
        raise CheckpointError(f"{where}: malformed shape {shape!r} or offsets {offsets!r}")
    begin, end = offsets
    count = 1
    for d in shape:
        count *= d
    nbytes = count * np.dtype(dtype).itemsize
    if not 0 <= begin <= end <= len(body) or end - begin != nbytes:
        raise CheckpointError(
            f"{where}: shape {shape} of {info['dtype']} needs {nbytes} bytes but its range "
            f"[{begin}, {end}) does not fit a body of {len(body)} bytes (truncated or "
            f"corrupt)")
    little = np.dtype(dtype).newbyteorder("<")
    return np.frombuffer(body[begin:end], dtype=little).astype(dtype).reshape(shape)


def read_bytes(path, missing="no checkpoint at"):
    """A file's bytes; a missing file is a FileNotFoundError saying ``missing`` and the
    path."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{missing} {path}") from None


def load_file(path):
    """Read a safetensors file: ``({name: numpy array}, metadata)``; checked, no pickle."""
    path = os.fspath(path)
    return loads(read_bytes(path), source=path)


def _host(array):
    """A NumPy array of ``array`` (a Tensor, CuPy or NumPy array)."""
    from .autograd import Tensor
    data = array._data if isinstance(array, Tensor) else array
    if backend.get_array_module(data) is not np:
        data = data.get()
    return np.asarray(data)
