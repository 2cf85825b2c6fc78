"""The documentation site: ``mkdocs build --strict`` passes, documents the public API, and fails on broken references.

Each build runs ``mkdocs`` in a subprocess into a temporary folder; the small builds use the repository's
mkdocs.yml with their own pages, so they check the real configuration.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

for _module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
    pytest.importorskip(_module, reason=f"{_module} is not installed: the docs extra, pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]
# Folder → the package it is; os.walk does not follow the links shopgym/agents and shopgym/experiments.
PACKAGES = {"shopgym": "shopgym", "agents": "shopgym.agents", "experiments": "shopgym.experiments"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, run from the repository root."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "--site-dir", str(site)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def small_site(tmp_path: Path, page: str, module: str = "", **settings: object) -> Path:
    """A config like the repository's, with one page ``index.md`` under ``tmp_path/docs``, no nav, and the source
    ``module`` as the importable module ``demo``, the one documented package."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config.pop("nav")
    config["hooks"] = [str(ROOT / hook) for hook in config["hooks"]]
    (mkdocstrings,) = (plugin["mkdocstrings"] for plugin in config["plugins"] if "mkdocstrings" in plugin)
    python = mkdocstrings["handlers"]["python"]
    python["paths"] = [str(ROOT), str(tmp_path)]
    (extension,) = python["options"]["extensions"]
    (path,) = extension
    python["options"]["extensions"] = [{str(ROOT / path): {"packages": ["demo"]}}]
    config.update(settings)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(page)
    (tmp_path / "README.md").write_text("# readme\n")
    (tmp_path / "demo.py").write_text(module)
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_site_builds_strict_and_documents_the_public_api(tmp_path: Path) -> None:
    result = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    pages = {page.parent.name: page.read_text() for page in (tmp_path / "site" / "api").glob("*/index.html")}
    assert 'id="shopgym.envs.batch.ShopperBatch"' in pages["envs"]
    assert 'id="shopgym.agents.sb3_agents.SB3Agent"' in pages["agents"]
    assert 'id="shopgym.params.Scenario"' in pages["core"]
    leftover = {name: re.findall(r":\w+:<code>[^<]*", html) for name, html in pages.items()}
    assert not any(leftover.values()), f"Sphinx roles the docs hook did not turn into links: {leftover}"


def test_sphinx_roles_in_docstrings_become_cross_references(tmp_path: Path) -> None:
    module = (
        '"""Uses :class:`Thing`, :func:`~demo.helper` and :meth:`elsewhere`."""\n\n\n'
        'class Thing:\n    """A thing."""\n\n\ndef helper() -> None:\n    """Helps."""\n'
    )
    result = build(small_site(tmp_path, "# api\n\n::: demo\n", module), tmp_path / "site")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    assert re.search(r'href="#demo.Thing"[^>]*><code>Thing</code>', html)
    assert re.search(r'href="#demo.helper"[^>]*><code>helper</code>', html)
    assert "<code>elsewhere</code>" in html  # not in scope: shown as code, as Sphinx does
    assert ":class:" not in html


def test_every_module_with_all_is_on_an_api_page() -> None:
    documented = {
        line.removeprefix(":::").strip()
        for page in (ROOT / "docs" / "api").glob("*.md")
        for line in page.read_text().splitlines()
        if line.startswith(":::")
    }
    public = set()
    for folder, package in PACKAGES.items():
        for where, _, files in os.walk(ROOT / folder):
            for path in (Path(where) / name for name in files if name.endswith(".py")):
                tree = ast.parse(path.read_text())
                names = {target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets}
                if "__all__" in names:
                    module = path.relative_to(ROOT / folder).with_suffix("").as_posix().replace("/", ".")
                    public.add(f"{package}.{module}".removesuffix(".__init__"))
    assert public - documented == set(), "modules with __all__ missing from docs/api/*.md"


def test_reference_to_missing_api_object_fails_strict_build(tmp_path: Path) -> None:
    result = build(small_site(tmp_path, "# api\n\n::: shopgym.no_such_module\n"), tmp_path / "site")
    assert result.returncode != 0
    assert "shopgym.no_such_module" in result.stderr


def test_broken_links_and_cross_references_fail_strict_build(tmp_path: Path) -> None:
    page = (
        "# page\n\n[gone](missing.md), [outside](../NO_SUCH_FILE.md), "
        "[object][demo.no_such_thing], [thing][demo.Thing]\n\n::: demo\n"
    )
    module = '"""Uses :func:`demo.no_such_function`."""\n\n\nclass Thing:\n    """A thing."""\n'
    result = build(small_site(tmp_path, page, module), tmp_path / "site")
    assert result.returncode != 0
    assert "'missing.md'" in result.stderr
    assert "'../NO_SUCH_FILE.md', which is not a file in the repository" in result.stderr
    assert "'demo.no_such_thing'" in result.stderr
    assert "'demo.no_such_function'" in result.stderr  # a Sphinx role in a docstring
    assert "'demo.Thing'" not in result.stderr  # documented on the page: only the broken references are reported


@pytest.mark.parametrize(
    ("repo_url", "rendered"),
    [
        (None, "<p>See the README.</p>"),
        (
            "https://example.org/shopgym",
            'See the <a href="https://example.org/shopgym/blob/HEAD/README.md">README</a>.',
        ),
    ],
    ids=["without-repo_url", "with-repo_url"],
)
def test_links_outside_docs_point_into_the_repository(tmp_path: Path, repo_url: str | None, rendered: str) -> None:
    config = small_site(tmp_path, "# page\n\nSee the [README](../README.md).\n", repo_url=repo_url)
    result = build(config, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert rendered in (tmp_path / "site" / "index.html").read_text()
