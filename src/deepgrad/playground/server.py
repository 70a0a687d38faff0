"""The playground's HTTP server (Starlette on uvicorn), bound to 127.0.0.1 only.

    GET  /                          the page (static/index.html; every asset is local)
    GET  /api/schema                the parameters of both views (config.py)
    POST /api/runs                  {"kind": "network"|"surface", "config": {...}}
                                    -> 201 {"id", "config"} or 400 {"error"}
    GET  /api/runs                  the live runs
    GET  /api/runs/{id}/events      the run's events as Server-Sent Events; closing
                                    the stream stops the run
    POST /api/runs/{id}/control     {"action": "play"|"pause"|"step"|"reset"}
    POST /api/runs/{id}/config      {"config": {...}}: applied at once, or 400 {"error"}
    DELETE /api/runs/{id}           stop the run
"""
import asyncio
import contextlib
import json
import pathlib
import socket
import threading
import webbrowser

import uvicorn
from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import config
from .runs import Registry

STATIC = pathlib.Path(__file__).parent / "static"
KEEP_ALIVE = 15.0  # seconds between comments on an idle stream
ACTIONS = ("play", "pause", "step", "reset")


class UnknownRun(LookupError):
    """A run id that names no live run (404)."""


def _error(message, status=400):
    return JSONResponse({"error": message}, status_code=status)


async def _body(request):
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise config.ConfigError("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise config.ConfigError("the request body must be a JSON object")
    return body


def create_app(registry=None):
    registry = registry or Registry()

    def run_or_404(request):
        run = registry.get(request.path_params["run_id"])
        if run is None:
            raise UnknownRun(f"no run {request.path_params['run_id']!r} (it has stopped, "
                              "or never started); reload the page")
        return run

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def schema(request):
        return JSONResponse(config.schema())

    async def create(request):
        body = await _body(request)
        run = registry.create(body.get("kind", "network"), body.get("config", {}),
                              asyncio.get_running_loop())
        return JSONResponse({"id": run.id, "kind": run.kind, "config": run.cfg},
                            status_code=201)

    async def listing(request):
        return JSONResponse({"runs": [{"id": r.id, "kind": r.kind, "step": r.step_count,
                                       "playing": r.playing, "attached": r.attached}
                                      for r in list(registry.runs.values())]})

    async def events(request):
        run = run_or_404(request)
        if run.attached:
            return _error(f"run {run.id} already streams to another page", 409)
        run.attached = True

        async def stream():
            try:
                while True:
                    try:
                        event = await asyncio.wait_for(run.events.get(), KEEP_ALIVE)
                    except asyncio.TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if event is None:  # the run has ended
                        return
                    yield f"data: {json.dumps(event, allow_nan=False)}\n\n"
            finally:  # the page went away (or the server stops): so does its run
                run.stop()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def control(request):
        run = run_or_404(request)
        action = (await _body(request)).get("action")
        if action not in ACTIONS:
            raise config.ConfigError(f"unknown action {action!r}; choose one of "
                                     f"{', '.join(ACTIONS)}")
        run.command(action)
        return JSONResponse({"id": run.id, "action": action})

    async def reconfigure(request):
        run = run_or_404(request)
        cfg = registry.check(run, (await _body(request)).get("config", {}))
        run.command("config", cfg)
        return JSONResponse({"id": run.id, "config": cfg})

    async def delete(request):
        run_or_404(request).stop()
        return JSONResponse({"stopped": request.path_params["run_id"]})

    async def refused(request, exc):
        return _error(str(exc))

    async def missing(request, exc):
        return _error(str(exc), 404)

    routes = [
        Route("/", index),
        Route("/api/schema", schema),
        Route("/api/runs", create, methods=["POST"]),
        Route("/api/runs", listing, methods=["GET"]),
        Route("/api/runs/{run_id}/events", events),
        Route("/api/runs/{run_id}/control", control, methods=["POST"]),
        Route("/api/runs/{run_id}/config", reconfigure, methods=["POST"]),
        Route("/api/runs/{run_id}", delete, methods=["DELETE"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        registry.stop_all(wait=2.0)

    app = Starlette(routes=routes, exception_handlers={config.ConfigError: refused,
                                                       UnknownRun: missing},
                    lifespan=lifespan)
    app.state.registry = registry
    return app


def _bind(port):
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {port!r}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as err:
        sock.close()
        raise ValueError(f"cannot listen on 127.0.0.1:{port}: {err.strerror}") from None
    sock.listen(128)  # a browser opened at once queues until uvicorn accepts
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, which ends the runs (and so their streams) before it waits for
    the open connections to close."""

    def __init__(self, registry):
        self.registry = registry
        super().__init__(uvicorn.Config(create_app(registry), log_level="warning",
                                        access_log=False, timeout_graceful_shutdown=1))

    def handle_exit(self, sig, frame):
        self.registry.stop_all()
        super().handle_exit(sig, frame)


def serve(port=0, open_browser=False):
    """Serve the playground on 127.0.0.1:``port`` (0: a free port) until interrupted."""
    sock = _bind(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    print(f"deepgrad playground: {url}  (Ctrl+C stops it)", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    _Server(Registry()).run(sockets=[sock])


@contextlib.contextmanager
def background(port=0, registry=None):
    """The server in a thread of this process, for tests and notebooks: yields its URL.
    (Pass a :class:`runs.Registry` to look at its runs.)"""
    sock = _bind(port)
    server = _Server(registry or Registry())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the playground server did not start")
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.handle_exit(None, None)
        thread.join(10)
        sock.close()
