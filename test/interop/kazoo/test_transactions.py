"""multi: all-or-nothing transactions."""

from kazoo.exceptions import (BadVersionError, NodeExistsError, NoNodeError,
                              RolledBackError, RuntimeInconsistency)


def test_commit(zk, base):
    zk.create(base + "/existing", b"old")
    tx = zk.transaction()
    tx.create(base + "/new", b"n")
    tx.set_data(base + "/existing", b"new", version=0)
    tx.check(base + "/existing", 1)  # sees the set_data before it
    tx.delete(base + "/new")
    tx.create(base + "/seq-", b"", sequence=True)  # 3rd child ever: suffix 2
    results = tx.commit()
    assert results[0] == base + "/new"
    assert results[1].version == 1
    assert results[2] is True
    assert results[3] is True
    assert results[4] == base + "/seq-0000000002"
    assert zk.get(base + "/existing")[0] == b"new"
    assert zk.exists(base + "/new") is None


def test_failure_rolls_back_everything(zk, base):
    zk.create(base + "/a", b"a")
    tx = zk.transaction()
    tx.create(base + "/b", b"b")
    tx.set_data(base + "/a", b"changed")
    tx.check(base + "/a", 7)
    tx.create(base + "/c", b"c")
    results = tx.commit()
    # Ops before the failure are rolled back, ops after it never ran.
    assert [type(r) for r in results] == \
        [RolledBackError, RolledBackError, BadVersionError, RuntimeInconsistency]
    assert zk.exists(base + "/b") is None
    assert zk.exists(base + "/c") is None
    data, stat = zk.get(base + "/a")
    assert (data, stat.version) == (b"a", 0)


def test_failure_codes(zk, base):
    zk.create(base + "/x", b"")
    tx = zk.transaction()
    tx.create(base + "/x", b"")
    results = tx.commit()
    assert [type(r) for r in results] == [NodeExistsError]

    tx = zk.transaction()
    tx.create(base + "/ok", b"")
    tx.delete(base + "/missing")
    results = tx.commit()
    assert [type(r) for r in results] == [RolledBackError, NoNodeError]
    assert zk.exists(base + "/ok") is None
