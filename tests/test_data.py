"""Data: DataLoader sampling (in order, shuffle, with replacement), datasets, toy sets."""
import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.data import (DataLoader, Dataset, Subset, TensorDataset, blobs, circles,
                           load_digits, random_split, regression_1d, spirals,
                           train_test_split, two_moons)

N = 23


def _dataset(n=N):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


def _epoch(loader):
    """The label (= sample index) batches of one pass."""
    return [yb.numpy().copy() for _, yb in loader]


def test_in_order_batches():
    loader = DataLoader(_dataset(), batch_size=5)
    batches = list(loader)
    assert len(loader) == len(batches) == math.ceil(N / 5)
    xb, yb = batches[0]
    assert isinstance(xb, dg.Tensor) and isinstance(yb, dg.Tensor)
    assert xb.shape == (5, 2) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in batches]), np.arange(N))
    assert [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(batches[1][0].numpy(), np.arange(10, 20).reshape(5, 2))


def test_shuffle_covers_every_sample_once_per_epoch():
    loader = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=1)
    orders = []
    for _ in range(3):
        seen = np.concatenate(_epoch(loader))
        np.testing.assert_array_equal(np.sort(seen), np.arange(N))
        orders.append(seen)
    assert not np.array_equal(orders[0], np.arange(N))
    assert not np.array_equal(orders[0], orders[1])  # each epoch has its own order
    assert not np.array_equal(orders[1], orders[2])


def test_replacement_draws_batch_size_indices_from_the_whole_set():
    b = 4
    loader = DataLoader(_dataset(), batch_size=b, replacement=True, seed=2)
    assert len(loader) == math.ceil(N / b)
    draws = []
    for _ in range(40):
        batches = _epoch(loader)
        assert len(batches) == math.ceil(N / b)
        assert all(len(x) == b for x in batches[:-1])
        assert sum(len(x) for x in batches) == N  # an epoch is N samples
        draws.append(np.concatenate(batches))
    allx = np.concatenate(draws)
    assert allx.min() >= 0 and allx.max() < N
    assert set(allx.tolist()) == set(range(N))  # every index can be drawn
    # with replacement: an epoch typically repeats some samples and misses others
    assert any(len(np.unique(d)) < N for d in draws)


def test_replacement_with_drop_last():
    loader = DataLoader(_dataset(), batch_size=4, replacement=True, drop_last=True, seed=2)
    batches = _epoch(loader)
    assert len(loader) == len(batches) == N // 4
    assert all(len(x) == 4 for x in batches)


@pytest.mark.parametrize("shuffle", [False, True])
def test_drop_last(shuffle):
    loader = DataLoader(_dataset(), batch_size=5, shuffle=shuffle, drop_last=True, seed=0)
    batches = _epoch(loader)
    assert len(loader) == len(batches) == N // 5
    assert all(len(x) == 5 for x in batches)
    seen = np.concatenate(batches)
    assert len(np.unique(seen)) == len(seen) == 20


def test_drop_last_with_an_exact_multiple_keeps_everything():
    loader = DataLoader(_dataset(20), batch_size=5, drop_last=True)
    assert len(loader) == 4 and sum(len(x) for x in _epoch(loader)) == 20


def test_same_seed_same_order():
    a = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=7)
    b = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=7)
    c = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=8)
    for _ in range(2):
        ea, eb, ec = (np.concatenate(_epoch(x)) for x in (a, b, c))
        np.testing.assert_array_equal(ea, eb)
        assert not np.array_equal(ea, ec)


def test_manual_seed_fixes_the_order_when_no_seed_is_given():
    dg.manual_seed(5)
    a = np.concatenate(_epoch(DataLoader(_dataset(), batch_size=4, shuffle=True)))
    dg.manual_seed(5)
    b = np.concatenate(_epoch(DataLoader(_dataset(), batch_size=4, shuffle=True)))
    np.testing.assert_array_equal(a, b)


def test_batch_indices_is_a_function_of_seed_and_epoch():
    loader = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=3)
    first = np.concatenate(loader.batch_indices(0))
    list(loader)
    list(loader)
    np.testing.assert_array_equal(np.concatenate(loader.batch_indices(0)), first)


def test_a_dataset_without_get_batch_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), np.int64(i % 2)

    batches = list(DataLoader(Squares(), batch_size=3))
    assert [x.shape for x, _ in batches] == [(3, 2), (3, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1][0].numpy(), [[3, 9], [4, 16], [5, 25]])
    np.testing.assert_array_equal(batches[1][1].numpy(), [1, 0, 1])


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0), r"DataLoader: batch_size.*0"),
    (dict(batch_size=2.0), r"DataLoader: batch_size.*2\.0"),
    (dict(shuffle=True, replacement=True), r"DataLoader.*shuffle.*replacement"),
])
def test_loader_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(_dataset(), **kwargs)


def test_loader_rejects_an_empty_dataset():
    with pytest.raises(ValueError, match=r"DataLoader.*empty"):
        DataLoader(TensorDataset(np.zeros((0, 2))))


# -- datasets -----------------------------------------------------------------------------------

def test_tensor_dataset():
    ds = TensorDataset(np.zeros((5, 3)), dg.tensor(np.arange(5)), [1, 2, 3, 4, 5])
    assert len(ds) == 5
    x, y, z = ds[2]
    assert x.shape == (3,) and y == 2 and z == 3


def test_tensor_dataset_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match=r"TensorDataset: array 1 has 4 rows.*array 0 has 5"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"TensorDataset.*at least one"):
        TensorDataset()


def test_subset_and_random_split():
    ds = _dataset()
    parts = random_split(ds, [10, 8, 5], seed=0)
    assert [len(p) for p in parts] == [10, 8, 5]
    labels = np.concatenate([DataLoader(p, batch_size=100).__iter__().__next__()[1].numpy()
                             for p in parts])
    np.testing.assert_array_equal(np.sort(labels), np.arange(N))
    halves = random_split(ds, [0.5, 0.5], seed=0)
    assert sum(len(h) for h in halves) == N
    sub = Subset(ds, [4, 2])
    assert sub[1][1] == 2
    with pytest.raises(ValueError, match=r"random_split.*23 samples"):
        random_split(ds, [10, 10])


@pytest.mark.parametrize("make,classes", [
    (lambda: two_moons(101, seed=1), 2),
    (lambda: spirals(100, n_classes=3, seed=1), 3),
    (lambda: circles(100, seed=1), 2),
    (lambda: blobs(90, n_classes=4, n_features=5, seed=1), 4),
])
def test_toy_classification_sets(make, classes):
    x, y = make()
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.ndim == 2 and y.shape == (len(x),)
    assert set(np.unique(y).tolist()) == set(range(classes))
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # balanced classes
    x2, y2 = make()
    np.testing.assert_array_equal(x, x2)  # seeded
    np.testing.assert_array_equal(y, y2)


def test_toy_shapes():
    assert two_moons(101)[0].shape == (101, 2)
    assert blobs(90, n_classes=4, n_features=5)[0].shape == (90, 5)
    x, y = regression_1d(50)
    assert x.shape == (50, 1) and y.shape == (50, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1


def test_toy_sets_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"two_moons: n_samples.*0"):
        two_moons(0)
    with pytest.raises(ValueError, match=r"circles: noise.*-1"):
        circles(10, noise=-1)
    with pytest.raises(ValueError, match=r"spirals: n_classes.*1"):
        spirals(10, n_classes=1)


def test_load_digits():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y).tolist()) == set(range(10))
    images, _ = load_digits(flatten=False)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), x)


def test_train_test_split():
    x, y = load_digits()
    xtr, ytr, xte, yte = train_test_split(x, y, test_fraction=0.25, seed=0)
    assert len(xte) == round(1797 * 0.25) and len(xtr) + len(xte) == 1797
    assert xtr.shape[1] == 64 and len(ytr) == len(xtr) and len(yte) == len(xte)
    with pytest.raises(ValueError, match=r"train_test_split: test_fraction.*1\.5"):
        train_test_split(x, y, test_fraction=1.5)
