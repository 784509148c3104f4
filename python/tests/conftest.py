"""pytest fixtures; the scene helpers are in scenes.py (shared with python/gpu/check.py)."""

import pytest

import cudadraw


@pytest.fixture
def renderer():
    return cudadraw.Renderer()
