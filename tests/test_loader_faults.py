"""DataLoader workers fail loudly and leave nothing behind (issue 24).

An exception in a worker reaches the main process with the sample's index and the
worker's traceback; a worker killed by a signal is reported within seconds (its id, pid
and signal), never a hang; ``timeout=`` raises PyTorch's RuntimeError; and the worker
processes end when the iterator or the loader is dropped and when the program exits,
however it exits. Worker pids are learnt from the samples themselves (each sample is
the pid of the process that read it), and a pid counts as gone once it no longer exists
or is a zombie.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from deepgrad import data as dgd
from helpers_processes import children

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")

GONE_WITHIN = 5.0  # seconds a worker may take to exit once it should


class Pids:
    """Sample i is the pid of the process that read it; ``slow`` seconds per sample,
    ``sleep_at`` sleeps ``long`` seconds, ``fail_at`` raises."""

    def __init__(self, n=64, slow=0.0, fail_at=None, sleep_at=None, long=5.0):
        self.n, self.slow, self.fail_at, self.sleep_at, self.long = (n, slow, fail_at,
                                                                     sleep_at, long)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            broken_sample_reader(i)
        if i == self.sleep_at:
            time.sleep(self.long)
        if self.slow:
            time.sleep(self.slow)
        return np.int64(os.getpid())


def broken_sample_reader(i):
    raise ValueError(f"cannot decode sample {i}")


def alive(pid):
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid was reused by another user's process
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_gone(pids, within=GONE_WITHIN):
    """The pids still alive after ``within`` seconds (polling)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def worker_pids(batches):
    pids = {int(p) for batch in batches for p in np.asarray(batch).ravel()}
    assert os.getpid() not in pids, "the samples were read in the main process"
    return pids


# -- an exception in a worker ----------------------------------------------------------------

def test_an_exception_reaches_the_main_process_with_the_index_and_the_traceback():
    loader = dgd.DataLoader(Pids(n=32, fail_at=13), batch_size=4, num_workers=2)
    it = iter(loader)
    pids = worker_pids([next(it) for _ in range(2)])
    assert len(pids) == 2
    with pytest.raises(ValueError, match="cannot decode sample 13") as info:
        for _ in it:
            pass
    text = str(info.value)
    assert "dataset[13]" in text  # the sample's index
    assert "[12, 13, 14, 15]" in text  # the batch's, batch 3 of workers 0, 1, 0, 1
    assert "in DataLoader worker process 1" in text
    assert "Original Traceback" in text and "in broken_sample_reader" in text
    assert 'raise ValueError(f"cannot decode sample {i}")' in text  # the worker's line
    assert wait_gone(pids) == [], "the workers outlived the error"


def test_an_exception_in_collate_fn_names_the_batch():
    def collate(samples):
        raise TypeError(f"cannot stack {len(samples)} samples")

    loader = dgd.DataLoader(Pids(n=8), batch_size=4, num_workers=1, collate_fn=collate)
    with pytest.raises(TypeError, match="cannot stack 4 samples") as info:
        list(loader)
    assert "collate_fn on the samples [0, 1, 2, 3]" in str(info.value)
    assert "in DataLoader worker process 0" in str(info.value)


# -- a worker killed by a signal --------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_killed_by_a_signal_is_reported_within_seconds(sig):
    loader = dgd.DataLoader(Pids(n=200, slow=0.02), batch_size=2, num_workers=2)
    it = iter(loader)
    first = [next(it) for _ in range(2)]  # batch 0 from worker 0, batch 1 from worker 1
    victim = int(first[0][0])
    other = (worker_pids(first) - {victim}).pop()
    os.kill(victim, sig)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        for _ in it:
            pass
    waited = time.monotonic() - start
    assert waited < 5, f"the death was noticed after {waited:.1f} s"
    text = str(info.value)
    for words in (f"pid {victim}", "worker 0 of 2", f"signal {int(sig)} ({sig.name})",
                  "exited unexpectedly"):
        assert words in text, (words, text)
    assert wait_gone([victim, other]) == [], "the other worker was left running"


def test_a_worker_that_exits_on_its_own_is_reported():
    class Exits(Pids):
        def __getitem__(self, i):
            if i == 9:
                os._exit(3)
            return super().__getitem__(i)

    with pytest.raises(RuntimeError, match=r"worker 0 of 1 exited with code 3"):
        list(dgd.DataLoader(Exits(n=20), batch_size=2, num_workers=1))


# -- timeout ------------------------------------------------------------------------------

def test_timeout_raises_pytorch_s_error_and_stops_the_workers():
    loader = dgd.DataLoader(Pids(n=8, sleep_at=5, long=30), batch_size=1, num_workers=2,
                            timeout=0.5)
    it = iter(loader)
    pids = worker_pids([next(it) for _ in range(2)])
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0\.5 seconds"):
        for _ in it:
            pass
    assert 0.4 < time.monotonic() - start < 5
    assert wait_gone(pids) == [], "a worker stuck in __getitem__ was left running"


def test_a_timeout_longer_than_the_slowest_batch_changes_nothing():
    loader = dgd.DataLoader(Pids(n=6, sleep_at=3, long=0.3), batch_size=2, num_workers=2,
                            timeout=5)
    assert len(list(loader)) == 3


# -- no orphans ---------------------------------------------------------------------------

def test_workers_end_when_the_iterator_is_dropped():
    before = children()
    loader = dgd.DataLoader(Pids(n=64, slow=0.01), batch_size=2, num_workers=2)
    it = iter(loader)
    pids = worker_pids([next(it) for _ in range(2)])
    assert pids <= children() - before
    del it
    assert wait_gone(pids) == []
    assert children() - before == set()


def test_workers_end_when_a_pass_finishes():
    loader = dgd.DataLoader(Pids(n=16), batch_size=4, num_workers=2)
    pids = worker_pids(list(loader))
    assert wait_gone(pids) == []


def test_persistent_workers_end_when_the_loader_is_dropped():
    before = children()
    loader = dgd.DataLoader(Pids(n=16), batch_size=4, num_workers=2, persistent_workers=True)
    pids = worker_pids(list(loader))
    assert worker_pids(list(loader)) == pids  # the same processes, epoch after epoch
    assert all(alive(p) for p in pids)
    it = iter(loader)
    next(it)
    del loader, it
    assert wait_gone(pids) == []
    assert children() - before == set()


PROGRAM = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from deepgrad import data as dgd

    class Pids:
        def __len__(self):
            return 10 ** 6

        def __getitem__(self, i):
            time.sleep(0.01)
            return np.int64(os.getpid())

    how, persistent = sys.argv[1], sys.argv[2] == "persistent"
    loader = dgd.DataLoader(Pids(), batch_size=2, num_workers=2,
                            persistent_workers=persistent)
    it = iter(loader)
    pids = {int(p) for _ in range(4) for p in next(it)}
    print(" ".join(map(str, sorted(pids))), flush=True)
    if how == "exception":
        raise RuntimeError("the training script crashed")
    if how == "os._exit":
        os._exit(0)
    if how == "wait":
        time.sleep(60)
    # "return": fall off the end with the workers mid-epoch
""")


@pytest.mark.parametrize("how", ["return", "exception", "os._exit", "SIGKILL"])
@pytest.mark.parametrize("persistent", ["persistent", "per-epoch"])
def test_no_worker_outlives_its_program(tmp_path, how, persistent):
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    proc = subprocess.Popen([sys.executable, str(script),
                             "wait" if how == "SIGKILL" else how, persistent],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2, (line, proc.stderr.read() if not line else "")
        if how == "SIGKILL":  # no atexit, no finalizer: the workers must notice alone
            proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = wait_gone(pids)
    for pid in left:  # a failing run must not leave them behind either
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"orphaned workers after the program's {how}"
    if how == "exception":
        assert "the training script crashed" in proc.stderr.read()
