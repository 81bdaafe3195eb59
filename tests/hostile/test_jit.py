"""The batch layer's numba kernels when their cache cannot be written: compiled without it, never a crash at import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from oryxpy.als.jit import njit_cached


def test_a_kernel_numba_cannot_cache_still_compiles(caplog) -> None:  # type: ignore[no-untyped-def]
    namespace: dict[str, object] = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)  # no source file: numba finds no cache locator  # noqa: S102
    kernel = njit_cached()(namespace["twice"])
    assert kernel(21) == 42
    assert "numba cannot cache twice" in caplog.text


def test_engine_imports_with_a_read_only_code_directory_and_no_home() -> None:
    """As another user: the code (here a kernel module) is not writable and there is no home directory."""
    base = Path(tempfile.mkdtemp(prefix="oryxpy-jit-"))
    base.chmod(0o755)
    code = base / "code"
    code.mkdir()
    (code / "kernels.py").write_text(
        "from oryxpy.als.jit import njit_cached\n\n@njit_cached(parallel=True)\ndef twice(x):\n    return 2 * x\n")
    script = "import kernels; print(kernels.twice(21))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(HOME="/nonexistent", XDG_CACHE_HOME="/nonexistent", PYTHONPATH=f"{code}:{Path.cwd()}")
    user = [] if os.geteuid() != 0 else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    code.chmod(0o555)
    try:
        result = subprocess.run([*user, sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                timeout=120, cwd="/")
    finally:
        code.chmod(0o755)
        shutil.rmtree(base)
    assert result.returncode == 0 and result.stdout.strip() == "42", result.stderr[-2000:]
