"""The pages only draw: they reach the engine through `tl_core`'s public API and `tl_core.explain`, nothing deeper.

A page that imports `tl_core.runs` or `tl_core.data.names` ties the UI to the engine's inner layout, so a move
inside the engine breaks pages; each name a page needs goes into `tl_core/__init__.py`'s `_API` instead.
"""
from __future__ import annotations

import ast
from pathlib import Path

import tl_core

REPO = Path(__file__).resolve().parents[2]
ALLOWED_MODULES = {"tl_core", "tl_core.explain"}
UI_FILES = sorted([REPO / "app.py", *(REPO / "pages").rglob("*.py")])


def engine_imports(path: Path) -> list[tuple[int, str]]:
    """(line, what) for every import from the engine in a file, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "tl_core"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "tl_core":
            found += [(node.lineno, f"{node.module}:{alias.name}") for alias in node.names]
    return found


def breaks_the_rule(what: str) -> bool:
    """`import tl_core.x`, `from tl_core.x import y`, or `from tl_core import y` where y is no public name
    (`from tl_core import runs` would load the submodule behind the API's back)."""
    module, _, name = what.partition(":")
    if module not in ALLOWED_MODULES:
        return True
    return module == "tl_core" and bool(name) and name not in tl_core.__all__ and name != "explain"


def test_the_rule_is_checked_on_every_kind_of_import(tmp_path):
    sample = tmp_path / "page.py"
    sample.write_text("import tl_core\nfrom tl_core import RunConfig\nfrom tl_core.explain import gradcam\n"
                      "import tl_core.runs\nfrom tl_core import runs\n"
                      "def f():\n    from tl_core.data.names import safe_component\n")
    assert [what for _, what in engine_imports(sample) if breaks_the_rule(what)] == [
        "tl_core.runs", "tl_core:runs", "tl_core.data.names:safe_component"]


def test_pages_import_only_the_public_api_and_explain():
    assert len(UI_FILES) > 10, "the page files were not found"
    wrong = [f"{path.relative_to(REPO)}:{line} imports {what.replace(':', ' -> ')}"
             for path in UI_FILES for line, what in engine_imports(path) if breaks_the_rule(what)]
    assert not wrong, ("pages may import only `tl_core` (names in its _API) and `tl_core.explain`:\n"
                       + "\n".join(wrong))
