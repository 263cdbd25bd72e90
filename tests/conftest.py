"""Shared fixtures: the data folder beside the project, found as the library finds it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    env = os.environ.get("CSPRIOR_DATA")
    candidate = Path(env) if env else REPO.parent / "shared" / "data"
    return candidate if (candidate / "MANIFEST.md").exists() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$CSPRIOR_DATA``); tests that need it skip without it."""
    path = _data_dir()
    if path is None:
        pytest.skip("shared test data not found: set CSPRIOR_DATA or place ../shared/data beside the repo")
    return path


@pytest.fixture(autouse=True)
def _small_thread_count():
    # the CI machine has two cores; more threads only add contention on these tiny problems
    previous = torch.get_num_threads()
    torch.set_num_threads(min(previous, 2))
    yield
    torch.set_num_threads(previous)
