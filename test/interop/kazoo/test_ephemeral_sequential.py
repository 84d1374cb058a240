"""Ephemeral and sequential znodes."""

import pytest
from kazoo.exceptions import NoChildrenForEphemeralsError

from conftest import wait_until


def test_ephemeral_owner_and_removal(make_client, zk, base):
    owner = make_client()
    path = base + "/eph"
    owner.create(path, b"alive", ephemeral=True)
    zk.sync(path)
    stat = zk.exists(path)
    assert stat is not None
    assert stat.ephemeralOwner == owner.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        owner.create(path + "/child", b"")

    owner.stop()  # closing the session removes its ephemerals at once
    assert wait_until(lambda: zk.exists(path) is None)


def test_sequential_names(zk, base):
    names = [zk.create(base + "/seq-", b"", sequence=True) for _ in range(3)]
    assert names == [base + "/seq-%010d" % i for i in range(3)]
    # The suffix counts every child ever created under the parent,
    # sequential or not; deletions do not count. The parent's Stat.cversion
    # counts creations and deletions, so the two part ways after a delete.
    zk.create(base + "/plain", b"")
    zk.delete(names[0])
    assert zk.exists(base).cversion == 5
    assert zk.create(base + "/seq-", b"", sequence=True) == base + "/seq-%010d" % 4
    assert zk.exists(base).cversion == 6
    # No prefix at all is allowed: the name is just the counter.
    assert zk.create(base + "/", b"", sequence=True) == base + "/%010d" % 5


def test_ephemeral_sequential(make_client, zk, base):
    owner = make_client()
    first = owner.create(base + "/es-", b"", ephemeral=True, sequence=True)
    second = owner.create(base + "/es-", b"", ephemeral=True, sequence=True)
    assert (first, second) == (base + "/es-0000000000", base + "/es-0000000001")
    zk.sync(base)
    assert sorted(zk.get_children(base)) == ["es-0000000000", "es-0000000001"]
    owner.stop()
    assert wait_until(lambda: zk.get_children(base) == [])
