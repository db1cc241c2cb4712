"""`tl_core`'s public names: one screen of API, loaded on first use."""
from __future__ import annotations

import inspect
import subprocess
import sys

import tl_core


def test_the_documented_calls_are_functions_even_after_their_modules_load():
    import tl_core.export  # noqa: F401  (loading the modules first must not change what the names mean)
    import tl_core.runs  # noqa: F401

    from tl_core import RunConfig, export_run, predict, train

    for function in (train, predict, export_run):
        assert inspect.isfunction(function), function
    assert inspect.isclass(RunConfig)


def test_every_public_name_resolves():
    for name in tl_core.__all__:
        assert getattr(tl_core, name) is not None, name


def test_importing_the_package_does_not_load_torch():
    code = "import sys, tl_core; tl_core.RunConfig; tl_core.catalog(); assert 'torch' not in sys.modules"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
