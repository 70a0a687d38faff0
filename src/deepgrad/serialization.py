"""Reading and writing the safetensors format, atomically and without pickle.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the raw little-endian bytes of every tensor. PyTorch, JAX and the ``safetensors``
package read the files written here, and this module reads theirs.

Everything read is checked before anything is allocated, as strictly as the format's
reference reader (``safetensors``) checks it: the header length against the file size,
the header as strict JSON, every dtype against the format's, every shape against its
byte range, and the byte ranges, sorted by offset, tiling the data section exactly (no
overlap, no hole, no trailing bytes). A file that fails a check raises
:class:`CheckpointError` naming the file, the tensors and the offsets; no code in the
file is ever run. ``dg.load``, the checkpoints and the datasets all read through
:func:`loads`.
"""
import json
import math
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
# The format's dtypes and their sizes in bits; deepgrad holds those NumPy has (_DTYPES).
_BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
         "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16,
         "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64,
         "F64": 64, "I64": 64, "U64": 64}
MAX_HEADER = 100_000_000  # the reference implementation's limit


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

    Exactly as strict as the format and its reference reader (the ``safetensors``
    package): the header is UTF-8 JSON, an object of tensor entries
    ``{"dtype", "shape", "data_offsets"}`` (other fields are ignored, as there) and an
    optional ``__metadata__`` of strings; sorted by offset, the tensors' byte ranges tile
    the data section exactly: no overlap, no range named twice, no hole, nothing after the
    last one, so that one file cannot be read as two things. The whole layout is checked
    before any array is made. A pickled PyTorch file is refused with the recipe that
    converts it."""
    try:
        return _loads(data, source)
    except CheckpointError:
        # not a safetensors file: say so with the recipe if it is a pickle (looked for only
        # now, since a header may start with blanks and a length that reads as its magic)
        refuse_pickle(data, source)
        raise


def _loads(data, source):
    if len(data) < 8:
        raise CheckpointError(f"{source}: {len(data)} bytes is too short for a safetensors "
                              f"file (truncated or not a checkpoint)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise CheckpointError(f"{source}: the header claims {n} bytes but the file has "
                              f"{len(data) - 8} after the length field (truncated or not "
                              f"a safetensors file)")
    header = _parse_header(bytes(data[8:8 + n]), source)
    metadata = _metadata(header, source)
    entries = {}
    for name, info in header.pairs:  # every entry, even one a later duplicate replaces
        if name != "__metadata__":
            entries[name] = _entry(name, info, source)
    body = memoryview(data)[8 + n:]
    _check_layout(entries, len(body), source)
    tensors = {}
    for name, (code, shape, begin, end) in entries.items():
        tensors[name] = _read_tensor(name, code, shape, body[begin:end], source)
    return tensors, metadata


class _Object(dict):
    """A JSON object that remembers its (key, value) pairs in order, duplicates too."""
    pairs = ()


def _object(pairs):
    obj = _Object(pairs)  # the last of duplicate keys wins, as in the reference reader
    obj.pairs = pairs
    return obj


class _NotUnsigned(int):
    """A JSON integer that is no size or offset: negative (``-0`` too) or past 2**64 - 1
    (the reference reader reads it as a float)."""

    def __repr__(self):
        return self.text


def _int(text):
    value = int(text)
    if value >= 0 and not text.startswith("-") and value < 2 ** 64:
        return value
    value = _NotUnsigned(value)
    value.text = text
    return value


def _float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _constant(text):
    raise ValueError(f"{text} is not JSON")


def _parse_header(raw, source):
    """The header bytes as a JSON object (strict UTF-8 and strict JSON: no NaN, no lone
    surrogate, no byte-order mark)."""
    try:
        text = raw.decode("utf-8")
        header = json.loads(text, object_pairs_hook=_object, parse_int=_int,
                            parse_float=_float, parse_constant=_constant)
        json.dumps(header, ensure_ascii=False).encode("utf-8")  # lone surrogates (\ud800)
    except (UnicodeError, ValueError) as err:
        raise CheckpointError(f"{source}: the header is not valid JSON ({err}); not a "
                              f"safetensors file") from None
    if not isinstance(header, _Object):
        raise CheckpointError(f"{source}: the header is not a JSON object")
    return header


def _metadata(header, source):
    given = [value for key, value in header.pairs if key == "__metadata__"]
    if len(given) > 1:
        raise CheckpointError(f"{source}: the header has __metadata__ {len(given)} times")
    metadata = given[0] if given else None
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str)
                                                 for v in metadata.values()):
        raise CheckpointError(f"{source}: __metadata__ must map strings to strings, got "
                              f"{metadata!r}")
    return dict(metadata)


def _entry(name, info, source):
    """``(dtype code, shape, begin, end)`` of a header entry, its form checked."""
    where = f"{source}: tensor {name!r}"
    if not isinstance(info, _Object):
        raise CheckpointError(f"{where}: entry must be an object with dtype, shape and "
                              f"data_offsets, got {info!r}")
    fields = [key for key, _ in info.pairs if key in ("dtype", "shape", "data_offsets")]
    if sorted(fields) != ["data_offsets", "dtype", "shape"]:
        raise CheckpointError(f"{where}: entry must have dtype, shape and data_offsets once "
                              f"each, has {fields}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(code, str) or code not in _BITS:
        raise CheckpointError(f"{where}: unknown dtype {code!r}; the format's dtypes: "
                              f"{sorted(_BITS)}")
    if (not isinstance(shape, list) or not all(type(d) is int for d in shape)
            or not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets)):
        raise CheckpointError(f"{where}: malformed shape {shape!r} or data_offsets "
                              f"{offsets!r} (non-negative integers; offsets a pair)")
    return code, shape, offsets[0], offsets[1]


def _check_layout(entries, size, source):
    """Sorted by offset, the byte ranges must tile ``[0, size)`` exactly, and each must
    hold its shape's bytes (the reference reader's validation, its overflow rule too)."""
    position, previous = 0, None
    for name, (code, shape, begin, end) in sorted(entries.items(), key=lambda e: e[1][2:]):
        where = f"{source}: tensor {name!r} at data_offsets [{begin}, {end})"
        if end < begin:
            raise CheckpointError(f"{where}: the range ends before it begins")
        if begin < position:
            what = ("names the same bytes as" if (begin, end) == previous[1]
                    else "overlaps")
            raise CheckpointError(f"{where} {what} tensor {previous[0]!r} at "
                                  f"[{previous[1][0]}, {previous[1][1]}) (byte ranges may "
                                  f"not overlap)")
        if begin > position:
            after = f"after tensor {previous[0]!r}" if previous else "at the start"
            raise CheckpointError(f"{where}: bytes [{position}, {begin}) {after} belong to "
                                  f"no tensor (a hole in the data section)")
        count = 1
        for d in shape:  # the reference reader's overflow check, in the same order
            count *= d
            if count >= 2 ** 64:
                raise CheckpointError(f"{where}: shape {shape} has too many elements")
        bits = count * _BITS[code]
        if bits >= 2 ** 64:
            raise CheckpointError(f"{where}: shape {shape} of {code} is too large")
        if bits % 8 or end - begin != bits // 8:
            raise CheckpointError(f"{where}: shape {shape} of {code} needs "
                                  f"{bits / 8:g} bytes, the range holds {end - begin}")
        position, previous = end, (name, (begin, end))
    if position != size:
        last = (f"the last tensor {previous[0]!r} ends at {position}" if previous
                else "there are no tensors")
        raise CheckpointError(f"{source}: {last} but the data section has {size} bytes: "
                              f"{size - position} trailing byte(s) belong to no tensor "
                              f"(truncated, or not all of the file is described)")


def _read_tensor(name, code, shape, raw, source):
    dtype = _DTYPES.get(code)
    if dtype is None:
        raise CheckpointError(f"{source}: tensor {name!r} has dtype {code}, which deepgrad "
                              f"has no tensors of; supported: "
                              f"{sorted(_DTYPES)}")
    little = np.dtype(dtype).newbyteorder("<")
    try:
        return np.frombuffer(raw, dtype=little).astype(dtype).reshape(shape)
    except ValueError as err:  # an empty shape too large for NumPy, e.g. (0, 2**62, 2**62)
        raise CheckpointError(f"{source}: tensor {name!r} of shape {shape}: {err}") from None


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
