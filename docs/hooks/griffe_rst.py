"""Griffe extension: deepgrad's docstrings are written for ``help()`` and reST-minded
readers (``::`` before an indented formula block, ``:class:`Adam``` roles); this turns
them into the Markdown that mkdocstrings renders (``:`` and a code block, ``Adam``)."""
import re

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc):`~?([^`]+)`")
_LITERAL = re.compile(r"\s*::$", re.M)


def rst_to_markdown(text):
    """``::`` ending a line becomes ``:`` (the indented block after it is code in Markdown
    too); ``:role:`name``` becomes ````name````."""
    return _LITERAL.sub(":", _ROLE.sub(r"``\1``", text))


class RstToMarkdown(griffe.Extension):
    def on_instance(self, *, node, obj, agent, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
