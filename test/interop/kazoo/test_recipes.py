"""kazoo's recipes: Lock, Election, Counter, Queue, Barrier, Party."""

import threading

import pytest
from kazoo.exceptions import LockTimeout

from conftest import WAIT, wait_until


def test_lock(make_client, base):
    c1, c2 = make_client(), make_client()
    lock1 = c1.Lock(base + "/lock", "one")
    lock2 = c2.Lock(base + "/lock", "two")
    assert lock1.acquire(timeout=WAIT)
    with pytest.raises(LockTimeout):
        lock2.acquire(timeout=0.5)
    assert lock1.contenders() == ["one"]

    acquired = threading.Event()

    def waiter():
        if lock2.acquire(timeout=WAIT):
            acquired.set()

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    assert wait_until(lambda: lock1.contenders() == ["one", "two"])
    assert not acquired.is_set()
    lock1.release()
    assert acquired.wait(WAIT)
    t.join(WAIT)
    assert lock2.contenders() == ["two"]
    lock2.release()


def test_lock_released_when_holder_session_closes(make_client, base):
    c1, c2 = make_client(), make_client()
    lock1 = c1.Lock(base + "/lock", "one")
    assert lock1.acquire(timeout=WAIT)
    lock2 = c2.Lock(base + "/lock", "two")
    c1.stop()
    assert lock2.acquire(timeout=WAIT)
    lock2.release()


def test_election(make_client, base):
    c1, c2 = make_client(), make_client()
    e1 = c1.Election(base + "/election", "first")
    e2 = c2.Election(base + "/election", "second")
    leading = {"first": threading.Event(), "second": threading.Event()}
    resign = {"first": threading.Event(), "second": threading.Event()}

    def lead(name):
        leading[name].set()
        resign[name].wait(WAIT)

    t1 = threading.Thread(target=e1.run, args=(lead, "first"), daemon=True)
    t1.start()
    assert leading["first"].wait(WAIT)
    t2 = threading.Thread(target=e2.run, args=(lead, "second"), daemon=True)
    t2.start()
    assert wait_until(lambda: e1.contenders() == ["first", "second"])
    assert not leading["second"].is_set()

    resign["first"].set()  # the leader's function returns: leadership ends
    t1.join(WAIT)
    assert leading["second"].wait(WAIT)
    assert e2.contenders() == ["second"]
    resign["second"].set()
    t2.join(WAIT)
    assert not t1.is_alive() and not t2.is_alive()


def test_counter(make_client, base):
    c1, c2 = make_client(), make_client()
    counter = c1.Counter(base + "/counter")
    counter += 5
    counter -= 2
    assert counter.value == 3

    # Concurrent increments from two sessions: the recipe retries on
    # BadVersion, so none may be lost.
    def add(client, n):
        other = client.Counter(base + "/counter")
        for _ in range(n):
            other += 1

    threads = [threading.Thread(target=add, args=(c, 15), daemon=True) for c in (c1, c2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
    assert not any(t.is_alive() for t in threads)
    assert counter.value == 33

    floats = c2.Counter(base + "/float", default=0.5)
    floats += 1.25
    assert floats.value == 1.75


def test_queue(make_client, base):
    producer, consumer = make_client(), make_client()
    q = producer.Queue(base + "/queue")
    q.put(b"one")
    q.put(b"two")
    q.put(b"urgent", priority=1)
    assert len(q) == 3
    cq = consumer.Queue(base + "/queue")
    assert [cq.get(), cq.get(), cq.get()] == [b"urgent", b"one", b"two"]
    assert cq.get() is None
    assert len(q) == 0

    lq = producer.LockingQueue(base + "/lqueue")
    lq.put_all([b"a", b"b"])
    lc = consumer.LockingQueue(base + "/lqueue")
    assert lc.get(timeout=WAIT) == b"a"
    assert lc.holds_lock()
    assert lc.consume()
    assert lc.get(timeout=WAIT) == b"b"
    assert lc.release()  # not consumed: it goes back
    assert len(lq) == 1
    assert lq.get(timeout=WAIT) == b"b"
    assert lq.consume()
    assert len(lq) == 0


def test_barrier(make_client, base):
    c1, c2 = make_client(), make_client()
    barrier = c1.Barrier(base + "/barrier")
    barrier.create()
    waiter = c2.Barrier(base + "/barrier")
    assert waiter.wait(timeout=0.3) is False

    passed = threading.Event()

    def wait():
        if waiter.wait(timeout=WAIT):
            passed.set()

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    assert not passed.wait(0.3)
    barrier.remove()
    assert passed.wait(WAIT)
    t.join(WAIT)
    assert waiter.wait(timeout=0.1) is True


def test_double_barrier(make_client, base):
    clients = [make_client(), make_client()]
    barriers = [c.DoubleBarrier(base + "/dbarrier", 2) for c in clients]
    entered = [threading.Event(), threading.Event()]
    left = [threading.Event(), threading.Event()]

    def run(i):
        barriers[i].enter()
        entered[i].set()
        barriers[i].leave()
        left[i].set()

    t0 = threading.Thread(target=run, args=(0,), daemon=True)
    t0.start()
    assert not entered[0].wait(0.3)  # alone: must wait for the second
    t1 = threading.Thread(target=run, args=(1,), daemon=True)
    t1.start()
    for ev in entered + left:
        assert ev.wait(WAIT)
    t0.join(WAIT)
    t1.join(WAIT)


def test_party(make_client, base):
    c1, c2 = make_client(), make_client()
    p1 = c1.Party(base + "/party", "alpha")
    p2 = c2.Party(base + "/party", "beta")
    p1.join()
    p2.join()
    assert len(p1) == 2
    assert sorted(p1) == ["alpha", "beta"]
    p2.leave()
    assert sorted(p1) == ["alpha"]

    s1 = c1.ShallowParty(base + "/shallow", "one")
    s2 = c2.ShallowParty(base + "/shallow", "two")
    s1.join()
    s2.join()
    assert sorted(s2) == ["one", "two"]
    c1.stop()  # members are ephemeral: a closed session leaves the party
    assert wait_until(lambda: sorted(s2) == ["two"])
