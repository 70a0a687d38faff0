"""One entry point for every dataset: ``dg.data.load(name)`` returns ``(X, y)`` arrays."""
from . import digits, toy

# name -> (loader, one-line description)
DATASETS = {
    "digits": (lambda: digits.load_digits(flatten=True), "8x8 handwritten digits, 1,797 images (scikit-learn)"),
    "digits-images": (lambda: digits.load_digits(flatten=False), "the digits as 1x8x8 images"),
    "moons": (lambda: toy.two_moons(1000, noise=0.15), "two interleaved half circles"),
    "spirals": (lambda: toy.spirals(900, n_classes=3), "three spiral arms"),
    "circles": (lambda: toy.circles(1000, noise=0.08), "a circle inside a circle"),
    "blobs": (lambda: toy.blobs(900, n_classes=3), "three Gaussian clusters"),
}


def load(name):
    """Load dataset ``name``; an unknown name lists the known ones."""
    try:
        loader, _ = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
    return loader()
