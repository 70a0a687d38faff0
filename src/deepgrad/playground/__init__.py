"""The browser playground: ``deepgrad playground`` serves a page on 127.0.0.1 where a
network trains live in deepgrad (decision boundary, a heatmap per neuron, losses,
per-layer gradient norms) and optimizers race on 2-D surfaces.

Needs the ``playground`` extra (Starlette and uvicorn): ``pip install
deepgrad[playground]``.
``config`` (the parameters), ``datasets``, ``network`` and ``surfaces`` (the training),
``runs`` (a thread per run) and ``server`` (HTTP and Server-Sent Events) are its parts.
"""


def serve(port=0, open_browser=False):
    """Start the playground server on 127.0.0.1 (see :func:`server.serve`)."""
    try:
        from .server import serve as _serve
    except ImportError as err:
        raise ImportError(f"the playground needs Starlette and uvicorn ({err}); install "
                          "them with: pip install 'deepgrad[playground]'") from None
    _serve(port=port, open_browser=open_browser)
