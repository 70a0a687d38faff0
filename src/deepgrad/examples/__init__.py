"""The course's two code examples, runnable as ``deepgrad example NAME``."""
EXAMPLES = {
    "gd-vs-sgd": "deepgrad.examples.gd_vs_sgd",
    "mlp": "deepgrad.examples.mlp_classification",
}
