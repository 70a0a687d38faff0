"""PyTorch-style programs, each written once against torch's API.

Every program is a function ``program(torch, shared, ...)``: ``torch`` is the framework
module (``torch`` itself or ``deepgrad``), ``shared`` hands out the initial weights and
batches as NumPy arrays (see ``_shared.py``), so that both runs start from the same
numbers. A program returns a dict of results (tensors, Python numbers, strings,
state dicts) that ``tests/test_programs.py`` compares between the two runs.

The program bodies follow the idioms of the public tutorials they are named after
(pytorch/tutorials, pytorch/examples, micrograd's tests, d2l.ai); the code is our own.
"""
