"""Toy problems generated with NumPy: each returns ``(X float32, y)`` and is seeded.

Classification sets give integer labels (int64); ``regression_1d`` gives float targets.
"""
import numpy as np


def _check(name, n_samples, noise):
    if not isinstance(n_samples, (int, np.integer)) or n_samples <= 0:
        raise ValueError(f"{name}: n_samples must be a positive integer, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise!r}")


def _finish(x, y, gen, noise):
    x = x + noise * gen.standard_normal(x.shape)
    order = gen.permutation(len(x))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def two_moons(n_samples=200, noise=0.1, seed=0):
    """Two interleaved half circles, classes 0 and 1."""
    _check("two_moons", n_samples, noise)
    gen = np.random.default_rng(seed)
    n0 = n_samples // 2
    n1 = n_samples - n0
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(x, y, gen, noise)


def spirals(n_samples=300, n_classes=3, noise=0.2, seed=0):
    """``n_classes`` interleaved spiral arms in the plane (the MLP example's data)."""
    _check("spirals", n_samples, noise)
    if n_classes < 2:
        raise ValueError(f"spirals: n_classes must be >= 2, got {n_classes}")
    gen = np.random.default_rng(seed)
    per = np.full(n_classes, n_samples // n_classes)
    per[: n_samples % n_classes] += 1
    xs, ys = [], []
    for k, m in enumerate(per):
        r = np.linspace(0.0, 1.0, m)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, m) + noise * gen.standard_normal(m)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ys.append(np.full(m, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), gen, 0.0)


def circles(n_samples=200, noise=0.05, factor=0.5, seed=0):
    """A small circle (class 1) inside a large one (class 0)."""
    _check("circles", n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must be in (0, 1), got {factor}")
    gen = np.random.default_rng(seed)
    n0 = n_samples // 2
    n1 = n_samples - n0
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        factor * np.stack([np.cos(t1), np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(x, y, gen, noise)


def blobs(n_samples=300, n_classes=3, n_features=2, spread=1.0, seed=0):
    """Gaussian clusters around centres drawn in [-10, 10]^d."""
    _check("blobs", n_samples, spread)
    gen = np.random.default_rng(seed)
    centres = gen.uniform(-10, 10, size=(n_classes, n_features))
    y = np.arange(n_samples) % n_classes
    x = centres[y]
    return _finish(x, y, gen, spread)


def regression_1d(n_samples=200, noise=0.1, seed=0):
    """y = sin(2 pi x) + noise on x in [0, 1]: X (n, 1) float32, y (n, 1) float32."""
    _check("regression_1d", n_samples, noise)
    gen = np.random.default_rng(seed)
    x = gen.uniform(0, 1, size=(n_samples, 1))
    y = np.sin(2 * np.pi * x) + noise * gen.standard_normal(x.shape)
    return x.astype(np.float32), y.astype(np.float32)
