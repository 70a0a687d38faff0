"""The playground's server for its tests: skips without the playground extra; a
registry of runs and the server on a free localhost port, one per test module."""
import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed")
pytest.importorskip("uvicorn", reason="the playground extra is not installed")

from deepgrad.playground import runs, server  # noqa: E402


@pytest.fixture(scope="module")
def registry():
    return runs.Registry()


@pytest.fixture(scope="module")
def url(registry):
    with server.background(registry=registry) as address:
        yield address
