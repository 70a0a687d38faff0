"""Fetching dataset files: download (urllib), SHA-256 verification, an atomic cache.

``fetch(name, sha256, mirrors, cache_dir, offline_dir=None, download=True)`` returns the
path of a verified copy of file ``name``:

1. in ``offline_dir`` if given (files put there by hand; never any network access);
2. else in ``cache_dir`` if a copy with the right SHA-256 is already there;
3. else downloaded from the first mirror that works (``mirror + name``), streamed into a
   temporary file in ``cache_dir`` while hashing, fsynced, checked, and only then renamed
   to its final name (``os.replace`` is atomic), so an interrupted or corrupted download
   never leaves a file that looks complete.
"""
import hashlib
import os
import tempfile
import urllib.error
import urllib.request

CHUNK = 1 << 20


def sha256_of(path):
    """The hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def download_file(url, dest, sha256, timeout=60):
    """Download ``url`` to ``dest`` atomically, checking its SHA-256 on the way.

    Raises ``ValueError`` (nothing written) when the hash differs, and lets urllib's
    ``URLError``/``OSError`` through when the transfer fails.
    """
    directory = os.path.dirname(os.path.abspath(dest))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(dest) + ".", suffix=".part",
                               dir=directory)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as src:
            for block in iter(lambda: src.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if sha256 is not None and got != sha256:
            raise ValueError(f"download of {url}: SHA-256 is {got}, expected {sha256}; "
                             f"the file was discarded")
        os.replace(tmp, dest)
        _fsync_dir(directory)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return dest


def fetch(name, sha256, mirrors, cache_dir, offline_dir=None, download=True, timeout=60):
    """The path of a verified copy of ``name`` (see the module docstring for the order)."""
    if offline_dir is not None:
        path = os.path.join(os.fspath(offline_dir), name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{name}: not found in the offline directory "
                                    f"{offline_dir} (expected {path})")
        _verify(path, sha256)
        return path
    cache_dir = os.fspath(cache_dir)
    dest = os.path.join(cache_dir, name)
    if os.path.isfile(dest):
        if sha256 is None or sha256_of(dest) == sha256:
            return dest
        os.remove(dest)  # a stale or damaged copy: fetch it again
    if not download:
        raise FileNotFoundError(f"{name}: not in {cache_dir} and download=False; download "
                                f"it from {mirrors[0] + name} or pass download=True")
    errors = []
    for mirror in mirrors:
        url = mirror + name
        try:
            return download_file(url, dest, sha256, timeout=timeout)
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"{url}: {err}")
    raise RuntimeError(f"could not download {name}:\n  " + "\n  ".join(errors))


def _verify(path, sha256):
    if sha256 is not None:
        got = sha256_of(path)
        if got != sha256:
            raise ValueError(f"{path}: SHA-256 is {got}, expected {sha256}")

