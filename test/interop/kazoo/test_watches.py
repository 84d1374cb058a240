"""One-shot watches and kazoo's DataWatch/ChildrenWatch recipes."""

import threading

from kazoo.protocol.states import EventType

from conftest import WAIT, wait_until


def test_one_shot_watches(make_client, zk, base, recorder):
    writer = make_client()
    path = base + "/w"

    created = recorder()
    assert zk.exists(path, watch=created) is None
    writer.create(path, b"0")
    events = created.wait_for(1)
    assert [(e.type, e.path) for e in events] == [(EventType.CREATED, path)]

    changed = recorder()
    zk.get(path, watch=changed)
    writer.set(path, b"1")
    writer.set(path, b"2")  # the watch fired already: no second event
    writer.sync(path)
    zk.sync(path)
    events = changed.wait_for(1)
    assert [(e.type, e.path) for e in events] == [(EventType.CHANGED, path)]

    child = recorder()
    assert zk.get_children(path, watch=child) == []
    writer.create(path + "/c", b"")
    events = child.wait_for(1)
    assert [(e.type, e.path) for e in events] == [(EventType.CHILD, path)]

    deleted = recorder()
    zk.exists(path + "/c", watch=deleted)
    writer.delete(path + "/c")
    events = deleted.wait_for(1)
    assert [(e.type, e.path) for e in events] == [(EventType.DELETED, path + "/c")]

    zk.sync(base)
    assert len(changed.calls) == 1
    assert len(created.calls) == 1


def test_data_watch(make_client, zk, base):
    writer = make_client()
    path = base + "/data"
    seen = []
    cond = threading.Condition()

    @zk.DataWatch(path)
    def watcher(data, stat):
        with cond:
            seen.append((data, stat.version if stat else None))
            cond.notify_all()

    def wait_len(n):
        with cond:
            cond.wait_for(lambda: len(seen) >= n, WAIT)
            return list(seen)

    assert wait_len(1) == [(None, None)]  # called at once: node missing
    writer.create(path, b"a")
    assert wait_len(2)[-1] == (b"a", 0)
    writer.set(path, b"b")
    assert wait_len(3)[-1] == (b"b", 1)
    writer.delete(path)
    assert wait_len(4)[-1] == (None, None)


def test_children_watch(make_client, zk, base):
    writer = make_client()
    seen = []
    cond = threading.Condition()

    @zk.ChildrenWatch(base)
    def watcher(children):
        with cond:
            seen.append(sorted(children))
            cond.notify_all()

    def wait_for(value):
        with cond:
            return cond.wait_for(lambda: seen and seen[-1] == value, WAIT)

    assert wait_for([])
    writer.create(base + "/a", b"")
    assert wait_for(["a"])
    writer.create(base + "/b", b"")
    assert wait_for(["a", "b"])
    writer.delete(base + "/a")
    assert wait_for(["b"])
    # Every intermediate state was reported, in order, with no repeats of
    # the same event (the watch is re-set after each one).
    assert seen == [[], ["a"], ["a", "b"], ["b"]]


def test_watch_fires_on_ephemeral_owner_exit(make_client, zk, base, recorder):
    owner = make_client()
    path = base + "/eph"
    owner.create(path, b"", ephemeral=True)
    deleted = recorder()
    children = recorder()
    zk.exists(path, watch=deleted)
    zk.get_children(base, watch=children)
    owner.stop()
    assert [(e.type, e.path) for e in deleted.wait_for(1)] == [(EventType.DELETED, path)]
    assert [(e.type, e.path) for e in children.wait_for(1)] == [(EventType.CHILD, base)]
    assert wait_until(lambda: zk.exists(path) is None)
