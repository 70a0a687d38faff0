"""The command line: ``deepgrad train | eval | example | lab | bench | playground | info``.

``deepgrad train`` with no arguments trains an MLP on the 8x8 digits (80/20 train/test
split, a tenth of the training part held out for validation, all seeded), prints one line
per epoch and the final test accuracy. Options come from flags, or from a TOML file whose
keys are the flags' names (``--config``); flags given on the command line win.
"""
import argparse
import importlib
import os
import platform
import sys

import numpy as np

import deepgrad as dg
from deepgrad import config as config_mod


def build_parser():
    parser = argparse.ArgumentParser(prog="deepgrad", allow_abbrev=False,
                                     description="deepgrad: train, "
                                     "experiment and check a NumPy deep-learning framework")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser("train", help="train a model on a dataset", allow_abbrev=False,
                           description="Train a model; defaults: an MLP on the 8x8 digits.")
    for name, (default, kind, text) in config_mod.TRAIN_OPTIONS.items():
        # SUPPRESS: only flags actually given override the config file
        if kind is bool:
            train.add_argument(config_mod.flag(name), action="store_true",
                               default=argparse.SUPPRESS, help=text)
        else:
            train.add_argument(config_mod.flag(name), type=kind, default=argparse.SUPPRESS,
                               help=f"{text} (default: {default})")
    train.add_argument("--out", metavar="DIR", help="write config, checkpoints, metrics, "
                       "plots and the final model.safetensors here")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    train.add_argument("--config", metavar="FILE", help="TOML file of options (keys = flags)")
    train.set_defaults(run=cmd_train)

    sweep = sub.add_parser("sweep", help="a grid of training runs over optimizers, "
                           "learning rates, batch sizes and seeds", allow_abbrev=False,
                           description="Run every combination of the grid (flags take "
                           "several values) as independent runs, over the ranks of mpiexec "
                           "or over --jobs local processes; write sweep.csv, sweep.md and "
                           "sweep.png.")
    from .sweep import GRID_KEYS
    for name, (default, kind, text) in config_mod.TRAIN_OPTIONS.items():
        if name in GRID_KEYS:
            sweep.add_argument(config_mod.flag(name), type=kind, nargs="+",
                               default=argparse.SUPPRESS, help=f"{text}: one or more values")
        elif kind is not bool:
            sweep.add_argument(config_mod.flag(name), type=kind, default=argparse.SUPPRESS,
                               help=f"{text} (default: {default})")
    sweep.add_argument("--grid", metavar="FILE", help="TOML file: lists under optimizer, "
                       "lr, batch-size, seed; single values for other options")
    sweep.add_argument("--jobs", type=int, default=1, help="local processes (without MPI)")
    sweep.add_argument("--out", metavar="DIR", default="sweep", help="output directory")
    sweep.set_defaults(run=cmd_sweep)

    evaluate = sub.add_parser("eval", help="evaluate a saved model on its test set")
    evaluate.add_argument("checkpoint", help="a run directory, or a .safetensors file inside one")
    evaluate.set_defaults(run=cmd_eval)

    example = sub.add_parser("example", help="run one of the course's code examples")
    from .examples import EXAMPLES
    example.add_argument("name", choices=sorted(EXAMPLES))
    example.add_argument("args", nargs=argparse.REMAINDER,
                         help="options of the example (see deepgrad example NAME --help)")
    example.set_defaults(run=cmd_example)

    lab = sub.add_parser("lab", help="re-run the course's claims as experiments; write a "
                         "report", description="Run the lab's experiments (all by default) "
                         "and write DIR/report.html, DIR/report.md and DIR/results.json.")
    lab.add_argument("names", nargs="*", metavar="NAME", help="experiments to run "
                     "(see --list)")
    lab.add_argument("--quick", action="store_true", help="small data, short runs (minutes)")
    lab.add_argument("--out", metavar="DIR", default="lab-report", help="report directory "
                     "(default: lab-report)")
    lab.add_argument("--list", action="store_true", help="list the experiments and exit")
    lab.add_argument("--seed", type=int, default=0, help="first random seed (default: 0)")
    lab.add_argument("--seeds", type=int, default=None, metavar="K", help="seeds per "
                     "experiment, --seed to --seed+K-1 (default: 3 with --quick, else 5)")
    lab.add_argument("--jobs", type=int, default=None, metavar="J", help="worker "
                     "processes (default: one per core)")
    lab.set_defaults(run=cmd_lab)

    bench = sub.add_parser("bench", help="time deepgrad against PyTorch (same data, one "
                           "process)", description="Time training steps, optimizer steps, "
                           "evaluation, import and peak memory against PyTorch; every case "
                           "first checks both give the same results.")
    bench.add_argument("--case", nargs="+", metavar="NAME", help="cases to run (default: "
                       "all); 'allreduce' under mpiexec")
    bench.add_argument("--repeats", type=int, default=63,
                       help="timed calls per case, in 9 alternating rounds")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--list", action="store_true", help="list the cases and exit")
    bench.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                       help="cuda: the GPU cases against PyTorch's CUDA step")
    bench.add_argument("--networks", action="store_true", help="the real networks "
                       "(LeNet-5, the CIFAR-10 tutorial net, ...) and their geometric mean")
    bench.add_argument("--breakdown", nargs="+", metavar="NET", help="time each layer kind "
                       "of these network cases (e.g. lenet-256, lenet-eval-1) in both "
                       "frameworks")
    bench.set_defaults(run=cmd_bench)

    playground = sub.add_parser("playground", help="train live in the browser: a local "
                                "page of networks and optimizers", allow_abbrev=False,
                                description="Serve the playground on 127.0.0.1 (a free "
                                "port unless --port) and print its URL; Ctrl+C stops it.")
    playground.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    playground.add_argument("--open", action="store_true", help="open it in the browser")
    playground.set_defaults(run=cmd_playground)

    info = sub.add_parser("info", help="versions, backend, BLAS and threads")
    info.set_defaults(run=cmd_info)
    return parser


def train_config(args):
    """defaults < config file < flags given on the command line."""
    cfg = config_mod.defaults()
    if args.config:
        cfg.update(config_mod.load_toml(args.config))
    for name in config_mod.TRAIN_OPTIONS:
        if name in vars(args):
            cfg[name] = getattr(args, name)
    for key in ("model", "optimizer", "scheduler", "activation"):
        cfg[key] = cfg[key].lower()
    return cfg


def cmd_train(args):
    from .train.run import run
    if args.resume:
        # a resumed run keeps its configuration; it may only be lengthened, or moved to
        # another number of ranks
        allowed = ("epochs", "distributed")
        given = [name for name in config_mod.TRAIN_OPTIONS
                 if name in vars(args) and name not in allowed]
        if given or args.config or args.out:
            raise ValueError("--resume DIR continues the run as configured in "
                             "DIR/config.toml; besides --epochs and --distributed it takes "
                             "no options (got " + ", ".join(
                                 [config_mod.flag(n) for n in given]
                                 + (["--config"] if args.config else [])
                                 + (["--out"] if args.out else [])) + ")")
        run(None, resume=args.resume,
            overrides={k: getattr(args, k) for k in allowed if k in vars(args)})
    else:
        run(train_config(args), out=args.out)
    return 0


def cmd_sweep(args):
    from . import sweep
    grid, fixed = sweep.load_grid(args.grid) if args.grid else ({}, {})
    for name in config_mod.TRAIN_OPTIONS:
        if name in vars(args):
            (grid if name in sweep.GRID_KEYS else fixed)[name] = getattr(args, name)
    runs = sweep.expand(grid, fixed)
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    rows = sweep.sweep(runs, args.out, jobs=args.jobs)
    if rows is not None:
        print(open(os.path.join(args.out, "sweep.md")).read())
        print(f"{len(rows)} runs; wrote {args.out}/sweep.csv, sweep.md, sweep.png")
    return 0


def cmd_eval(args):
    from .checkpoint import load_model
    from .train.run import prepare, resume_config
    path = args.checkpoint
    if os.path.isdir(path):
        directory, weights = path, os.path.join(path, "model.safetensors")
    else:
        weights, directory = path, os.path.dirname(os.path.abspath(path))
        if os.path.basename(directory) == "checkpoints":
            directory = os.path.dirname(directory)
    cfg = resume_config(directory)
    loaders, model, _, _ = prepare(cfg)
    load_model(model, weights)
    result = dg.train.evaluate(model, dg.nn.CrossEntropyLoss(), loaders["test"])
    print(f"{weights}: test accuracy {result['accuracy']:.4f}  test loss "
          f"{result['loss']:.4f}  ({len(loaders['test'].dataset)} samples of "
          f"{cfg['dataset']})")
    return 0


def cmd_example(args):
    from .examples import EXAMPLES
    module = importlib.import_module(EXAMPLES[args.name])
    module.main(args.args)
    return 0


def cmd_lab(args):
    from . import lab
    if args.list:
        for name in lab.NAMES:
            print(f"{name:<20} {lab.get(name).TITLE}")
        return 0
    lab.run_experiments(args.names, quick=args.quick, seed=args.seed, out=args.out,
                        seeds=args.seeds, jobs=args.jobs)
    return 0


def cmd_bench(args):
    from .bench import run
    if args.list:
        for name, (description, _, _) in run.cases_for(args.device).items():
            print(f"{name:18s} {description}")
        if args.device == "cpu":
            print(f"{'allreduce':18s} data-parallel MLP step (under mpiexec -n K)")
        return 0
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    if args.breakdown:
        from .bench import breakdown
        breakdown.main(args.breakdown, as_json=args.json)
        return 0
    names = list(run.NETWORKS) + (args.case or []) if args.networks else args.case
    run.main(names, args.repeats, args.json, device=args.device)
    return 0


def cmd_playground(args):
    from . import playground
    try:
        playground.serve(port=args.port, open_browser=args.open)
    except KeyboardInterrupt:
        pass
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
    from deepgrad import allocator
    print(f"malloc   {allocator.state()}")
    from deepgrad.ops import _onednn
    onednn = _onednn.library()
    print("onednn   " + (f"{onednn.version_string}, float32 convolutions" if onednn
                         else f"not used: {_onednn.unavailable_reason()}"))
    cupy = dg.backend._cupy
    print(f"cupy     {cupy.__version__ if cupy else 'not installed'}")
    cuda = (f"cuda: {dg.cuda.get_device_name()}" if dg.cuda.is_available() else f"no cuda: {dg.backend.cuda_unavailable_reason()}")
    print(f"devices  cpu; {cuda}")
    print(f"backend  numpy (cpu){', cupy (cuda)' if cupy else ''}; default dtype "
          f"{np.dtype(dg.backend.default_dtype).name}")
    print(f"data     {dg.data.registry.default_root()}")
    return 0


def main(argv=None):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # name the subcommand's valid options, not just the top level's usage
        sub = parser._subparsers._group_actions[0].choices[args.command]
        valid = sorted(o for a in sub._actions for o in a.option_strings if o.startswith("--"))
        sub.error(f"unrecognized arguments: {' '.join(unknown)}; valid options: "
                  f"{', '.join(valid)}")
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader (head, less) has gone: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, FileNotFoundError, ImportError, FloatingPointError,
            dg.backend.DeviceUnavailableError) as err:
        if os.environ.get("DEEPGRAD_DEBUG"):
            raise
        where = f" (rank {dg.distributed.rank()})" if dg.distributed.is_distributed() else ""
        print(f"deepgrad {args.command}{where}: error: {err}", file=sys.stderr, flush=True)
        if dg.distributed.is_distributed():
            dg.distributed.abort(2)  # the other ranks would wait forever in a collective
        return 2


if __name__ == "__main__":
    sys.exit(main())
