"""Benchmarks: deepgrad against PyTorch, one process, same data (``deepgrad bench``)."""
