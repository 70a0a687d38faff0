"""Runs: one training per page (or per half of a compare page), each in its own thread.

A run's thread owns its trainer: the server talks to it only through a queue of
commands (play, pause, step, reset, a new configuration, stop), and it hands back events
(``setup``, ``frame``, ``paused``, ``diverged``, ``done``, ``error``; None when it has
ended) through an asyncio queue on the server's loop. It steps at most ``speed`` times a second and sends at most
``FPS`` frames a second, so a run takes its share of the CPU and no more. A run whose
page never connects within ``ATTACH_TIMEOUT`` seconds, or whose stream closes, stops.

deepgrad's random generator is process-wide (parameter init, dropout), so the runs take
turns: each holds ``TURN`` for one build, one step or one frame at a time, so a seeded
build is not interleaved with another run's draws, and a heavy run delays the others by
one of its steps, not by a frame's.
"""
import asyncio
import itertools
import queue
import threading
import time

from . import config
from .network import NetworkTrainer
from .surfaces import SurfaceRace

FPS = 10
MAX_RUNS = 16
ATTACH_TIMEOUT = 30.0
TURN = threading.Lock()
KINDS = {"network": (config.check_network, NetworkTrainer),
         "surface": (config.check_surface, SurfaceRace)}


class Run:
    def __init__(self, run_id, kind, cfg, loop, on_stop=None):
        self.id, self.kind, self.cfg = run_id, kind, cfg
        self.loop = loop
        self.events = asyncio.Queue(maxsize=256)
        self.commands = queue.Queue()
        self.playing = True
        self.attached = False
        self.step_count = 0
        self._on_stop = on_stop
        self._stopped = threading.Event()
        self._created = time.monotonic()
        self.thread = threading.Thread(target=self._main, name=f"playground-run-{run_id}",
                                       daemon=True)

    # ---- called from the server ----
    def start(self):
        self.thread.start()

    def command(self, action, payload=None):
        self.commands.put((action, payload))

    def stop(self):
        if not self._stopped.is_set():
            self._stopped.set()
            self.commands.put(("stop", None))

    @property
    def alive(self):
        return self.thread.is_alive()

    # ---- the run's thread ----
    def _emit(self, event):
        def put():
            if self.events.full():  # a stalled page loses its oldest event, not the run
                self.events.get_nowait()
            self.events.put_nowait(event)
        try:
            self.loop.call_soon_threadsafe(put)
        except RuntimeError:  # the server's loop has closed
            self._stopped.set()

    def _new_trainer(self):
        with TURN:
            self.trainer = KINDS[self.kind][1](self.cfg)
            setup = self.trainer.setup()
        self._emit(setup)
        self._frame()

    def _frame(self):
        if self.kind == "network":
            with TURN:
                frame = self.trainer.frame()
            if frame is None:
                self.playing = False
                self._emit({"type": "diverged", "step": self.trainer.step_count,
                            "message": self.trainer.diverged})
                return
        else:
            frame = {"type": "frame", "step": self.trainer.step_count,
                     "lanes": [{"points": points, "status": lane["status"]}
                               for points, lane in zip(self._points, self.trainer.lanes)]}
            self._points = [[] for _ in self.trainer.lanes]
        self.step_count = self.trainer.step_count
        self._emit(frame)

    def _steps(self, n, seconds=None):
        """Up to ``n`` steps (fewer where they take more than ``seconds``), then a frame."""
        deadline = None if seconds is None else time.monotonic() + seconds
        for i in range(n):
            if deadline is not None and i and time.monotonic() > deadline:
                break  # the CPU cannot give this speed: draw at the frame rate all the same
            if self.kind == "network":
                if self.trainer.diverged:
                    break
                with TURN:
                    self.trainer.step()
            else:
                if self.trainer.done:
                    break
                with TURN:
                    moved = self.trainer.step()
                for points, point in zip(self._points, moved):
                    if point is not None:
                        x, y, loss = point  # 6 decimals of position, 4 digits of loss
                        points.append([round(x, 6), round(y, 6), float(f"{loss:.4g}")])
        self._frame()
        if self.kind == "surface" and self.trainer.done and self.playing:
            self.playing = False
            self._emit({"type": "done", "step": self.trainer.step_count})

    def _handle(self, action, payload):
        if action == "play":
            self.playing = True
        elif action == "pause":
            self.playing = False
            self._emit({"type": "paused", "step": self.trainer.step_count})
        elif action == "step":
            self.playing = False
            self._steps(1)
        elif action == "reset":
            self._points = [[] for _ in self.cfg.get("optimizers", ())]
            self._new_trainer()
        elif action == "config":
            self.cfg = payload
            if self.kind == "network" and not self.trainer.diverged:
                with TURN:
                    rebuilt = self.trainer.update(payload)
                if rebuilt:
                    self._emit(self.trainer.setup())
                self._frame()
            else:
                self._handle("reset", None)

    def _main(self):
        try:
            self._points = [[] for _ in self.cfg.get("optimizers", ())]
            self._new_trainer()
            next_frame = time.monotonic()
            while not self._stopped.is_set():
                if not self.attached and time.monotonic() - self._created > ATTACH_TIMEOUT:
                    break
                wait = max(0.0, next_frame - time.monotonic()) if self.playing else 1.0
                try:
                    action, payload = self.commands.get(timeout=wait)
                    if action == "stop":
                        break
                    self._handle(action, payload)
                    continue
                except queue.Empty:
                    pass
                if self.playing:
                    speed = self.cfg["speed"]
                    period = max(1.0 / FPS, 1.0 / speed)
                    started = time.monotonic()
                    self._steps(max(1, round(speed * period)), period)
                    # never busier than the budget: wait at least a fifth of the work
                    next_frame = max(started + period,
                                     time.monotonic() + 0.2 * (time.monotonic() - started))
        except Exception as err:  # shown on the page rather than lost in a thread
            self._emit({"type": "error", "message": f"the run stopped: "
                        f"{type(err).__name__}: {err}"})
        finally:
            self._stopped.set()
            self._emit(None)  # the end of the stream
            if self._on_stop:
                self._on_stop(self)


class Registry:
    """The runs of one server, by id."""

    def __init__(self, max_runs=MAX_RUNS):
        self.max_runs = max_runs
        self.runs = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def create(self, kind, raw, loop):
        """Validate and start a run; ConfigError (a ValueError) for bad input."""
        if kind not in KINDS:
            raise config.ConfigError(f"unknown kind {kind!r}; choose one of "
                                     f"{', '.join(KINDS)}")
        cfg = KINDS[kind][0](raw)
        with self._lock:
            if len(self.runs) >= self.max_runs:
                raise config.ConfigError(f"too many runs at once ({self.max_runs}); close "
                                         "a playground tab and try again")
            run = Run(str(next(self._ids)), kind, cfg, loop, on_stop=self._forget)
            self.runs[run.id] = run
        run.start()
        return run

    def check(self, run, raw):
        return KINDS[run.kind][0](raw)

    def get(self, run_id):
        return self.runs.get(run_id)

    def _forget(self, run):
        with self._lock:
            self.runs.pop(run.id, None)

    def stop(self, run_id):
        run = self.runs.get(run_id)
        if run:
            run.stop()

    def stop_all(self, wait=0.0):
        """Stop every run; with ``wait``, give their threads that many seconds to end
        (a step or a frame), so none outlives the server."""
        live = list(self.runs.values())
        for run in live:
            run.stop()
        deadline = time.monotonic() + wait
        for run in live:
            run.thread.join(max(0.0, deadline - time.monotonic()))
