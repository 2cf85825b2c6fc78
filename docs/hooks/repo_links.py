"""MkDocs hook: links from docs/ to files elsewhere in the repository (``../README.md``).

Such links are right on GitHub, where docs/ is browsed inside the repository, but point outside the site that
MkDocs builds, and ``--strict`` rejects them as not found. This hook checks that each such target exists
(a missing one is a warning, so ``--strict`` fails), then points the link at the file in the repository when
``repo_url`` is set, or keeps only the link text when it is not. Images must live under docs/.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.repo_links")

# [text](target) or [text](target "title"); the text may span lines. Images have a "!" before the "[".
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Check and rewrite the links of one page that leave ``docs_dir``."""
    docs_dir = Path(config.docs_dir).resolve()
    repo_root = Path(config.config_file_path).resolve().parent
    page_dir = (docs_dir / page.file.src_uri).parent

    def rewrite(match: re.Match[str]) -> str:
        target = match["target"]
        if "://" in target or target.startswith(("#", "/", "mailto:")):
            return match[0]
        path, _, anchor = target.partition("#")
        resolved = (page_dir / path).resolve()
        if resolved.is_relative_to(docs_dir):
            return match[0]
        where = f"{page.file.src_uri} links to {target!r}"
        if not resolved.is_relative_to(repo_root) or not resolved.exists():
            log.warning(f"{where}, which is not a file in the repository")
            return match[0]
        if match["bang"]:
            log.warning(f"{where}: images shown on the site must live under docs/")
            return match[0]
        if not config.repo_url:
            return match["text"]
        kind = "tree" if resolved.is_dir() else "blob"
        url = f"{config.repo_url.rstrip('/')}/{kind}/HEAD/{resolved.relative_to(repo_root).as_posix()}"
        return f"[{match['text']}]({url}{'#' + anchor if anchor else ''}{match['title'] or ''})"

    return _LINK.sub(rewrite, markdown)
