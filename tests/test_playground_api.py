"""The playground's server over real HTTP: runs start, stream, pause, step, reconfigure and
stop; bad input is refused with a message naming the parameter; runs are independent; a
closed stream stops its run; a diverging run says so."""
import http.client
import json
import math
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from helpers_playground import registry, url  # noqa: F401 (fixtures; skips without the extra)

from deepgrad.playground import config, runs, server

FAST = {"speed": 1000, "dataset": "moons", "optimizer": "adam", "lr": 0.03}


def call(url, path, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path.lstrip("/"), data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def start(url, kind="network", **cfg):
    status, body = call(url, "/api/runs", {"kind": kind, "config": cfg})
    assert status == 201, body
    return body["id"]


class Stream:
    """A run's Server-Sent Events, read line by line."""

    def __init__(self, url, run_id):
        host, port = url.split("//")[1].rstrip("/").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.conn.request("GET", f"/api/runs/{run_id}/events")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert self.resp.getheader("Content-Type").startswith("text/event-stream")

    def next(self, kind=None, timeout=10):
        """The next event (of type ``kind``, skipping others)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.resp.readline()
            assert line, "the stream ended"
            if line.startswith(b"data: "):
                event = json.loads(line[6:])  # strict JSON: a NaN would not parse in JS
                if kind is None or event["type"] == kind:
                    return event
        raise AssertionError(f"no {kind or 'event'} within {timeout} s")

    def close(self):
        self.resp.close()
        self.conn.close()


def live(url):
    return {r["id"]: r for r in call(url, "/api/runs")[1]["runs"]}


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_page_and_the_schema_are_served(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        page = resp.read().decode()
    assert "<script" in page and "/static/app.js" in page
    status, schema = call(url, "/api/schema")
    assert status == 200
    assert schema["network"]["optimizer"]["choices"] == list(config.OPTIMIZERS)
    assert len(config.OPTIMIZERS) == 9
    assert set(schema["network"]["dataset"]["choices"]) == {"spirals", "moons", "circles",
                                                           "xor", "blobs"}
    assert set(schema["surfaces"]) == {"quadratic", "rosenbrock", "beale", "saddle"}


def test_every_asset_ships_in_the_package_and_none_is_fetched_from_elsewhere():
    files = sorted(p.name for p in server.STATIC.iterdir())
    assert {"index.html", "app.js", "style.css"} <= set(files)
    for path in server.STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path.name
        assert "import(" not in text and "@import" not in text, path.name


@pytest.mark.parametrize("kind, cfg, message", [
    ("network", {"lr": -1}, "lr must be in (0, 10], got -1"),
    ("network", {"lr": "fast"}, "lr must be a number, got 'fast'"),
    ("network", {"layers": 1000}, "layers must be in [0, 8], got 1000"),
    ("network", {"neurons": 2.5}, "neurons must be a whole number, got 2.5"),
    ("network", {"optimizer": "adamax"}, "unknown optimizer 'adamax'; choose one of sgd"),
    ("network", {"activation": "gelu"}, "unknown activation 'gelu'"),
    ("network", {"learning_rate": 0.1}, "unknown parameter 'learning_rate'"),
    ("network", {"batch": 300}, "batch must be at most the number of training samples "
     "(280), got 300"),
    ("network", {"optimizer": "rmsprop", "weight_decay": 0.01, "decay": "decoupled"},
     "decoupled weight decay is offered by"),
    ("network", {"speed": 10**6}, "speed must be in [1, 1000]"),
    ("surface", {"surface": "himmelblau"}, "unknown surface 'himmelblau'"),
    ("surface", {"surface": "rosenbrock", "x0": 9}, "x0 must be within the rosenbrock "
     "surface's range [-2.0, 2.0], got 9"),
    ("surface", {"optimizers": "sgd,lbfgs"}, "unknown optimizer 'lbfgs' in optimizers"),
    ("surface", {"lr_adam": 0}, "lr_adam must be in (0, 10], got 0"),
    ("molecule", {}, "unknown kind 'molecule'"),
])
def test_bad_input_is_refused_with_a_message_naming_it(url, kind, cfg, message):
    before = set(live(url))
    status, body = call(url, "/api/runs", {"kind": kind, "config": cfg})
    assert status == 400
    assert message in body["error"]
    assert set(live(url)) == before  # nothing was started


def test_a_body_that_is_not_json_is_refused(url):
    req = urllib.request.Request(url + "api/runs", b"lr=-1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400
    assert "JSON object" in json.load(err.value)["error"]


def test_a_run_streams_its_setup_then_frames_and_its_loss_falls(url):
    run_id = start(url, **FAST)
    stream = Stream(url, run_id)
    try:
        setup = stream.next("setup")
        assert setup["layers"] == [2, 8, 8, 2] and setup["classes"] == 2
        assert len(setup["train"]["x"]) == 280 and len(setup["test"]["y"]) == 120
        first = stream.next("frame")
        assert first["step"] == 0
        assert len(first["neurons"]) == 2 and len(first["grad_norms"]) == 3
        import base64
        assert len(base64.b64decode(first["boundary"])) == 48 * 48 * 2
        assert len(base64.b64decode(first["neurons"][0])) == 8 * 24 * 24
        frame = first
        while frame["step"] < 400:
            frame = stream.next("frame")
        assert frame["train_loss"] < 0.8 * first["train_loss"]
        assert frame["boundary"] != first["boundary"]
        assert all(g > 0 and math.isfinite(g) for g in frame["grad_norms"])
    finally:
        stream.close()


def test_pause_step_play_and_reset(url):
    run_id = start(url, **FAST)
    stream = Stream(url, run_id)
    try:
        stream.next("frame")
        assert call(url, f"/api/runs/{run_id}/control", {"action": "pause"})[0] == 200
        paused = stream.next("paused")["step"]
        assert not live(url)[run_id]["playing"]
        time.sleep(0.3)
        assert live(url)[run_id]["step"] == paused  # no step while paused
        call(url, f"/api/runs/{run_id}/control", {"action": "step"})
        assert stream.next("frame")["step"] == paused + 1
        call(url, f"/api/runs/{run_id}/control", {"action": "play"})
        assert stream.next("frame")["step"] > paused + 1
        call(url, f"/api/runs/{run_id}/control", {"action": "reset"})
        stream.next("setup")
        assert stream.next("frame")["step"] == 0
        status, body = call(url, f"/api/runs/{run_id}/control", {"action": "rewind"})
        assert status == 400 and "unknown action 'rewind'" in body["error"]
    finally:
        stream.close()


def test_changes_apply_at_once_and_bad_changes_leave_the_run_as_it_was(url):
    run_id = start(url, **FAST)
    stream = Stream(url, run_id)
    try:
        before = stream.next("frame")["step"]
        while before < 50:
            before = stream.next("frame")["step"]
        status, body = call(url, f"/api/runs/{run_id}/config", {"config": {**FAST, "lr": 0.2}})
        assert status == 200 and body["config"]["lr"] == 0.2
        frame = stream.next()
        while frame["lr"] != 0.2:
            frame = stream.next()
            assert frame["type"] == "frame"  # a train-group change keeps the network
        assert frame["step"] >= before
        status, body = call(url, f"/api/runs/{run_id}/config", {"config": {"lr": -0.5}})
        assert status == 400 and "lr must be in (0, 10], got -0.5" in body["error"]
        assert stream.next("frame")["lr"] == 0.2
        call(url, f"/api/runs/{run_id}/config", {"config": {**FAST, "layers": 3}})
        setup = stream.next("setup")  # a model-group change rebuilds the network
        assert setup["layers"] == [2, 8, 8, 8, 2]
        assert stream.next("frame")["step"] == 0
    finally:
        stream.close()


def test_two_runs_at_once_are_independent(url):
    a = start(url, **FAST, activation="relu", seed=1)
    b = start(url, **FAST, activation="sigmoid", seed=2)
    sa, sb = Stream(url, a), Stream(url, b)
    try:
        assert sa.next("setup")["train"] != sb.next("setup")["train"]
        call(url, f"/api/runs/{a}/control", {"action": "pause"})
        sa.next("paused")
        step_a = live(url)[a]["step"]
        first_b = sb.next("frame")["step"]
        frame_b = sb.next("frame")
        while frame_b["step"] < first_b + 50:
            frame_b = sb.next("frame")
        assert live(url)[a]["step"] == step_a  # b trains on while a is paused
        call(url, f"/api/runs/{a}/control", {"action": "play"})
        assert sa.next("frame")["step"] > step_a
    finally:
        sa.close()
        sb.close()


def test_a_run_steps_no_faster_than_its_speed(url):
    run_id = start(url, **{**FAST, "speed": 40})
    stream = Stream(url, run_id)
    try:
        first = stream.next("frame")
        began = time.monotonic()
        frame = stream.next("frame")
        while time.monotonic() - began < 1.0:
            frame = stream.next("frame")
        rate = (frame["step"] - first["step"]) / (time.monotonic() - began)
        assert 20 < rate < 50, rate
    finally:
        stream.close()


def test_a_heavy_run_leaves_a_light_one_its_pace(url):
    heavy = start(url, speed=1000, layers=8, neurons=32, batch=280, activation="relu",
                  lr=0.01)
    light = start(url, **{**FAST, "speed": 40})
    sh, sl = Stream(url, heavy), Stream(url, light)
    try:
        sh.next("frame")
        first = sl.next("frame")
        began = time.monotonic()
        frame = sl.next("frame")
        while time.monotonic() - began < 1.5:
            frame = sl.next("frame")
            sh.next("frame")  # read the heavy stream too, as its page would
        rate = (frame["step"] - first["step"]) / (time.monotonic() - began)
        assert rate > 25, rate  # of 40 asked for
    finally:
        sh.close()
        sl.close()


def test_a_closed_stream_stops_its_run(url, registry):
    run_id = start(url, **FAST)
    stream = Stream(url, run_id)
    stream.next("frame")
    thread = registry.get(run_id).thread
    assert thread.is_alive()
    stream.close()
    assert wait_until(lambda: run_id not in live(url)), "the run outlived its page"
    thread.join(5)
    assert not thread.is_alive()
    assert call(url, f"/api/runs/{run_id}/control", {"action": "play"})[0] == 404


def test_one_page_per_stream(url):
    run_id = start(url, **FAST)
    stream = Stream(url, run_id)
    try:
        stream.next("frame")
        host, port = url.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", f"/api/runs/{run_id}/events")
        resp = conn.getresponse()
        assert resp.status == 409 and "already streams" in json.load(resp)["error"]
        conn.close()
    finally:
        stream.close()


def test_a_diverging_run_says_so_instead_of_drawing_nan(url):
    run_id = start(url, speed=1000, activation="relu", layers=4, neurons=32, lr=10)
    stream = Stream(url, run_id)
    try:
        event = stream.next()
        while event["type"] in ("setup", "frame"):
            assert event["type"] == "setup" or math.isfinite(event["train_loss"])
            event = stream.next()
        assert event["type"] == "diverged"
        assert "diverged at step" in event["message"] and "lower the learning rate" \
            in event["message"]
        assert not live(url)[run_id]["playing"]
    finally:
        stream.close()


def test_the_optimizer_view_races_optimizers_from_one_start(url):
    run_id = start(url, "surface", surface="quadratic", optimizers="sgd,momentum,adam",
                   steps=60, speed=1000, x0=-2.0, y0=1.0)
    stream = Stream(url, run_id)
    try:
        setup = stream.next("setup")
        assert [lane["name"] for lane in setup["lanes"]] == ["sgd", "momentum", "adam"]
        assert setup["start"] == [-2.0, 1.0] and len(setup["grid"]) == 96
        paths = [[] for _ in setup["lanes"]]
        event = stream.next()
        while event["type"] != "done":
            if event["type"] == "frame":
                for path, lane in zip(paths, event["lanes"]):
                    path.extend(lane["points"])
            event = stream.next()
        assert event["step"] == 60
        assert all(len(path) == 60 for path in paths)
        for path in paths:
            assert path[-1][2] < 0.1 * setup["loss0"]
        # lr 0.038 on curvature 50: SGD's y flips sign at every step; momentum's seldom
        flips = [sum(a[1] * b[1] < 0 for a, b in zip(path, path[1:])) for path in paths]
        assert flips[0] == 59 and flips[1] < 20, flips
    finally:
        stream.close()


def test_an_optimizer_that_diverges_on_a_surface_is_marked(url):
    run_id = start(url, "surface", surface="quadratic", optimizers="sgd,adam", lr_sgd=0.2,
                   steps=100, speed=1000)
    stream = Stream(url, run_id)
    try:
        event = stream.next()
        while event["type"] != "done":
            if event["type"] == "frame":
                last = event
                for lane in event["lanes"]:
                    assert all(math.isfinite(v) for point in lane["points"] for v in point)
                    assert all(abs(v) < 1e6 for point in lane["points"] for v in point[:2])
            event = stream.next()
        sgd, adam = last["lanes"]
        assert re.fullmatch(r"diverged at step \d+", sgd["status"])  # 1 - 0.2 * 50 = -9
        assert adam["status"] is None
    finally:
        stream.close()


def test_stopping_the_server_ends_its_streams_and_runs_at_once():
    import logging
    errors = []
    catch = logging.Handler(logging.ERROR)
    catch.emit = errors.append
    registry = runs.Registry()
    with server.background(registry=registry) as address:
        logging.getLogger("uvicorn.error").addHandler(catch)  # after uvicorn set its logs
        stream = Stream(address, start(address, **FAST))
        stream.next("frame")
        thread = next(iter(registry.runs.values())).thread
        stopped = time.monotonic()
    logging.getLogger("uvicorn.error").removeHandler(catch)
    # well before uvicorn's graceful timeout (1 s), which would cancel the stream
    assert time.monotonic() - stopped < 0.8
    assert not [r.getMessage() for r in errors]
    thread.join(2)
    assert not thread.is_alive() and not registry.runs
    with pytest.raises(AssertionError, match="the stream ended"):
        for _ in range(1000):
            stream.next()
    stream.close()


def test_runs_whose_page_never_comes_stop(monkeypatch):
    monkeypatch.setattr(runs, "ATTACH_TIMEOUT", 0.3)
    with server.background() as address:
        run_id = start(address, **FAST)
        assert wait_until(lambda: run_id not in live(address), timeout=5)


def test_too_many_runs_are_refused():
    with server.background(registry=runs.Registry(max_runs=2)) as address:
        start(address, **FAST)
        start(address, **FAST)
        status, body = call(address, "/api/runs", {"kind": "network", "config": FAST})
        assert status == 400 and "too many runs at once (2)" in body["error"]


def test_the_command_prints_its_url_and_serves_127_0_0_1_only():
    proc = subprocess.Popen([sys.executable, "-m", "deepgrad.cli", "playground"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line + proc.stderr.read()
        port = int(found.group(1))
        assert wait_until(lambda: call(f"http://127.0.0.1:{port}/", "/api/schema")[0] == 200)
        others = [a for a in {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None,
                                                                  socket.AF_INET)}
                  if not a.startswith("127.")]
        for address in others:  # not reachable from the network
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
        run_id = start(f"http://127.0.0.1:{port}/", **FAST)
        stream = Stream(f"http://127.0.0.1:{port}/", run_id)
        stream.next("frame")
        proc.send_signal(signal.SIGINT)  # Ctrl+C with a page open: a quiet, quick exit
        assert proc.wait(5) == 0
        assert proc.stderr.read() == ""
        stream.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_the_command_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "deepgrad.cli", "playground",
                                 "--port", str(port)], capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_static_files_are_package_data():
    text = (pathlib.Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"deepgrad.playground" = ["static/*"]' in text


@pytest.mark.parametrize("optimizer", config.OPTIMIZERS)
@pytest.mark.parametrize("decay", ["l2", "decoupled"])
def test_every_optimizer_trains_in_the_network_view_with_either_decay(optimizer, decay):
    from deepgrad.playground.network import NetworkTrainer
    raw = {"dataset": "moons", "optimizer": optimizer, "weight_decay": 0.01, "decay": decay,
           "lr": 1.0 if optimizer == "adadelta" else 0.05, "batchnorm": True, "dropout": 0.1}
    if decay == "decoupled" and optimizer not in config.DECOUPLED or \
            decay == "l2" and optimizer == "adamw":
        with pytest.raises(config.ConfigError, match="decoupled"):
            config.check_network(raw)
        return
    trainer = NetworkTrainer(config.check_network(raw))
    first = trainer.frame()["train_loss"]
    for _ in range(150):
        trainer.step()
    assert trainer.frame()["train_loss"] < first, optimizer
    group = trainer.optimizer.param_groups[0]
    if optimizer == "rprop":  # no decay of its own: the L2 penalty is in the loss
        assert trainer.penalty == 0.01
    else:
        assert group["weight_decay"] == 0.01
        assert group.get("decoupled_weight_decay", False) == (decay == "decoupled")
    assert group.get("nesterov", False) == (optimizer == "nesterov")
    kinds = {type(m).__name__ for m in trainer.model}
    assert {"BatchNorm1d", "Dropout", "Tanh"} <= kinds


@pytest.mark.parametrize("schedule, options, at_10", [
    ("none", {}, 0.1), ("step", {"step_size": 10, "step_gamma": 0.5}, 0.05),
    ("exponential", {"exp_gamma": 0.9}, 0.1 * 0.9 ** 10),
    ("cosine", {"t_max": 20}, 0.05), ("warmup", {"warmup": 20}, 0.1 * (0.01 + 0.99 / 2)),
])
def test_the_schedules_set_the_learning_rate_per_step(schedule, options, at_10):
    from deepgrad.playground.network import NetworkTrainer
    trainer = NetworkTrainer(config.check_network({"schedule": schedule, **options}))
    for _ in range(10):
        trainer.step()
    assert trainer.frame()["lr"] == pytest.approx(at_10)


def test_a_runs_weights_come_from_its_seed_and_leave_the_shared_generator_alone():
    import deepgrad as dg
    from deepgrad.playground.network import NetworkTrainer

    def weights(seed):
        trainer = NetworkTrainer(config.check_network({"seed": seed}))
        return [p.detach().numpy().copy() for p in trainer.model.parameters()]

    dg.manual_seed(123)
    expected = dg.randn(5).numpy()
    dg.manual_seed(123)
    first = weights(7)
    assert (dg.randn(5).numpy() == expected).all()  # the caller's stream goes on as it was
    dg.randn(3)  # wherever the shared generator stands, the seed decides
    assert all((a == b).all() for a, b in zip(first, weights(7)))
    assert not all((a == b).all() for a, b in zip(first, weights(8)))
