"""The suite's fixtures leave torch's thread count and the environment as they found them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_session_fixtures_restore_threads_and_environment(tmp_path):
    """Run a one-test session with this suite's fixtures in a fresh interpreter and look after teardown."""
    (tmp_path / "conftest.py").write_text(
        "import os, torch\n"
        "torch.set_num_threads(3)  # the caller's setting, whatever the machine\n"
        "from tests.conftest import *  # noqa: F401,F403 (the fixtures under test)\n\n"
        "def pytest_sessionfinish(session):\n"
        "    print(f'AFTER threads={torch.get_num_threads()} cache={os.environ.get(\"REGNAS_CACHE\")}')\n")
    (tmp_path / "test_probe.py").write_text(
        "import os, torch\n\n"
        "def test_inside(regnas_cache):\n"
        "    assert torch.get_num_threads() == 1 and os.environ['REGNAS_CACHE'] == str(regnas_cache)\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "REGNAS_CACHE": "/the/users/cache"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path / "test_probe.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "AFTER threads=3 cache=/the/users/cache" in done.stdout, done.stdout
