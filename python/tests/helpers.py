# Targets of the children the tests start: in a module of their own, so that spawned children
# import them by name.
import os
import pickle
import signal


def echo_queue(q_in, q_out):
    """Answers each message of q_in with ('got', message) on q_out until None."""
    while True:
        item = q_in.get()
        if item is None:
            return
        q_out.put(("got", item))


def work_joinable(q, done_count):
    """Takes tasks until None; counts each in done_count before its task_done()."""
    while True:
        item = q.get()
        if item is None:
            q.task_done()
            return
        with done_count.get_lock():
            done_count.value += 1
        q.task_done()


def echo_connection(conn):
    """Answers each object received on conn with ('got', obj) until None; then closes."""
    while True:
        obj = conn.recv()
        if obj is None:
            break
        conn.send(("got", obj))
    conn.close()


def send_then_die(conn, n, how):
    """Sends 0..n-1 on conn, then ends by SIGKILL (how == 'kill') or a normal exit."""
    for i in range(n):
        conn.send(i)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)


def put_forever(q, acked):
    """Puts 0, 1, 2, ... on q; after each put returned, acked.value is its index (the oracle of
    test_crash.py). Ends only by a signal."""
    i = 0
    while True:
        q.put(i)
        acked.value = i
        i += 1


def pickled_size(obj):
    return len(pickle.dumps(obj, 5))
