"""Griffe extension: Sphinx roles in docstrings (``:class:`Scenario```) become cross-references on the site.

The docstrings use Sphinx roles; mkdocstrings reads Markdown. A target in one of the documented packages
(``:func:`shopgym.experiments.training.train_agent```) becomes a required cross-reference, so a target that is not on
the site fails ``mkdocs build --strict``. A short target is looked up the way Python would from the documented
object (``:meth:`reset``` on a class, ``:class:`Scenario``` in a module that imports it) and linked when the
site documents it, else shown as code, as Sphinx does. ``~`` shows only the last component.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):`(?P<tilde>~?)(?P<target>[\w.]+)`")


class SphinxXrefs(griffe.Extension):
    """Rewrites the Sphinx roles of every docstring into mkdocstrings cross-references.

    Args:
        packages: the top-level packages the site documents: a target under one of them must be on the site.
    """

    def __init__(self, packages: list[str]) -> None:
        super().__init__()
        self.packages = set(packages)

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the roles in ``obj``'s docstring (runs once the object tree is complete)."""
        if obj.docstring is None or ":`" not in obj.docstring.value:
            return

        def rewrite(match: re.Match[str]) -> str:
            target = match["target"]
            title = f"`{target.rsplit('.', 1)[-1] if match['tilde'] else target}`"
            if target.split(".", 1)[0] in self.packages:
                return f"[{title}][{target}]"
            head, dot, rest = target.partition(".")
            try:
                identifier = obj.resolve(head) + dot + rest
            except griffe.NameResolutionError:
                return title
            return f'<autoref identifier="{identifier}" optional>{title}</autoref>'

        obj.docstring.value = _ROLE.sub(rewrite, obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the package's own docstring: Griffe runs ``on_object`` only for the objects inside it."""
        self.on_object(obj=pkg)
