"""``deepgrad bench``: run the cases, print a table (or JSON).

    deepgrad bench                      # every timed case, import time, peak memory
    deepgrad bench --case mlp-128 conv-64 --repeats 100
    deepgrad bench --device cuda        # the GPU cases, against PyTorch's eager CUDA
    deepgrad bench --networks           # real networks (networks.py), geometric mean
    deepgrad bench --breakdown lenet-256  # a network's time per layer kind
    mpiexec -n 2 deepgrad bench --case allreduce
"""
import json
import statistics
import sys

from . import harness, processes
from .cases import CASES, GPU_CASES
from .cpuinfo import cpu_description
from .networks import NETWORKS, geometric_mean

COLUMNS = ["case", "deepgrad ms", "torch ms", "ratio", "ratio range", "GFLOP/s",
           "of ceiling"]


def cases_for(device):
    return GPU_CASES if device == "cuda" else {**CASES, **NETWORKS}


def time_case(name, repeats, device="cpu"):
    description, build, kwargs = cases_for(device)[name]
    on_gpu = {"device": "cuda"} if device == "cuda" else {}
    dg_step, torch_step, flops = build(**kwargs, **on_gpu)
    t_dg, t_torch, ratios = harness.compare(dg_step, torch_step, repeats=repeats)
    row = {"case": description, "deepgrad ms": t_dg * 1e3, "torch ms": t_torch * 1e3,
           "ratio": statistics.median(ratios),
           "ratio range": f"{min(ratios):.2f}-{max(ratios):.2f}"}
    if flops:
        row["GFLOP/s"] = flops / t_dg / 1e9
        if device == "cpu":  # the ceiling measured is the CPU's
            row["of ceiling"] = f"{row['GFLOP/s'] / harness.matmul_ceiling():.0%}"
    return row


def check_case(name, **override):
    """Build a case (which checks deepgrad against PyTorch) without timing it."""
    _, build, kwargs = {**CASES, **GPU_CASES, **NETWORKS}[name]
    build(**{**kwargs, **override})


def require_gpu():
    """Both frameworks must see a GPU; else say which one does not."""
    import deepgrad as dg
    if not dg.cuda.is_available():
        raise dg.backend.DeviceUnavailableError(
            f"--device cuda: {dg.backend.cuda_unavailable_reason()}")
    torch = harness.setup_torch()
    if not torch.cuda.is_available():
        raise dg.backend.DeviceUnavailableError(
            "--device cuda: this PyTorch has no CUDA (the CPU build is installed); "
            "install a CUDA build of torch==2.13.0 to compare")
    return dg.cuda.get_device_name()


PROCESS_COLUMNS = ["measure", "deepgrad", "torch", "ratio"]


def process_rows():
    """Import time and peak memory, each framework in fresh processes of its own."""
    rows = [{"measure": "import time (ms)",
             "deepgrad": processes.import_time("deepgrad") * 1e3,
             "torch": processes.import_time("torch") * 1e3}]
    for model in ("mlp", "conv"):
        rows.append({"measure": f"peak RSS training the {model} (MB)",
                     "deepgrad": processes.peak_memory_mb("deepgrad", model),
                     "torch": processes.peak_memory_mb("torch", model)})
    for row in rows:
        row["ratio"] = row["deepgrad"] / row["torch"]
    return rows


def allreduce_row(batch=128, steps=60):
    """Time per step and in Allreduce of a data-parallel MLP step (run under mpiexec)."""
    import time

    import numpy as np

    import deepgrad as dg
    from deepgrad import distributed, nn
    from deepgrad.data import DataLoader, TensorDataset
    from deepgrad.train import Trainer

    distributed.init()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=len(x))
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    trainer = Trainer(model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.01,
                      momentum=0.9), DataLoader(TensorDataset(x, y), batch_size=batch),
                      distributed=True)
    trainer.fit(1)  # warm-up epoch
    sync = trainer.sync
    before, calls = (sync.seconds, sync.calls) if sync else (0.0, 0)
    start = time.perf_counter()
    trainer.fit(2)
    elapsed = time.perf_counter() - start
    if sync is None:
        return None
    per_step = (sync.seconds - before) / (sync.calls - calls)
    return {"case": f"MLP step, global batch {batch}, {distributed.world_size()} ranks",
            "deepgrad ms": elapsed / steps * 1e3, "allreduce ms": per_step * 1e3,
            "MB per step": sync.bytes_per_step / 1e6,
            "allreduce share": f"{per_step / (elapsed / steps):.0%}"}


def main(names=None, repeats=63, as_json=False, with_processes=True, out=sys.stdout,
         device="cpu"):
    if device == "cuda":
        return gpu_main(names, repeats, as_json, out)
    if names == ["allreduce"]:
        row = allreduce_row()
        if row is not None and __import__("deepgrad").distributed.is_main():
            cols = ["case", "deepgrad ms", "allreduce ms", "MB per step", "allreduce share"]
            out.write(json.dumps(row) + "\n" if as_json else
                      harness.table("Data-parallel step over MPI", [row], cols))
        elif row is None:
            raise ValueError("the allreduce case needs mpiexec -n K (K > 1)")
        return
    _refuse_unknown(names, list(CASES) + list(NETWORKS) + ["allreduce"])
    rows = [time_case(name, repeats) for name in (names or CASES)]
    nets = [row["ratio"] for name, row in zip(names or [], rows) if name in NETWORKS]
    if len(nets) > 1:
        rows.append({"case": f"geometric mean over the {len(nets)} networks",
                     "ratio": geometric_mean(nets)})
    extra = process_rows() if with_processes and not names else []
    if as_json:
        out.write(harness.dumps(rows + extra) + "\n")
        return
    machine = harness.machine()
    out.write(f"machine: {cpu_description()}, {machine['cpus']} CPUs, {machine['blas']} "
              f"with {machine['blas_threads']} threads, numpy {machine['numpy']}, torch "
              f"{machine['torch']}; matmul ceiling {harness.matmul_ceiling():.0f} GFLOP/s "
              f"(float32 2048^3)\n\n")
    with_flops = any("GFLOP/s" in row for row in rows)  # the networks' rows have none
    out.write(harness.table("deepgrad / PyTorch (ratio < 1: deepgrad faster)", rows,
                            COLUMNS if with_flops else COLUMNS[:5]))
    if extra:
        out.write("\n" + harness.table("Fresh processes", extra, PROCESS_COLUMNS))


def _refuse_unknown(names, known):
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise ValueError(f"unknown benchmark case(s) {unknown}; known: {', '.join(known)}")


def gpu_main(names, repeats, as_json, out):
    _refuse_unknown(names, list(GPU_CASES))
    card = require_gpu()
    rows = [time_case(name, repeats, "cuda") for name in (names or GPU_CASES)]
    if as_json:
        out.write(harness.dumps(rows) + "\n")
        return
    out.write(f"GPU: {card}; steps synchronised, medians\n\n")
    out.write(harness.table("deepgrad (CuPy) / PyTorch eager CUDA (ratio < 1: deepgrad "
                            "faster)", rows, COLUMNS[:-1]))
