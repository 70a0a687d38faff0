"""DataLoader with PyTorch's arguments: the same program against torch.utils.data and
deepgrad.data gives the same batches; workers give the batches of num_workers=0;
samplers, default_collate and errors behave as PyTorch's.

Orders are compared where they are deterministic (in order, explicit index lists,
SequentialSampler); random orders only by their rules (the generators differ).
"""
import collections
import os
import signal
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import deepgrad as dg
import deepgrad.data as dgd

N = 23


# -- datasets that both frameworks can read -----------------------------------------------

class Items:
    """(features float32 (2,), label as a Python int): a plain map-style dataset."""

    def __len__(self):
        return N

    def __getitem__(self, i):
        return np.array([i, -i], dtype=np.float32), i % 3


Point = collections.namedtuple("Point", "x y")


class Nested:
    """Dicts, strings, floats, bools, NumPy scalars, a namedtuple and a list, nested."""

    def __len__(self):
        return 11

    def __getitem__(self, i):
        return {"image": np.full((2, 3), i, dtype=np.float64), "weight": i / 4,
                "name": f"item{i}", "flag": i % 2 == 0,
                "pair": (np.int32(i), [i, 0.5 * i]), "point": Point(i, np.float32(-i))}


class Failing:
    """Raises ValueError at index ``bad``."""

    def __init__(self, bad=7):
        self.bad = bad

    def __len__(self):
        return N

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"sample {i} is broken")
        return np.float32(i)


class Dies:
    """The worker that reads index 5 is killed (as by the out-of-memory killer)."""

    def __len__(self):
        return N

    def __getitem__(self, i):
        if i == 5 and dgd.get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.float32(i)


class Slow:
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            time.sleep(3)
        return np.float32(i)


class WhoAmI:
    """Each sample says which worker read it and what its worker_init_fn set."""

    def __init__(self):
        self.tag = "main"

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = dgd.get_worker_info()
        return i, -1 if info is None else info.id, self.tag


def _tag_worker(worker_id):
    info = dgd.get_worker_info()
    info.dataset.tag = f"init{worker_id}/{info.num_workers}"


def _arrays(n=N):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return x, np.arange(n, dtype=np.int64)


def _tensor_datasets(n=N):
    x, y = _arrays(n)
    return (tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
            dgd.TensorDataset(x, y))


def _tensor_dataset(module):
    return _tensor_datasets()[0 if module is tud else 1]


# -- comparing batches ---------------------------------------------------------------------

def assert_same(ours, theirs, where="batch"):
    """Same structure, container types, dtypes and values (torch vs deepgrad)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dg.Tensor), f"{where}: {type(ours).__name__}, not a Tensor"
        expected = theirs.numpy()
        assert ours.dtype == expected.dtype, f"{where}: dtype {ours.dtype} vs {expected.dtype}"
        assert tuple(ours.shape) == tuple(expected.shape), f"{where}: shape"
        np.testing.assert_array_equal(ours.numpy(), expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), where
        for k in theirs:
            assert_same(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__, \
            f"{where}: {type(ours).__name__} vs {type(theirs).__name__}"
        assert len(ours) == len(theirs), where
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{k}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


def _as_torch(batch):
    """A deepgrad batch with torch Tensors in the place of deepgrad's (to compare two
    deepgrad batches with assert_same)."""
    if isinstance(batch, dg.Tensor):
        return torch.from_numpy(batch.numpy())
    if isinstance(batch, dict):
        return {k: _as_torch(v) for k, v in batch.items()}
    if type(batch) in (list, tuple):
        return type(batch)(_as_torch(x) for x in batch)
    return batch


def assert_same_run(ours, theirs):
    """Same len(), attributes and batches over two epochs."""
    assert len(ours) == len(theirs)
    assert ours.batch_size == theirs.batch_size and ours.drop_last == theirs.drop_last
    assert type(ours.sampler).__name__ == type(theirs.sampler).__name__
    assert type(ours.batch_sampler).__name__ == type(theirs.batch_sampler).__name__
    for epoch in range(2):
        a, b = list(ours), list(theirs)
        assert len(a) == len(b) == len(theirs)
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"epoch {epoch} batch {k}")


def _both(make_dataset, **kwargs):
    """The same DataLoader call in both frameworks: ``make_dataset(module)`` gives each
    its dataset, and ``kwargs`` values may be callables ``f(module, dataset)`` building
    a framework's sampler."""
    loaders = []
    for module in (dgd, tud):
        ds = make_dataset(module)
        args = {k: v(module, ds) if callable(v) and k.endswith("sampler") else v
                for k, v in kwargs.items()}
        loaders.append(module.DataLoader(ds, **args))
    return loaders


SAME_PROGRAMS = {
    "batch 4": dict(batch_size=4),
    "batch 1": dict(),
    "batch 7 drop_last": dict(batch_size=7, drop_last=True),
    "batch 30 > N": dict(batch_size=30),
    "SequentialSampler": dict(batch_size=5, sampler=lambda m, ds: m.SequentialSampler(ds)),
    "index list": dict(batch_size=3, sampler=lambda m, ds: [9, 2, 2, 17, 0, 4, 11]),
    "index list drop_last": dict(batch_size=3, drop_last=True,
                                 sampler=lambda m, ds: [9, 2, 2, 17, 0, 4, 11]),
    "BatchSampler": dict(batch_sampler=lambda m, ds: m.BatchSampler(
        m.SequentialSampler(ds), 6, drop_last=False)),
    "BatchSampler drop_last": dict(batch_sampler=lambda m, ds: m.BatchSampler(
        range(10, 21), 4, drop_last=True)),
    "index batches": dict(batch_sampler=lambda m, ds: [[0, 5], [3], [7, 8, 9, 1]]),
    "no batching": dict(batch_size=None),
    "no batching, sampler": dict(batch_size=None, sampler=lambda m, ds: [4, 1, 4]),
    "collate_fn": dict(batch_size=4, collate_fn=lambda samples: [len(samples)] + [
        int(s[1]) for s in samples]),
}


@pytest.mark.parametrize("program", list(SAME_PROGRAMS))
def test_a_plain_dataset_gives_torchs_batches(program):
    assert_same_run(*_both(lambda m: Items(), **SAME_PROGRAMS[program]))


@pytest.mark.parametrize("program", list(SAME_PROGRAMS))
def test_a_tensor_dataset_gives_torchs_batches(program):
    kwargs = SAME_PROGRAMS[program]
    if "collate_fn" in kwargs:  # items are Tensors here: give back the labels as ints
        kwargs = dict(kwargs, collate_fn=lambda s: [len(s)] + [int(x[1]) for x in s])
    assert_same_run(*_both(_tensor_dataset, **kwargs))


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_nested_samples_collate_as_in_torch(batch_size):
    assert_same_run(*_both(lambda m: Nested(), batch_size=batch_size))


def test_a_subset_and_its_items_are_as_in_torch():
    theirs, ours = _tensor_datasets()
    indices = [20, 3, 3, 8, 0]
    t, o = tud.Subset(theirs, indices), dgd.Subset(ours, indices)
    assert_same(o[1], t[1])
    assert_same(o[[0, 4]], t[[0, 4]])
    assert_same_run(dgd.DataLoader(o, batch_size=2), tud.DataLoader(t, batch_size=2))


def test_tensor_dataset_items_are_tensors():
    theirs, ours = _tensor_datasets()
    assert_same(ours[4], theirs[4])  # a tuple of a (2,) float32 and a 0-d int64 Tensor
    assert_same(ours[2:5], theirs[2:5])
    assert len(ours.tensors) == 2 and tuple(ours.tensors[0].shape) == (N, 2)
    ds = dgd.TensorDataset(dg.tensor([[1.0, 2.0], [3.0, 4.0]]), [0, 1])
    x, y = ds[1]
    assert isinstance(x, dg.Tensor) and x.dtype == np.float32 and y.dtype == np.int64


def test_iteration_protocol_as_in_torch():
    _, ds = _tensor_datasets()
    loader = dgd.DataLoader(ds, batch_size=5)
    assert loader.dataset is ds and loader.batch_size == 5 and len(loader) == 5
    it = iter(loader)
    assert len(it) == 5
    first = next(it)
    assert isinstance(first, list) and first[1].numpy().tolist() == [0, 1, 2, 3, 4]
    assert sum(1 for _ in it) == 4
    with pytest.raises(StopIteration):
        next(it)
    assert [len(y) for _, y in loader] == [5, 5, 5, 5, 3]  # a second pass: all again
    assert [len(y) for _, y in loader] == [5, 5, 5, 5, 3]


def test_two_passes_at_once_keep_their_own_epochs():
    _, ds = _tensor_datasets()
    loader = dgd.DataLoader(ds, batch_size=4, shuffle=True, seed=9)
    first, second = loader.batch_indices(0), loader.batch_indices(1)
    for k, ((_, a), (_, b)) in enumerate(zip(loader, loader)):
        assert a.numpy().tolist() == first[k].tolist()
        assert b.numpy().tolist() == second[k].tolist()


@pytest.mark.parametrize("name", ["batch_size", "sampler", "batch_sampler", "drop_last",
                                  "dataset", "persistent_workers"])
def test_fixed_attributes_cannot_be_set_after_construction(name):
    theirs, ours = _tensor_datasets()
    with pytest.raises(ValueError):
        setattr(tud.DataLoader(theirs), name, None)
    with pytest.raises(ValueError, match=f"DataLoader: {name} attribute should not be set"):
        setattr(dgd.DataLoader(ours), name, None)


# -- default_collate and default_convert ------------------------------------------------

COLLATE_CASES = {
    "floats -> float64": [1.0, 2.5],
    "ints -> int64": [1, 2],
    "bools -> bool": [True, False],
    "int then float -> float32": [1, 2.5],
    "numpy float32 scalars": [np.float32(1), np.float32(2)],
    "numpy int32 scalars": [np.int32(1), np.int32(2)],
    "0-d arrays": [np.array(1.0), np.array(2.0)],
    "arrays": [np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)],
    "tuples -> list": [(1, "a"), (2, "b")],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"x": np.zeros(2), "y": 3}, {"x": np.ones(2), "y": 4}],
    "strings": ["a", "b"],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
}


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_as_torch(case):
    samples = COLLATE_CASES[case]
    assert_same(dgd.default_collate(samples), tud.default_collate(samples))


def test_default_collate_of_tensors_stacks_them():
    ours = dgd.default_collate([dg.tensor([1.0, 2.0]), dg.tensor([3.0, 4.0])])
    theirs = tud.default_collate([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    assert_same(ours, theirs)


@pytest.mark.parametrize("samples,kind", [
    ([None, None], TypeError),
    ([np.array(["a"]), np.array(["b"])], TypeError),
    ([object(), object()], TypeError),
    ([(1, 2), (1,)], RuntimeError),
    ([np.zeros(2), np.zeros(3)], RuntimeError),
])
def test_default_collate_refuses_what_torch_refuses(samples, kind):
    with pytest.raises(kind):
        tud.default_collate(samples)
    with pytest.raises(kind, match="default_collate"):
        dgd.default_collate(samples)


@pytest.mark.parametrize("sample", [
    (np.zeros(2), 1, 2.0, "a"), np.float32(3), 3.0, {"a": np.arange(3), "b": [np.int64(1)]},
    Point(np.array(0), 5),
])
def test_default_convert_as_torch(sample):
    assert_same(dgd.default_convert(sample), tud.default_convert(sample))


# -- samplers ------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True),
                                                  (10, False), (10, True), (4, True)])
def test_batch_sampler_as_torch(batch_size, drop_last):
    ours = dgd.BatchSampler(dgd.SequentialSampler(range(10)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(10)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    ours = dgd.BatchSampler([5, 1, 8, 8, 2], batch_size, drop_last)
    assert list(ours) == list(tud.BatchSampler([5, 1, 8, 8, 2], batch_size, drop_last))


def test_sequential_sampler_yields_python_ints():
    assert list(dgd.SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert all(type(i) is int for i in dgd.RandomSampler(range(4)))
    assert all(type(b) is list for b in dgd.BatchSampler(dgd.RandomSampler(range(9)), 2,
                                                         False))


def test_random_sampler_rules():
    data = range(10)
    order = list(dgd.RandomSampler(data))
    assert sorted(order) == list(range(10))
    long = list(dgd.RandomSampler(data, num_samples=25))
    assert len(long) == 25 and sorted(long[:10]) == sorted(long[10:20]) == list(range(10))
    assert len(set(long[20:])) == 5  # the last permutation cut short
    drawn = list(dgd.RandomSampler(data, replacement=True, num_samples=200))
    assert len(drawn) == 200 and set(drawn) <= set(range(10)) and len(set(drawn)) == 10
    assert len(dgd.RandomSampler(data, replacement=True, num_samples=7)) == 7


def test_generators_make_orders_reproducible():
    def order(seed):
        return list(dgd.RandomSampler(range(50), generator=dgd.Generator().manual_seed(seed)))
    assert order(3) == order(3) and order(3) != order(4)
    g = dgd.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    state = g.get_state()
    first = list(dgd.SubsetRandomSampler([10, 20, 30, 40], generator=g))
    assert sorted(first) == [10, 20, 30, 40]
    g.set_state(state)
    assert list(dgd.SubsetRandomSampler([10, 20, 30, 40], generator=g)) == first
    a = dgd.DataLoader(Items(), batch_size=4, shuffle=True,
                       generator=dgd.Generator().manual_seed(1))
    b = dgd.DataLoader(Items(), batch_size=4, shuffle=True,
                       generator=dgd.Generator().manual_seed(1))
    for _ in range(2):  # each epoch draws on: epochs differ, the two loaders agree
        ea = np.concatenate([x.numpy()[:, 0] for x, _ in a])
        eb = np.concatenate([x.numpy()[:, 0] for x, _ in b])
        np.testing.assert_array_equal(ea, eb)
        assert sorted(ea.tolist()) == list(range(N))


def test_weighted_random_sampler():
    g = dgd.Generator().manual_seed(0)
    drawn = list(dgd.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 400, generator=g))
    assert set(drawn) == {1, 2} and 0.65 < drawn.count(2) / 400 < 0.85
    once = list(dgd.WeightedRandomSampler([1, 1, 1, 5], 4, replacement=False))
    assert sorted(once) == [0, 1, 2, 3]
    loader = dgd.DataLoader(Items(), batch_size=5,
                            sampler=dgd.WeightedRandomSampler([1.0] * N, 12))
    assert len(loader) == 3 and sum(len(y) for _, y in loader) == 12


@pytest.mark.parametrize("make,match", [
    (lambda m: m.RandomSampler(range(3), num_samples=0), "num_samples"),
    (lambda m: m.RandomSampler(range(3), replacement=1), "replacement"),
    (lambda m: m.BatchSampler(range(3), 0, False), "batch_size"),
    (lambda m: m.BatchSampler(range(3), 2, None), "drop_last"),
    (lambda m: m.WeightedRandomSampler([1.0, 2.0], 0), "num_samples"),
    (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 3), "weights"),
])
def test_samplers_refuse_bad_arguments_as_torch(make, match):
    with pytest.raises((ValueError, TypeError)) as theirs:
        make(tud)
    with pytest.raises(theirs.type, match=match):
        make(dgd)


def test_random_split_lengths_as_torch():
    ds = range(11)
    for lengths in ([0.5, 0.5], [1 / 3] * 3, [0.7, 0.2, 0.1], [4, 7]):
        ours = dgd.random_split(ds, lengths, generator=dgd.Generator().manual_seed(0))
        theirs = tud.random_split(ds, lengths, generator=torch.Generator().manual_seed(0))
        assert [len(p) for p in ours] == [len(p) for p in theirs]
        assert sorted(i for p in ours for i in p) == list(range(11))
    a = dgd.random_split(ds, [5, 6], generator=dgd.Generator().manual_seed(2))
    b = dgd.random_split(ds, [5, 6], generator=dgd.Generator().manual_seed(2))
    assert list(a[0]) == list(b[0])


# -- construction errors -----------------------------------------------------------------

TORCH_REFUSES = {
    "sampler with shuffle": (dict(shuffle=True, sampler=[0, 1]), "sampler.*shuffle"),
    "batch_sampler with batch_size": (dict(batch_size=2, batch_sampler=[[0]]),
                                      "batch_sampler.*batch_size"),
    "batch_sampler with shuffle": (dict(shuffle=True, batch_sampler=[[0]]),
                                   "batch_sampler.*shuffle"),
    "batch_sampler with sampler": (dict(sampler=[0], batch_sampler=[[0]]),
                                   "batch_sampler.*sampler"),
    "batch_sampler with drop_last": (dict(drop_last=True, batch_sampler=[[0]]),
                                     "batch_sampler.*drop_last"),
    "batch_size=None with drop_last": (dict(batch_size=None, drop_last=True),
                                       "batch_size=None.*drop_last"),
    "negative num_workers": (dict(num_workers=-1), "num_workers"),
    "negative timeout": (dict(timeout=-1), "timeout"),
    "prefetch_factor without workers": (dict(prefetch_factor=2), "prefetch_factor"),
    "persistent_workers without workers": (dict(persistent_workers=True),
                                           "persistent_workers"),
    "unknown start method": (dict(num_workers=1, multiprocessing_context="teleport"),
                             "multiprocessing_context"),
}


@pytest.mark.parametrize("case", list(TORCH_REFUSES))
def test_bad_arguments_raise_at_construction_as_in_torch(case):
    kwargs, match = TORCH_REFUSES[case]
    theirs, ours = _tensor_datasets()
    with pytest.raises(ValueError):
        tud.DataLoader(theirs, **kwargs)
    with pytest.raises(ValueError, match="DataLoader: .*" + match):
        dgd.DataLoader(ours, **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(seed=1, generator=dgd.Generator()), "seed or generator"),
    (dict(generator=torch.Generator()), "generator must be"),
    (dict(generator=5), "generator must be"),
    (dict(replacement=True, sampler=[0, 1]), "replacement.*sampler"),
    (dict(collate_fn="stack"), "collate_fn must be callable"),
    (dict(worker_init_fn=3, num_workers=1), "worker_init_fn must be callable"),
    (dict(sampler=3), "sampler must be an iterable"),
    (dict(num_workers=1.5), "num_workers"),
    (dict(num_workers=1, prefetch_factor=0), "prefetch_factor"),
    (dict(pin_memory="yes"), "pin_memory"),
])
def test_deepgrads_own_argument_checks(kwargs, match):
    _, ours = _tensor_datasets()
    with pytest.raises((ValueError, TypeError), match="DataLoader: .*" + match):
        dgd.DataLoader(ours, **kwargs)


def test_pytorchs_arguments_are_accepted():
    _, ds = _tensor_datasets()
    loader = dgd.DataLoader(ds, 4, None, None, None, 0, None, True, False, 0, None, None,
                            None, pin_memory_device="", in_order=False)
    assert loader.pin_memory and loader.prefetch_factor is None and len(list(loader)) == 6
    with_workers = dgd.DataLoader(ds, batch_size=4, num_workers=1)
    assert with_workers.prefetch_factor == 2  # PyTorch's default with workers


# -- workers ---------------------------------------------------------------------------

def _epochs(loader, count=2):
    return [[[t.numpy() for t in batch] for batch in loader] for _ in range(count)]


def assert_same_epochs(a, b):
    assert len(a) == len(b)
    for ea, eb in zip(a, b):
        assert len(ea) == len(eb)
        for ba, bb in zip(ea, eb):
            for x, y in zip(ba, bb):
                assert x.dtype == y.dtype
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("workers,extra", [
    (1, {}), (2, {}), (3, dict(prefetch_factor=1)), (2, dict(persistent_workers=True)),
])
@pytest.mark.parametrize("make", [_tensor_datasets, Items], ids=["TensorDataset", "items"])
def test_workers_give_the_batches_of_the_main_process(workers, extra, make):
    def loader(**kwargs):
        ds = make()[1] if make is _tensor_datasets else make()
        return dgd.DataLoader(ds, batch_size=4, shuffle=True, seed=3, **kwargs)
    assert_same_epochs(_epochs(loader(num_workers=workers, **extra)), _epochs(loader()))


def test_workers_with_replacement_a_sampler_and_no_batching():
    for kwargs in (dict(batch_size=5, replacement=True, seed=2, drop_last=True),
                   dict(batch_size=3, sampler=[9, 2, 2, 17, 0, 4, 11]),
                   dict(batch_size=None, sampler=[4, 1, 4])):
        main = dgd.DataLoader(Items(), **kwargs)
        workers = dgd.DataLoader(Items(), num_workers=2, **kwargs)
        ours, theirs = list(workers), list(main)
        assert len(ours) == len(theirs) == len(main)
        for a, b in zip(ours, theirs):
            assert_same(a, _as_torch(b))


def test_iterate_resumes_the_same_batches_with_workers():
    _, ds = _tensor_datasets()
    main = dgd.DataLoader(ds, batch_size=4, shuffle=True, seed=5)
    workers = dgd.DataLoader(ds, batch_size=4, shuffle=True, seed=5, num_workers=2)
    a = [y.numpy().tolist() for _, y in main.iterate(3, start=2)]
    b = [y.numpy().tolist() for _, y in workers.iterate(3, start=2)]
    assert a == b and len(a) == len(main) - 2


def test_worker_info_and_worker_init_fn():
    assert dgd.get_worker_info() is None
    loader = dgd.DataLoader(WhoAmI(), batch_size=3, num_workers=2,
                            worker_init_fn=_tag_worker)
    batches = list(loader)
    assert [b[0].numpy().tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8],
                                                        [9, 10, 11]]
    assert [b[1].numpy().tolist() for b in batches] == [[0] * 3, [1] * 3, [0] * 3, [1] * 3]
    assert [list(b[2]) for b in batches] == [["init0/2"] * 3, ["init1/2"] * 3] * 2
    main = list(dgd.DataLoader(WhoAmI(), batch_size=3, worker_init_fn=_tag_worker))
    assert main[0][1].numpy().tolist() == [-1] * 3 and main[0][2] == ("main",) * 3


class Noisy:
    """Random augmentation: a draw from NumPy's global generator per sample."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return np.random.random()


def test_workers_are_seeded_apart_and_reproducibly():
    def draws():
        loader = dgd.DataLoader(Noisy(), batch_size=2, num_workers=2, seed=4)
        return [b.numpy().tolist() for b in loader]
    first = draws()
    assert first == draws()  # the same seed: the same augmentation
    assert first[0] != first[1]  # worker 0 and worker 1 draw differently
    assert len({x for b in first for x in b}) == 8


def test_persistent_workers_stay_between_epochs():
    loader = dgd.DataLoader(Items(), batch_size=4, num_workers=2, persistent_workers=True)
    list(loader)
    pool = loader._workers
    pids = [p.pid for p in pool.processes]
    list(loader)
    assert loader._workers is pool and [p.pid for p in pool.processes] == pids
    assert all(p.is_alive() for p in pool.processes)
    pool.shutdown()
    assert not any(p.is_alive() for p in pool.processes)


def test_workers_stop_when_a_pass_is_abandoned():
    loader = dgd.DataLoader(Items(), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    del it  # the generator closes and takes its workers down
    assert [len(y) for _, y in loader] == [2] * 11 + [1]


# -- errors in workers ----------------------------------------------------------------

@pytest.mark.parametrize("workers", [0, 2])
def test_an_exception_names_the_sample(workers):
    loader = dgd.DataLoader(Failing(bad=7), batch_size=3, num_workers=workers)
    with pytest.raises(ValueError, match="sample 7 is broken") as info:
        list(loader)
    text = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "dataset[7]" in text
    if workers:
        assert "in DataLoader worker process 0" in text  # batch 2 of 0, 1, 2: worker 0's
        assert "Original Traceback" in text and "in __getitem__" in text
        assert 'raise ValueError(f"sample {i} is broken")' in text


def test_an_exception_that_needs_more_arguments_arrives_as_runtime_error():
    class Picky(Exception):
        def __init__(self, a, b):
            super().__init__(f"{a} {b}")

    class Raises:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            raise Picky("bad", i)

    with pytest.raises(RuntimeError, match="Caught Picky in DataLoader worker process 0"):
        list(dgd.DataLoader(Raises(), batch_size=2, num_workers=1))


def test_a_key_error_keeps_its_message_readable():
    class Missing:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {}["label"]

    with pytest.raises(KeyError) as info:
        list(dgd.DataLoader(Missing(), num_workers=1))
    assert "\\n" not in str(info.value) and "Original Traceback" in str(info.value)


def test_an_exception_in_worker_init_fn_reaches_the_main_process():
    def init(worker_id):
        raise OSError(f"no GPU for worker {worker_id}")

    with pytest.raises(OSError, match="(?s)worker_init_fn.*no GPU for worker 0"):
        list(dgd.DataLoader(Items(), num_workers=1, worker_init_fn=init))


def test_a_killed_worker_does_not_hang_the_loader():
    loader = dgd.DataLoader(Dies(), batch_size=2, num_workers=2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+, exit code -9\) "
                                           r"exited unexpectedly"):
        list(loader)
    assert time.monotonic() - start < 10


def test_timeout_bounds_the_wait_for_a_batch():
    loader = dgd.DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(loader)
    assert time.monotonic() - start < 5  # the message proves the timeout; this bounds shutdown


def test_spawned_workers_give_the_same_batches():
    _, ds = _tensor_datasets()
    spawn = dgd.DataLoader(ds, batch_size=4, shuffle=True, seed=3, num_workers=2,
                           multiprocessing_context="spawn")
    main = dgd.DataLoader(ds, batch_size=4, shuffle=True, seed=3)
    assert_same_epochs(_epochs(spawn, 1), _epochs(main, 1))


# -- training ------------------------------------------------------------------------------

def test_fit_with_workers_equals_fit_without():
    from deepgrad.train import fit

    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def run(workers):
        dg.manual_seed(0)
        model = dg.nn.Sequential(dg.nn.Linear(4, 8), dg.nn.ReLU(), dg.nn.Linear(8, 2))
        opt = dg.optim.SGD(model.parameters(), lr=0.1)
        loader = dgd.DataLoader(dgd.TensorDataset(x, y), batch_size=16, shuffle=True,
                                seed=1, num_workers=workers)
        return fit(model, dg.nn.CrossEntropyLoss(), opt, loader, epochs=2, verbose=False)

    assert run(2)["loss"] == run(0)["loss"]
