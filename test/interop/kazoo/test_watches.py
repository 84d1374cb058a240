"""One-shot watches and kazoo's DataWatch, ChildrenWatch and TreeCache."""

import threading

from kazoo.protocol.states import EventType
from kazoo.recipe.cache import TreeCache, TreeEvent

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
    zk.sync(path)
    deleted = recorder()
    children = recorder()
    assert zk.exists(path, watch=deleted) is not None
    zk.get_children(base, watch=children)
    owner.stop()
    assert [(e.type, e.path) for e in deleted.wait_for(1)] == [(EventType.DELETED, path)]
    assert [(e.type, e.path) for e in children.wait_for(1)] == [(EventType.CHILD, base)]
    assert wait_until(lambda: zk.exists(path) is None)


def test_tree_cache(make_client, zk, base):
    writer = make_client()
    writer.create(base + "/pre", b"p")
    zk.sync(base)
    cache = TreeCache(zk, base)
    events = []
    cond = threading.Condition()

    def listener(event):
        with cond:
            path = event.event_data.path if event.event_data else None
            events.append((event.event_type, path))
            cond.notify_all()

    cache.listen(listener)
    cache.start()
    try:
        with cond:
            assert cond.wait_for(lambda: (TreeEvent.INITIALIZED, None) in events, WAIT)
        assert cache.get_children(base) == {"pre"}
        assert cache.get_data(base + "/pre").data == b"p"

        # A burst of changes; the cache must converge on the tree.
        writer.create(base + "/a", b"1")
        writer.create(base + "/a/b", b"2")
        writer.set(base + "/a", b"3")
        writer.delete(base + "/a/b")
        writer.create(base + "/c", b"4")
        writer.delete(base + "/pre")
        for i in range(20):
            writer.create(base + "/c/n%d" % i, b"%d" % i)
        for i in range(0, 20, 2):
            writer.delete(base + "/c/n%d" % i)

        def converged():
            a = cache.get_data(base + "/a")
            return (cache.get_children(base) == {"a", "c"} and a is not None and a.data == b"3"
                    and cache.get_children(base + "/a") == set()
                    and cache.get_children(base + "/c") == {"n%d" % i for i in range(1, 20, 2)})

        assert wait_until(converged)
        with cond:
            seen = list(events)
        # Short-lived nodes (a/b) may never reach the cache; these must.
        for kind, path in [(TreeEvent.NODE_ADDED, base + "/a"), (TreeEvent.NODE_ADDED, base + "/c"),
                           (TreeEvent.NODE_ADDED, base + "/c/n19"), (TreeEvent.NODE_REMOVED, base + "/pre")]:
            assert (kind, path) in seen
    finally:
        cache.close()

