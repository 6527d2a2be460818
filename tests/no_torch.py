"""Run Python code in a fresh interpreter where importing torch (or transformers) fails."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = ("torch", "transformers", "sentence_transformers", "captum")
    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"No module named {name!r} (blocked)", name=name)
    sys.meta_path.insert(0, NoTorch())
    """
)


def run_without_torch(code: str, *args: str, timeout: int = 120) -> str:
    """The code's standard output; it ends by checking that no blocked module was loaded."""
    script = (
        BLOCK
        + textwrap.dedent(code)
        + textwrap.dedent(
            """
        loaded = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
        assert not loaded, loaded
        """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
