"""``import deepgrad`` tells glibc's malloc to keep large freed blocks (allocator.py):
a step that frees and allocates the same large arrays takes no page faults, and the
user's own settings win."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="glibc's malloc is tuned on Linux only")

STEPS = """
import resource
import numpy as np
import deepgrad
from deepgrad import allocator

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def step():  # what a training step does with its temporaries
    arrays = [np.ones(10 << 18, np.float32) for _ in range(3)]  # 3 x 10 MiB
    del arrays

for _ in range(3):
    step()
before = faults()
for _ in range(20):
    step()
print(faults() - before)
print(allocator.state())
"""


def _run(**env):
    out = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True,
                         check=True, env={**os.environ, **env}).stdout.split("\n")
    return int(out[0]), out[1]


def _clean_environment():
    return {name: value for name, value in os.environ.items()
            if not name.startswith("MALLOC_") and name != "DEEPGRAD_MALLOC"}


def test_freed_blocks_are_reused_without_page_faults(monkeypatch):
    monkeypatch.setattr(os, "environ", _clean_environment())
    faults, state = _run()
    if state.startswith("not glibc"):
        pytest.skip(state)
    assert state.startswith("glibc") and "reused" in state, state
    assert faults < 100, f"{faults} page faults in 20 steps"
    # glibc's defaults give the memory back and fault it in again: what was fixed
    faults, state = _run(DEEPGRAD_MALLOC="0")
    assert state == "glibc's defaults (DEEPGRAD_MALLOC=0)"
    assert faults > 1000, faults


def test_the_users_own_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setattr(os, "environ", _clean_environment())
    _, state = _run(MALLOC_TRIM_THRESHOLD_="131072")
    assert state == "as the environment sets it (MALLOC_TRIM_THRESHOLD_)"


def test_deepgrad_info_names_the_allocator():
    out = subprocess.run([sys.executable, "-m", "deepgrad.cli", "info"], capture_output=True,
                         text=True, check=True).stdout
    assert any(line.startswith("malloc   ") for line in out.splitlines()), out
