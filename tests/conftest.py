"""Shared test setup: every test starts from the same seed and the default dtype."""
import os

import numpy as np
import pytest
from hypothesis import settings

# In CI the property tests draw the same examples every run (a failure there can be
# reproduced); on a developer's machine they explore new ones each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

import deepgrad as dg


@pytest.fixture(autouse=True)
def _seed():
    dg.manual_seed(0)
    np.random.seed(0)
    yield
