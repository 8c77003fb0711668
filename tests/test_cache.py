"""The Numba cache works when skce is installed where it cannot write."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import skce

# The copy is imported as ``skce_copy``: an editable install of skce would
# otherwise take precedence over PYTHONPATH.
FIT = """
import numpy as np
import skce_copy._updates
from skce_copy import MLPCostClassifier
X = np.random.RandomState(0).normal(size=(30, 4))
y = np.arange(30) % 3
MLPCostClassifier((5,), max_iter=2).fit(X, y)
stats = skce_copy._updates.run_epoch.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def _run_on_read_only(site, code, env):
    """Run ``code`` with ``site`` read-only.

    Root may write through file permissions, so as root the folder is made a
    read-only bind mount in a private mount namespace; otherwise its
    permission bits suffice.
    """
    if os.geteuid() != 0:
        for path in [site, *site.rglob("*")]:
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
        try:
            return subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            for path in [site, *site.rglob("*")]:
                os.chmod(path, 0o755)
    script = (
        f'mount --bind "{site}" "{site}" && mount -o remount,ro,bind "{site}" '
        f'&& touch "{site}/probe" 2>/dev/null && exit 3; exec "$0" -c "$1"'
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, sys.executable, code],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and "mount" in result.stderr:
        pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return result


def test_read_only_install_caches_per_user(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(
        Path(skce.__file__).parent,
        site / "skce_copy",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    if shutil.which("unshare") is None and os.geteuid() == 0:
        pytest.skip("running as root without unshare: cannot make a read-only folder")
    first = _run_on_read_only(site, FIT, env).stdout.split()
    second = _run_on_read_only(site, FIT, env).stdout.split()
    # First process: compiled (a miss) and wrote the per-user cache;
    # the second loaded from it without compiling.
    assert first == ["0", "1"]
    assert second == ["1", "0"]
    assert not list(site.rglob("*.nbi"))
    assert list((home / "cache").rglob("*.nbi"))
