"""Output that redraws in place in a notebook (Jupyter, JupyterLab, VS Code).

A cell's output can be replaced while the cell runs: IPython's ``display(obj,
display_id=True)`` returns a handle whose ``update(obj)`` redraws that output. Every
front end that runs an IPython kernel supports it, with no widget extension, so the
progress bar and the live curves use only this.
"""
import sys


def in_notebook():
    """True inside an IPython kernel (a notebook), False in a terminal or a script."""
    shell = sys.modules.get("IPython")
    shell = shell.get_ipython() if shell is not None else None
    return shell is not None and hasattr(shell, "kernel")


class LiveOutput:
    """One output of the running cell, shown once and then redrawn in place."""

    def __init__(self):
        self.handle = None

    def show(self, obj):
        from IPython.display import display
        if self.handle is None:
            self.handle = display(obj, display_id=True)
        else:
            self.handle.update(obj)


def html(text):
    from IPython.display import HTML
    return HTML(text)
