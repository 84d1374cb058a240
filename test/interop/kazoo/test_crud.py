"""Create, read, update, delete, versions, errors, ACLs and sync."""

import pytest
from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError,
                              NoNodeError, NotEmptyError)
from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl


def test_create_get_set_delete(zk, base):
    path = base + "/node"
    assert zk.create(path, b"v0") == path
    data, stat = zk.get(path)
    assert data == b"v0"
    assert (stat.version, stat.data_length, stat.numChildren) == (0, 2, 0)
    assert stat.czxid == stat.mzxid
    assert stat.ephemeralOwner == 0

    stat1 = zk.set(path, b"value-1", version=0)
    assert stat1.version == 1
    assert stat1.data_length == 7
    assert stat1.mzxid > stat.mzxid
    assert stat1.czxid == stat.czxid
    with pytest.raises(BadVersionError):
        zk.set(path, b"x", version=0)
    with pytest.raises(BadVersionError):
        zk.delete(path, version=7)
    assert zk.get(path)[0] == b"value-1"

    zk.delete(path, version=1)
    assert zk.exists(path) is None
    with pytest.raises(NoNodeError):
        zk.get(path)
    with pytest.raises(NoNodeError):
        zk.set(path, b"x")
    with pytest.raises(NoNodeError):
        zk.delete(path)


def test_errors(zk, base):
    zk.create(base + "/a", b"")
    with pytest.raises(NodeExistsError):
        zk.create(base + "/a", b"")
    with pytest.raises(NoNodeError):
        zk.create(base + "/missing/child", b"")
    zk.create(base + "/a/b", b"")
    with pytest.raises(NotEmptyError):
        zk.delete(base + "/a")


def test_children_and_parent_stat(zk, base):
    for name in ["c", "a", "b"]:
        zk.create(base + "/" + name, name.encode())
    assert sorted(zk.get_children(base)) == ["a", "b", "c"]
    children, stat = zk.get_children(base, include_data=True)
    assert sorted(children) == ["a", "b", "c"]
    assert (stat.numChildren, stat.cversion) == (3, 3)
    zk.delete(base + "/b")
    # cversion counts child deletions as well as creations.
    stat = zk.exists(base)
    assert (stat.numChildren, stat.cversion) == (2, 4)
    assert stat.pzxid > stat.mzxid


def test_makepath_ensure_path_recursive_delete(zk, base):
    zk.create(base + "/x/y/z", b"deep", makepath=True)
    assert zk.get(base + "/x/y/z")[0] == b"deep"
    zk.ensure_path(base + "/x/y/z")  # already there: no error
    zk.ensure_path(base + "/p/q")
    assert zk.exists(base + "/p/q") is not None
    zk.delete(base + "/x", recursive=True)
    assert zk.exists(base + "/x") is None


def test_large_and_empty_data(zk, base):
    big = bytes(range(256)) * 2048  # 512 KiB, under jute.maxbuffer
    zk.create(base + "/big", big)
    data, stat = zk.get(base + "/big")
    assert data == big
    assert stat.data_length == len(big)
    zk.create(base + "/empty")
    data, stat = zk.get(base + "/empty")
    assert data == b""
    assert stat.data_length == 0


def test_digest_acl(make_client, zk, base):
    acl = make_digest_acl("alice", "secret", all=True)
    owner = make_client(auth_data=[("digest", "alice:secret")])
    path = base + "/private"
    owner.create(path, b"mine", acl=[acl])

    zk.sync(path)
    with pytest.raises(NoAuthError):
        zk.get(path)
    with pytest.raises(NoAuthError):
        zk.set(path, b"x")
    stranger = make_client(auth_data=[("digest", "alice:wrong")])
    stranger.sync(path)
    with pytest.raises(NoAuthError):
        stranger.get(path)
    assert owner.get(path)[0] == b"mine"

    with pytest.raises(NoAuthError):  # getACL needs READ or ADMIN
        zk.get_acls(path)
    acls, stat = owner.get_acls(path)
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == \
        [(31, "digest", acl.id.id)]
    assert stat.aversion == 0

    with pytest.raises(BadVersionError):
        owner.set_acls(path, OPEN_ACL_UNSAFE, version=5)
    owner.set_acls(path, OPEN_ACL_UNSAFE, version=0)
    zk.sync(path)
    assert zk.get(path)[0] == b"mine"
    assert zk.exists(path).aversion == 1


def test_sync(zk, base):
    other = base + "/synced"
    zk.create(other, b"1")
    assert zk.sync(other) == other
    assert zk.get(other)[0] == b"1"
