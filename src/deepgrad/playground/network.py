"""The network view's trainer: a deepgrad MLP on a 2-D dataset, stepped one minibatch at a
time, and the pictures of it the page draws (decision boundary, one heatmap per neuron,
losses, per-layer gradient norms).

Changes of the ``data`` and ``model`` groups rebuild everything; changes of the ``train``
group keep the weights and rebuild the optimizer, the schedule and the loader (a change
of the learning rate alone, without a schedule, is written into the optimizer in place,
so Adam keeps its moments).
"""
import base64
import math

import numpy as np

import deepgrad as dg

from . import datasets, optimizers
from .config import NETWORK

GRID = 48  # the boundary picture is GRID x GRID; each neuron's heatmap is half that
ACTIVATIONS = {"sigmoid": dg.nn.Sigmoid, "tanh": dg.nn.Tanh, "relu": dg.nn.ReLU,
               "leaky_relu": dg.nn.LeakyReLU}


def _b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).decode()


def build_model(cfg, n_classes):
    """Linear, [BatchNorm1d], activation, [Dropout] per hidden layer, then a Linear; the
    weights drawn from the run's own seed, the shared generator left as it was."""
    outside = dg.backend.get_rng_state()
    dg.manual_seed(cfg["seed"])
    layers, width = [], 2
    for _ in range(cfg["layers"]):
        layers.append(dg.nn.Linear(width, cfg["neurons"]))
        if cfg["batchnorm"]:
            layers.append(dg.nn.BatchNorm1d(cfg["neurons"]))
        layers.append(ACTIVATIONS[cfg["activation"]]())
        if cfg["dropout"]:
            layers.append(dg.nn.Dropout(cfg["dropout"]))
        width = cfg["neurons"]
    layers.append(dg.nn.Linear(width, n_classes))
    dg.backend.set_rng_state(outside)
    return dg.nn.Sequential(*layers)


def build_schedule(optimizer, cfg):
    sched = dg.optim.lr_scheduler
    kind = cfg["schedule"]
    if kind == "step":
        return sched.StepLR(optimizer, cfg["step_size"], gamma=cfg["step_gamma"])
    if kind == "exponential":
        return sched.ExponentialLR(optimizer, gamma=cfg["exp_gamma"])
    if kind == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=cfg["t_max"])
    if kind == "warmup":
        return sched.LinearLR(optimizer, start_factor=0.01, total_iters=cfg["warmup"])
    return None


def _grid_points(n):
    ticks = np.linspace(-datasets.EXTENT, datasets.EXTENT, n, dtype=np.float32)
    x, y = np.meshgrid(ticks, ticks[::-1])  # row 0 is the top of the picture
    return np.stack([x.ravel(), y.ravel()], 1)


class NetworkTrainer:
    def __init__(self, cfg):
        self.cfg = cfg
        self._build()

    def _build(self):
        cfg = self.cfg
        self.x_train, self.y_train, self.x_test, self.y_test = datasets.split(cfg)
        self.classes = datasets.n_classes(cfg)
        self.model = build_model(cfg, self.classes)
        self.linears = [m for m in self.model if isinstance(m, dg.nn.Linear)]
        self.loss_fn = dg.nn.CrossEntropyLoss()
        self.step_count = 0
        self.grad_norms = [0.0] * len(self.linears)
        self.batch_losses = []
        self.diverged = None
        self._build_training()

    def _build_training(self):
        cfg = self.cfg
        self.optimizer = optimizers.build(self.model.parameters(), cfg["optimizer"],
                                          cfg["lr"], cfg)
        self.schedule = build_schedule(self.optimizer, cfg)
        self.penalty = cfg["weight_decay"] if optimizers.needs_l2_penalty(cfg) else 0.0
        train = dg.data.TensorDataset(dg.tensor(self.x_train), dg.tensor(self.y_train))
        self.loader = dg.data.DataLoader(train, batch_size=cfg["batch"], shuffle=True,
                                         seed=cfg["seed"] + self.step_count)
        self.batches = iter(self.loader)

    def update(self, cfg):
        """Apply a new configuration; True when the network was rebuilt (a reset)."""
        changed = {k for k in cfg if cfg[k] != self.cfg[k]}
        old, self.cfg = self.cfg, cfg
        if any(NETWORK[k].group in ("data", "model") for k in changed):
            self._build()
            return True
        if changed == {"lr"} and old["schedule"] == "none":
            for group in self.optimizer.param_groups:
                group["lr"] = cfg["lr"]
        elif any(NETWORK[k].group == "train" for k in changed):
            self._build_training()
        return False

    def reset(self):
        self._build()

    def step(self):
        """One minibatch step; sets ``diverged`` when the loss or a gradient stops being
        finite (the overflow that leads there is expected, not warned about)."""
        with np.errstate(over="ignore", invalid="ignore"):
            self._step()

    def _step(self):
        try:
            xb, yb = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            xb, yb = next(self.batches)
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(xb), yb)
        if self.penalty:
            loss = loss + dg.nn.utils.l2_penalty(self.model.parameters(), self.penalty)
        loss.backward()
        self.grad_norms = [math.sqrt(sum(float((p.grad * p.grad).sum())
                                         for p in m.parameters() if p.grad is not None))
                           for m in self.linears]
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        self.step_count += 1
        value = float(loss)
        self.batch_losses.append(value)
        if not (math.isfinite(value) and all(map(math.isfinite, self.grad_norms))):
            self.diverged = (f"the training diverged at step {self.step_count} (loss "
                             f"{value:.3g}, gradients no longer finite); lower the "
                             "learning rate and reset")

    def _evaluate(self, x, y):
        logits = self.model(dg.tensor(x))
        loss = float(self.loss_fn(logits, dg.tensor(y)))
        accuracy = float((logits.numpy().argmax(1) == y).mean())
        return loss, accuracy

    def setup(self):
        return {"type": "setup", "kind": "network", "extent": datasets.EXTENT,
                "classes": self.classes, "grid": GRID,
                "layers": [2] + [self.cfg["neurons"]] * self.cfg["layers"] + [self.classes],
                "train": {"x": np.round(self.x_train, 3).tolist(),
                          "y": self.y_train.tolist()},
                "test": {"x": np.round(self.x_test, 3).tolist(), "y": self.y_test.tolist()}}

    def frame(self):
        """The pictures and numbers of the network as it is now (None once diverged)."""
        if self.diverged:
            return None
        self.model.eval()
        hidden = []
        with dg.no_grad(), np.errstate(over="ignore", invalid="ignore"):
            h = dg.tensor(_grid_points(GRID))
            for module in self.model:
                h = module(h)
                if isinstance(module, tuple(ACTIVATIONS.values())):
                    hidden.append(h.numpy())
            probs = dg.nn.functional.softmax(h, dim=1).numpy()
            train_loss, train_acc = self._evaluate(self.x_train, self.y_train)
            test_loss, test_acc = self._evaluate(self.x_test, self.y_test)
        if not (math.isfinite(train_loss) and np.isfinite(probs).all()):
            self.diverged = (f"the training diverged at step {self.step_count}: the loss "
                             f"became {train_loss}; lower the learning rate and reset")
            return None
        neurons = []
        for acts in hidden:  # (GRID*GRID, width) -> per neuron, half resolution, in [-1, 1]
            acts = acts.reshape(GRID, GRID, -1)[::2, ::2].reshape(-1, acts.shape[1]).T
            scale = np.maximum(np.abs(acts).max(1, keepdims=True), 1e-12)
            neurons.append(_b64(np.round(127 * acts / scale) + 128))
        batch_loss = float(np.mean(self.batch_losses)) if self.batch_losses else None
        self.batch_losses = []
        return {"type": "frame", "step": self.step_count,
                "epoch": self.step_count * self.cfg["batch"] / len(self.x_train),
                "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": train_loss, "test_loss": test_loss,
                "train_accuracy": train_acc, "test_accuracy": test_acc,
                "batch_loss": batch_loss, "grad_norms": self.grad_norms,
                "boundary": _b64(np.round(255 * probs)), "neurons": neurons,
                "neuron_grid": GRID // 2}
