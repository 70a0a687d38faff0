"""The CPU a benchmark ran on, by name and vector instruction set.

The project's machines are of more than one kind (AMD and Intel, AVX2 or AVX-512), and
OpenBLAS, MKL and oneDNN each pick their kernels by the vector width, so a ratio means
little without the CPU beside it.
"""


def cpu_description(path="/proc/cpuinfo"):
    """'AMD EPYC, AVX-512' from the first processor's model name and flags (Linux)."""
    name, flags = "unknown CPU", set()
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        return name
    isa = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else
           "no AVX2" if flags else "ISA unknown")
    return f"{name}, {isa}"
