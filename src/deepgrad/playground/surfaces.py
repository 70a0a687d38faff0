"""The optimizer view's 2-D loss surfaces and the runner that steps optimizers on them.

Each surface is one formula in ``x`` and ``y`` written with arithmetic operators only,
so the same function gives a deepgrad Tensor (the point being optimized, through
autograd) and a NumPy grid (the picture behind the paths).
"""
from dataclasses import dataclass

import numpy as np

import deepgrad as dg


@dataclass(frozen=True)
class Surface:
    title: str
    f: object  # f(x, y) -> loss, for Tensors and arrays alike
    x_range: tuple
    y_range: tuple
    start: tuple
    minimum: tuple
    lrs: dict  # a learning rate per optimizer that shows its character here

    def describe(self):
        return {"title": self.title, "x_range": self.x_range, "y_range": self.y_range,
                "start": self.start, "minimum": self.minimum, "lrs": self.lrs}

    def grid(self, n=96):
        """``f`` on an n x n grid, rows from y_range[1] (top) down, as log10(1 + f - f_min)
        scaled to 0..255: the picture's shading."""
        xs = np.linspace(*self.x_range, n)
        ys = np.linspace(*self.y_range, n)[::-1]
        x, y = np.meshgrid(xs, ys)
        z = self.f(x, y)
        z = np.log10(1 + z - z.min())
        return np.round(255 * z / max(z.max(), 1e-12)).astype(np.uint8)


def _lrs(sgd, momentum, nesterov, rprop, adagrad, rmsprop, adadelta, adam, adamw):
    return dict(sgd=sgd, momentum=momentum, nesterov=nesterov, rprop=rprop, adagrad=adagrad,
                rmsprop=rmsprop, adadelta=adadelta, adam=adam, adamw=adamw)


SURFACES = {
    # condition number 50: plain SGD near its stability limit (2 / 50) zig-zags across the
    # valley and crawls along it; momentum, at an eighth of the rate, does neither
    "quadratic": Surface("ill-conditioned quadratic 0.5 (x^2 + 50 y^2)",
                         lambda x, y: 0.5 * (x * x + 50 * y * y),
                         (-3.0, 3.0), (-2.0, 2.0), (-2.8, 1.2), (0.0, 0.0),
                         _lrs(0.038, 0.005, 0.005, 0.01, 0.5, 0.02, 1.0, 0.1, 0.1)),
    "rosenbrock": Surface("Rosenbrock (1 - x)^2 + 100 (y - x^2)^2",
                          lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
                          (-2.0, 2.0), (-1.0, 3.0), (-1.2, 1.0), (1.0, 1.0),
                          _lrs(0.001, 0.0003, 0.0003, 0.01, 1.0, 0.01, 1.0, 0.1, 0.1)),
    "beale": Surface("Beale's function",
                     lambda x, y: ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2
                                   + (2.625 - x + x * y * y * y) ** 2),
                     (-4.5, 4.5), (-4.5, 4.5), (1.0, 1.75), (3.0, 0.5),
                     _lrs(0.002, 0.0005, 0.0005, 0.005, 1.0, 0.01, 1.0, 0.1, 0.1)),
    # a saddle at the origin between two minima at (0, +-1)
    "saddle": Surface("saddle x^2 + y^4 / 4 - y^2 / 2",
                      lambda x, y: x * x + y ** 4 / 4 - y * y / 2,
                      (-2.0, 2.0), (-2.0, 2.0), (-1.8, 0.001), (0.0, 1.0),
                      _lrs(0.05, 0.01, 0.01, 0.01, 0.5, 0.01, 1.0, 0.05, 0.05)),
}

BLOW_UP = 1e6  # a point this far out has diverged


class SurfaceRace:
    """Several optimizers from one start on one surface, one step of each at a time."""

    def __init__(self, cfg):
        from . import optimizers  # here: optimizers -> config -> surfaces at import time
        self.cfg = cfg
        self.surface = SURFACES[cfg["surface"]]
        self.lanes = []
        for name in cfg["optimizers"]:
            p = dg.nn.Parameter(dg.tensor([cfg["x0"], cfg["y0"]], dtype=dg.float64))
            opt = optimizers.build([p], name, cfg[f"lr_{name}"],
                                   {"momentum": cfg["momentum"]})
            self.lanes.append({"name": name, "lr": cfg[f"lr_{name}"], "p": p, "opt": opt,
                               "status": None})
        self.step_count = 0

    def setup(self):
        s = self.surface
        return {"type": "setup", "kind": "surface", "surface": self.cfg["surface"],
                "title": s.title, "x_range": s.x_range, "y_range": s.y_range,
                "minimum": s.minimum, "grid": self.surface.grid().tolist(),
                "start": [self.cfg["x0"], self.cfg["y0"]], "steps": self.cfg["steps"],
                "lanes": [{"name": lane["name"], "lr": lane["lr"]} for lane in self.lanes],
                "loss0": float(s.f(self.cfg["x0"], self.cfg["y0"])),
                "loss_min": float(s.f(*s.minimum))}

    @property
    def done(self):
        return self.step_count >= self.cfg["steps"] or all(
            lane["status"] for lane in self.lanes)

    def step(self):
        """One step of every optimizer still going; returns [(x, y, loss) or None]."""
        self.step_count += 1
        out = []
        for lane in self.lanes:
            if lane["status"]:
                out.append(None)
                continue
            p, opt = lane["p"], lane["opt"]
            opt.zero_grad()
            loss = self.surface.f(p[0], p[1])
            loss.backward()
            opt.step()
            x, y = (float(v) for v in p.detach().numpy())
            value = float(self.surface.f(x, y)) if max(abs(x), abs(y)) < BLOW_UP else np.inf
            if not np.isfinite(value):
                lane["status"] = f"diverged at step {self.step_count}"
                out.append(None)
                continue
            out.append((x, y, value))
        return out
