# Crash safety from Python: a producer killed with SIGKILL in the middle of its put loop. The
# exactly-once oracle: every message whose put returned (the child's last acknowledged index) is
# received once, nothing twice, in order, and draining never wedges.
import multiprocessing
import os
import signal

import pytest

import helpers
import shmq


@pytest.mark.parametrize("round", range(3))
def test_a_producer_killed_mid_put_loses_nothing_it_was_told_went_in(rng, round):
    ctx = multiprocessing.get_context("fork")
    q = shmq.Queue(rng.choice([4, 64, 1024]))
    acked = ctx.RawValue("q", -1)
    p = ctx.Process(target=helpers.put_forever, args=(q, acked))
    p.start()
    received = []
    kill_after = rng.randrange(1, 20000)
    while len(received) < kill_after:
        received.append(q.get(timeout=60))
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    assert p.exitcode == -signal.SIGKILL
    while True:  # the dead producer's slot (if it held one) is passed over: no wedge
        try:
            received.append(q.get_nowait())
        except shmq.Empty:
            break
    last = acked.value
    assert received == list(range(len(received))), "out of order or duplicated"
    assert len(received) >= last + 1, "a message whose put returned was lost"
    assert len(received) <= last + 2, "more than the one put in flight"
