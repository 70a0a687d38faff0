"""The 8x8 handwritten digits that scikit-learn bundles (1,797 images, 10 classes)."""
import numpy as np


def load_digits(flatten=True):
    """Return ``(X, y)``: X float32 scaled to [0, 1], (N, 64) or (N, 1, 8, 8); y int64."""
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("the digits dataset needs scikit-learn: "
                          "pip install 'deepgrad[data]'") from err
    bunch = _load()
    x = (bunch.data / 16.0).astype(np.float32)
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    return x, bunch.target.astype(np.int64)

