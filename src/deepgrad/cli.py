"""The command line: ``deepgrad train | example | info``.

``deepgrad train`` with no arguments trains an MLP on the 8x8 digits (80/20 train/test
split, a tenth of the training part held out for validation, all seeded), prints one line
per epoch and the final test accuracy.
"""
import argparse
import importlib
import platform
import sys
import time

import numpy as np

import deepgrad as dg
from deepgrad.nn.models import MODELS


def _optimizers():
    return getattr(dg.optim, "OPTIMIZERS", {"sgd": dg.optim.SGD})


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog="deepgrad", description="deepgrad: train, "
                                     "experiment and check a NumPy deep-learning framework")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser("train", help="train a model on a dataset",
                           description="Train a model; defaults: an MLP on the 8x8 digits.")
    train.add_argument("--model", default="mlp", choices=sorted(MODELS))
    train.add_argument("--dataset", default="digits", choices=sorted(dg.data.DATASETS))
    train.add_argument("--hidden", type=_positive_int, default=256, help="hidden width")
    train.add_argument("--depth", type=int, default=2, help="number of hidden layers")
    train.add_argument("--activation", default="relu", choices=["relu", "sigmoid", "tanh"])
    train.add_argument("--optimizer", default="sgd", type=str.lower,
                       choices=sorted(_optimizers()))
    train.add_argument("--lr", type=_positive_float, default=0.05)
    train.add_argument("--momentum", type=_non_negative_float, default=0.9,
                       help="momentum (SGD, RMSprop)")
    train.add_argument("--weight-decay", type=_non_negative_float, default=0.0)
    train.add_argument("--batch-size", type=_positive_int, default=32)
    train.add_argument("--epochs", type=_positive_int, default=20)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(run=cmd_train)

    example = sub.add_parser("example", help="run one of the course's code examples")
    from .examples import EXAMPLES
    example.add_argument("name", choices=sorted(EXAMPLES))
    example.add_argument("args", nargs=argparse.REMAINDER,
                         help="options of the example (see deepgrad example NAME --help)")
    example.set_defaults(run=cmd_example)

    info = sub.add_parser("info", help="versions, backend, BLAS and threads")
    info.set_defaults(run=cmd_info)
    return parser


def _make_optimizer(args, params):
    cls = _optimizers()[args.optimizer]
    options = {"lr": args.lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("sgd", "rmsprop"):
        options["momentum"] = args.momentum
    return cls(params, **options)


def cmd_train(args):
    from .data import DataLoader, TensorDataset, train_test_split
    from .train import evaluate, fit

    dg.manual_seed(args.seed)
    x, y = dg.data.load(args.dataset)
    x_train, y_train, x_test, y_test = train_test_split(x, y, 0.2, seed=args.seed)
    x_train, y_train, x_val, y_val = train_test_split(x_train, y_train, 0.1, seed=args.seed)
    classes = int(y.max()) + 1
    model = MODELS[args.model](
        int(np.prod(x.shape[1:])), classes, hidden=args.hidden, depth=args.depth,
        activation=args.activation)
    optimizer = _make_optimizer(args, model.parameters())
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                       shuffle=True, seed=args.seed)
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=512)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=512)
    print(f"training {args.model} on {args.dataset}: {len(x_train)} train, {len(x_val)} "
          f"validation, {len(x_test)} test samples, {model.num_parameters():,} parameters")
    start = time.perf_counter()

    def log(epoch, logs):
        shown = {"loss": logs["loss"], "accuracy": logs["accuracy"],
                 "val_loss": logs["val_loss"], "val_accuracy": logs["val_accuracy"]}
        parts = "  ".join(f"{k} {v:.4f}" for k, v in shown.items())
        print(f"epoch {epoch:3d}/{args.epochs}  {parts}  time {logs['time']:.2f}s", flush=True)

    fit(model, dg.nn.CrossEntropyLoss(), optimizer, train, val_data=val,
        epochs=args.epochs, log=log)
    result = evaluate(model, dg.nn.CrossEntropyLoss(), test)
    print(f"test accuracy {result['accuracy']:.4f}  test loss {result['loss']:.4f}  "
          f"({time.perf_counter() - start:.1f}s)")
    return 0


def cmd_example(args):
    from .examples import EXAMPLES
    module = importlib.import_module(EXAMPLES[args.name])
    module.main(args.args)
    return 0


def cmd_info(args):
    print(f"deepgrad {dg.__version__}")
    print(f"python   {platform.python_version()} ({platform.machine()})")
    print(f"numpy    {np.__version__}")
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                print(f"blas     {lib.get('internal_api')} {lib.get('version')} "
                      f"({lib.get('architecture')}, {lib.get('num_threads')} threads)")
    except ImportError:
        print("blas     (install threadpoolctl to see the BLAS library and threads)")
    cupy = dg.backend._cupy
    print(f"cupy     {cupy.__version__ if cupy else 'not installed'}")
    print(f"dtype    {np.dtype(dg.backend.default_dtype).name} by default")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, ImportError) as err:
        print(f"deepgrad {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
