"""Griffe extension: deepgrad's docstrings are written for ``help()`` and reST-minded
readers (``::`` before an indented formula block, ``:class:`Adam``` roles, simple
tables between ``===`` rules); this turns them into the Markdown that mkdocstrings
renders (``:`` and a code block, ``Adam``, the table as preformatted text)."""
import re

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc):`~?([^`]+)`")
_LITERAL = re.compile(r"\s*::$", re.M)
_RULE = re.compile(r"^ *=+( +=+)+ *$")


def rst_to_markdown(text):
    """``::`` ending a line becomes ``:`` (the indented block after it is code in Markdown
    too); ``:role:`name``` becomes ````name````; a simple table (between ``=== ===``
    rules, the last one followed by a blank line) is fenced as text."""
    return _tables(_LITERAL.sub(":", _ROLE.sub(r"``\1``", text)))


def _tables(text):
    lines, out, inside = text.split("\n"), [], False
    for i, line in enumerate(lines):
        if not _RULE.match(line):
            out.append(line)
            continue
        last = i + 1 == len(lines) or not lines[i + 1].strip()
        if not inside:
            out += ["", "```text", line]
            inside = True
        else:
            out.append(line)
            if last:  # the closing rule: a blank line (or the end) follows it
                out += ["```", ""]
                inside = False
    return text if inside else "\n".join(out)  # an unclosed table: leave it as it was


class RstToMarkdown(griffe.Extension):
    def on_instance(self, *, node, obj, agent, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)

    def on_class_members(self, *, node, cls, agent, **kwargs):
        # __slots__ entries are inspected as attributes "<member 'x' of 'C' objects>":
        # storage, not API (the properties in front of them are documented)
        for name, member in list(cls.members.items()):
            if (not member.is_alias and member.is_attribute
                    and str(member.value or "").startswith("<member '")):
                cls.del_member(name)
