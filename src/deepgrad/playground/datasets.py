"""The network view's datasets: ``deepgrad.data``'s toy problems (and XOR, which it does
not have), each scaled into the square the page draws, split into train and test.

``noise`` is in the page's units (the square is [-EXTENT, EXTENT]^2): positional noise for
moons, circles, XOR and the blobs' spread, angular jitter for the spirals.
"""
import numpy as np

import deepgrad as dg

EXTENT = 1.5  # the page shows [-EXTENT, EXTENT] on both axes


def xor(n_samples=400, noise=0.1, seed=0):
    """Points in [-1, 1]^2 kept 0.1 away from the axes; class 1 where x * y > 0."""
    gen = np.random.default_rng(seed)
    x = gen.uniform(-1, 1, size=(n_samples, 2))
    x += 0.1 * np.sign(x)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    x = x + noise * gen.standard_normal(x.shape)
    return x.astype(np.float32), y


def points(cfg):
    """``(x, y)`` of the configured dataset, inside the drawn square."""
    n, noise, seed = cfg["samples"], cfg["noise"], cfg["seed"]
    name = cfg["dataset"]
    if name == "spirals":
        x, y = dg.data.spirals(n, n_classes=cfg["classes"], noise=noise, seed=seed)
    elif name == "moons":  # x in [-1, 2], y in [-0.5, 1]: centre and shrink
        x, y = dg.data.two_moons(n, noise=noise * 1.5, seed=seed)
        x = (x - np.float32([0.5, 0.25])) / np.float32(1.5)
    elif name == "circles":
        x, y = dg.data.circles(n, noise=noise, seed=seed)
    elif name == "xor":
        x, y = xor(n, noise=noise, seed=seed)
    else:  # centres in [-10, 10]^2, brought to [-1, 1]^2
        x, y = dg.data.blobs(n, n_classes=cfg["classes"], spread=10 * noise, seed=seed)
        x = x / np.float32(10)
    return x.astype(np.float32), y.astype(np.int64)


def n_classes(cfg):
    return cfg["classes"] if cfg["dataset"] in ("spirals", "blobs") else 2


def split(cfg):
    """``x_train, y_train, x_test, y_test`` (the split seeded by ``cfg["seed"]``)."""
    x, y = points(cfg)
    return dg.data.train_test_split(x, y, test_fraction=cfg["test_fraction"],
                                    seed=cfg["seed"])
