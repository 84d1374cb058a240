"""kazoo's recipes: Lock, ReadLock/WriteLock, Semaphore, Election, Counter,
Queue, Barrier, Party, SetPartitioner, NonBlockingLease."""

import datetime
import threading
import time

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
    # lock2 deleted its node through c2's server; c1's may not have it yet.
    c1.sync(base + "/lock")
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
    c1.sync(base + "/counter")
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
    consumer.sync(base + "/queue")
    assert [cq.get(), cq.get(), cq.get()] == [b"urgent", b"one", b"two"]
    assert cq.get() is None
    producer.sync(base + "/queue")
    assert len(q) == 0

    lq = producer.LockingQueue(base + "/lqueue")
    lq.put_all([b"a", b"b"])
    lc = consumer.LockingQueue(base + "/lqueue")
    assert lc.get(timeout=WAIT) == b"a"
    assert lc.holds_lock()
    assert lc.consume()
    assert lc.get(timeout=WAIT) == b"b"
    assert lc.release()  # not consumed: it goes back
    producer.sync(base + "/lqueue")
    assert len(lq) == 1
    assert lq.get(timeout=WAIT) == b"b"
    assert lq.consume()
    assert len(lq) == 0


def test_barrier(make_client, base):
    c1, c2 = make_client(), make_client()
    barrier = c1.Barrier(base + "/barrier")
    barrier.create()
    waiter = c2.Barrier(base + "/barrier")
    c2.sync(base + "/barrier")
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
    c1.sync(base + "/party")
    assert len(p1) == 2
    assert sorted(p1) == ["alpha", "beta"]
    p2.leave()
    c1.sync(base + "/party")
    assert sorted(p1) == ["alpha"]

    s1 = c1.ShallowParty(base + "/shallow", "one")
    s2 = c2.ShallowParty(base + "/shallow", "two")
    s1.join()
    s2.join()
    c2.sync(base + "/shallow")
    assert sorted(s2) == ["one", "two"]
    c1.stop()  # members are ephemeral: a closed session leaves the party
    assert wait_until(lambda: sorted(s2) == ["two"])


def test_lock_exclusive_among_four_clients(make_client, base):
    clients = [make_client() for _ in range(4)]
    state = {"holders": 0, "max": 0, "acquired": 0}
    mu = threading.Lock()
    errors = []

    def worker(client, name):
        lock = client.Lock(base + "/lock", name)
        try:
            for _ in range(5):
                assert lock.acquire(timeout=WAIT)
                try:
                    with mu:
                        state["holders"] += 1
                        state["max"] = max(state["max"], state["holders"])
                        state["acquired"] += 1
                    time.sleep(0.01)
                    with mu:
                        state["holders"] -= 1
                finally:
                    lock.release()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("%s: %r" % (name, e))

    threads = [threading.Thread(target=worker, args=(c, "w%d" % i), daemon=True)
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 3)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert (state["max"], state["acquired"]) == (1, 20)


def test_read_write_lock(make_client, base):
    c1, c2, c3 = make_client(), make_client(), make_client()
    path = base + "/rw"
    r1 = c1.ReadLock(path, "r1")
    r2 = c2.ReadLock(path, "r2")
    w = c3.WriteLock(path, "w")
    assert r1.acquire(timeout=WAIT)
    assert r2.acquire(timeout=WAIT)  # readers share the lock
    with pytest.raises(LockTimeout):
        w.acquire(timeout=0.5)

    got = threading.Event()

    def write():
        if w.acquire(timeout=WAIT):
            got.set()

    t = threading.Thread(target=write, daemon=True)
    t.start()
    assert wait_until(lambda: r1.contenders() == ["r1", "r2", "w"])
    r1.release()
    assert not got.wait(0.3)  # r2 still reads
    r2.release()
    assert got.wait(WAIT)
    t.join(WAIT)
    r3 = c1.ReadLock(path, "r3")
    with pytest.raises(LockTimeout):  # no reader while the writer holds it
        r3.acquire(timeout=0.5)
    w2 = c2.WriteLock(path, "w2")
    with pytest.raises(LockTimeout):  # nor another writer
        w2.acquire(timeout=0.5)
    w.release()
    assert r3.acquire(timeout=WAIT)
    r3.release()
    assert w2.acquire(timeout=WAIT)
    w2.release()


def test_semaphore(make_client, base):
    c1, c2, c3 = make_client(), make_client(), make_client()
    path = base + "/sem"
    s1 = c1.Semaphore(path, "one", max_leases=2)
    s2 = c2.Semaphore(path, "two", max_leases=2)
    s3 = c3.Semaphore(path, "three", max_leases=2)
    assert s1.acquire(timeout=WAIT)
    assert s2.acquire(timeout=WAIT)
    c1.sync(path)
    assert sorted(s1.lease_holders()) == ["one", "two"]
    assert s3.acquire(blocking=False) is False

    got = threading.Event()

    def take():
        if s3.acquire(timeout=WAIT):
            got.set()

    t = threading.Thread(target=take, daemon=True)
    t.start()
    assert not got.wait(0.3)
    s1.release()
    assert got.wait(WAIT)
    t.join(WAIT)
    assert sorted(s3.lease_holders()) == ["three", "two"]

    # Every holder must agree on the number of leases.
    with pytest.raises(ValueError):
        c1.Semaphore(path, "greedy", max_leases=3).acquire(timeout=1)
    s2.release()
    s3.release()
    assert s3.lease_holders() == []


def test_set_partitioner(make_client, base):
    c1, c2 = make_client(), make_client()
    path = base + "/partition"
    items = ["a", "b", "c", "d", "e", "f"]
    p1 = c1.SetPartitioner(path, set=items, identifier="m1", time_boundary=0.3)
    p1.wait_for_acquire(WAIT)
    assert p1.acquired
    assert sorted(p1) == items  # alone, it gets everything

    p2 = c2.SetPartitioner(path, set=items, identifier="m2", time_boundary=0.3)
    assert wait_until(lambda: p1.release)  # a member joined: give it all back
    p1.release_set()

    def settle(parts):
        for p in parts:
            if p.release:
                p.release_set()
        return all(p.acquired for p in parts)

    assert wait_until(lambda: settle([p1, p2]))
    got1, got2 = sorted(p1), sorted(p2)
    assert got1 and got2
    assert sorted(got1 + got2) == items  # every item has exactly one owner

    p2.finish()  # m2 leaves: m1 gets everything again
    assert wait_until(lambda: settle([p1]) and sorted(p1) == items)
    assert not p1.failed
    p1.finish()


def test_non_blocking_lease(make_client, base):
    c1, c2, c3 = make_client(), make_client(), make_client()
    path = base + "/lease"
    ten = datetime.timedelta(minutes=10)
    assert c1.NonBlockingLease(path, ten, identifier="one")
    assert not c2.NonBlockingLease(path, ten, identifier="two")
    assert c1.NonBlockingLease(path, ten, identifier="one")  # renewal

    def later():
        return datetime.datetime.utcnow() + datetime.timedelta(minutes=11)

    assert c2.NonBlockingLease(path, ten, identifier="two", utcnow=later)  # expired: taken over
    assert not c1.NonBlockingLease(path, ten, identifier="one")

    multi = base + "/multi"
    got = [bool(c.MultiNonBlockingLease(2, multi, ten, identifier=name))
           for c, name in ((c1, "one"), (c2, "two"), (c3, "three"))]
    assert got == [True, True, False]
    assert c1.MultiNonBlockingLease(2, multi, ten, identifier="one")  # renewal

