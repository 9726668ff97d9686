# Shared fixtures of the Python suite (docs/python-module.md, "Tests"). Run by ctest
# (python/CMakeLists.txt) with PYTHONPATH at the build tree's python/ folder.
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # helpers.py, for spawned children too


@pytest.fixture
def rng(request):
    """A seeded random.Random; the seed is printed (pytest shows it on failure) and may be
    forced with SHMQ_SEED."""
    seed = int(os.environ.get("SHMQ_SEED", random.SystemRandom().randrange(1 << 32)))
    print("[seed] %s: SHMQ_SEED=%d" % (request.node.name, seed))
    return random.Random(seed)


@pytest.fixture(params=["fork", "spawn"])
def ctx(request):
    import multiprocessing
    return multiprocessing.get_context(request.param)
