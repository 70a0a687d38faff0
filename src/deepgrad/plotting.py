"""Figures for files: matplotlib's Agg canvas without pyplot.

No global backend switch and never a window, so plotting from deepgrad cannot disturb a
user's interactive matplotlib session. ``save`` writes atomically: a reader never sees
half a PNG.
"""
import io


def figure(**kwargs):
    """A new Figure drawn by the Agg canvas (``Figure`` accepts figsize, dpi, ...); a
    notebook shows it inline (it has ``_repr_png_``, no pyplot backend needed)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("plots need matplotlib: pip install 'deepgrad[plot]'") from err

    class NotebookFigure(Figure):
        def _repr_png_(self):
            return png_bytes(self)

    fig = NotebookFigure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig, dpi=90):
    """The figure as PNG bytes (what a notebook displays)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def subplots(nrows=1, ncols=1, figsize=None, **kwargs):
    """Like ``pyplot.subplots``: ``(figure, axes)``."""
    fig = figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig, path, dpi=110):
    """Write ``fig`` as a PNG to ``path`` atomically; returns the path."""
    from .serialization import atomic_write
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write(path, buffer.getvalue())
    return path

