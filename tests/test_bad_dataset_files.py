"""Crafted bad dataset files, each refused cleanly (issue 11).

With the 12 bad safetensors files of test_checkpoint.py these make well over twenty bad
checkpoint and dataset files. Each must raise ``DatasetFileError`` (a ValueError) whose
message names the file, allocate no more than a few MB (tracemalloc) whatever its
header claims, and run no code (a pickle payload stays inert).
"""
import gzip
import io
import pickle
import struct
import tarfile
import tracemalloc

import numpy as np
import pytest

from deepgrad.data import images
from deepgrad.data.images import DatasetFileError

RECORD = 1 + 3 * 32 * 32
PEAK_LIMIT = 8 << 20  # bytes: far below any size the crafted headers claim


def idx_header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}i", *shape)


def idx(shape=(2, 3), code=0x08, body=None):
    data = np.zeros(shape, np.uint8).tobytes() if body is None else body
    return idx_header(code, shape) + data


HUGE = (2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1)

BAD_IDX = {
    "wrong magic": b"\x01\x02\x08\x01" + b"\x00" * 12,
    "unknown dtype code": idx(code=0x0A),
    "huge claimed size": idx_header(0x08, HUGE) + b"\x00" * 16,
    "huge claimed size, gzip": gzip.compress(idx_header(0x08, HUGE) + b"\x00" * 16),
    "more than a gzip can hold": gzip.compress(idx_header(0x08, (10_000, 10_000)) + b"\x00"),
    "negative dimension": idx_header(0x08, (2, -3)) + b"\x00" * 6,
    "zero dimensions": bytes([0, 0, 0x08, 0]) + b"\x00" * 4,
    "truncated header": bytes([0, 0, 0x08, 3]) + struct.pack(">i", 2),
    "truncated body": idx((4, 4))[:-5],
    "truncated body, gzip": gzip.compress(idx((4, 4))[:-5]),
    "trailing data": idx((2, 2)) + b"extra",
    "gzip garbage": b"\x1f\x8b" + bytes(range(256)) * 4,
    "truncated gzip stream": gzip.compress(idx((64, 64), body=bytes(range(256)) * 16))[:40],
}


def cifar_archive(members, compress=True):
    """A tar(.gz) of {name: bytes}; a value of None makes a symlink to /etc/passwd."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def records(n, label=3):
    r = np.zeros((n, RECORD), np.uint8)
    r[:, 0] = label
    return r.tobytes()


class _Payload:
    """Unpickling this would create ``MARKER``: it must never happen."""
    MARKER = None

    def __reduce__(self):
        return (open, (str(self.MARKER), "w"))


def huge_member_archive():
    """A tar header that claims a 3 GB member, with 1 KB of data behind it."""
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    info.size = 3 * 10 ** 9
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + b"\x00" * 1024)


def _half(data):
    return data[:len(data) // 2]


BAD_CIFAR = {
    "not gzip": lambda tmp: b"this is not an archive at all" * 10,
    "gzip but not tar": lambda tmp: gzip.compress(b"\x00\x01 not a tar " * 100),
    "missing member": lambda tmp: cifar_archive({"data_batch_1.bin": records(2)}),
    "records do not divide": lambda tmp: cifar_archive({"test_batch.bin": records(2) + b"x"}),
    "empty member": lambda tmp: cifar_archive({"test_batch.bin": b""}),
    "label out of range": lambda tmp: cifar_archive({"test_batch.bin": records(2, label=10)}),
    "symlink member": lambda tmp: cifar_archive({"test_batch.bin": None}),
    "duplicate member": lambda tmp: cifar_archive({"test_batch.bin": records(1),
                                                   "x/test_batch.bin": records(1)}),
    "truncated archive": lambda tmp: _half(cifar_archive({"test_batch.bin": records(40)})),
    "huge member header": lambda tmp: huge_member_archive(),
    "pickle payload (python version)": lambda tmp: cifar_archive(
        {"test_batch.bin": pickle.dumps(_Payload()), "test_batch": pickle.dumps(_Payload())}),
}


def _refused(path, read):
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFileError) as info:
            read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value), str(info.value)
    assert peak < PEAK_LIMIT, f"allocated {peak} bytes while refusing {path.name}"
    return str(info.value)


@pytest.mark.parametrize("name", sorted(BAD_IDX))
def test_bad_idx_file_is_refused(tmp_path, name):
    path = tmp_path / (name.replace(" ", "_").replace(",", "") + ".idx")
    path.write_bytes(BAD_IDX[name])
    _refused(path, images.read_idx)


@pytest.mark.parametrize("name", sorted(BAD_CIFAR))
def test_bad_cifar_archive_is_refused(tmp_path, name):
    _Payload.MARKER = tmp_path / "pwned"
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(BAD_CIFAR[name](tmp_path))
    _refused(path, lambda p: images.read_cifar10_binary(p, "test"))
    assert not _Payload.MARKER.exists(), "a pickle payload ran"


def test_good_files_still_read(tmp_path):
    """The checks refuse only bad files: a valid IDX (plain and gzip) and a valid
    archive read as before."""
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (tmp_path / "a.idx").write_bytes(idx((3, 4), body=a.tobytes()))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx((3, 4), body=a.tobytes())))
    np.testing.assert_array_equal(images.read_idx(tmp_path / "a.idx"), a)
    np.testing.assert_array_equal(images.read_idx(tmp_path / "a.idx.gz"), a)
    path = tmp_path / "c.tar.gz"
    path.write_bytes(cifar_archive({"test_batch.bin": records(3, label=9)}))
    x, y = images.read_cifar10_binary(path, "test")
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.float32 and (y == 9).all()


def test_count_of_bad_files():
    """Issue 11 asks for twenty crafted bad checkpoint and dataset files."""
    from test_checkpoint import BAD_FILES
    assert len(BAD_FILES) + len(BAD_IDX) + len(BAD_CIFAR) >= 20
