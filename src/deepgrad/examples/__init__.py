"""The course's two code examples, runnable as ``deepgrad example NAME``."""
EXAMPLES = {
    "gd-vs-sgd": "deepgrad.examples.gd_vs_sgd",
    "mlp": "deepgrad.examples.mlp_classification",
}


def parse_args(name, doc, run, argv):
    """The examples' shared options: ``--out``, ``--epochs``, ``--lr``, ``--seed``, with
    defaults taken from the signature of the example's ``run``."""
    import argparse
    import inspect
    defaults = {k: v.default for k, v in inspect.signature(run).parameters.items()}
    parser = argparse.ArgumentParser(prog=f"deepgrad example {name}",
                                     description=doc.split("\n")[0])
    parser.add_argument("--out", default=".", help="directory for the figure")
    parser.add_argument("--epochs", type=int, default=defaults["epochs"])
    parser.add_argument("--lr", type=float, default=defaults["lr"])
    parser.add_argument("--seed", type=int, default=defaults["seed"])
    return parser.parse_args(argv)
