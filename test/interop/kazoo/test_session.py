"""Sessions: keep-alive, reconnect with the same session, and expiry.

Two ways to expire a session, both decided by the server:
  * closing it from a second connection that presents the same session id
    and password (kazoo's client_id) — the server closes the session and
    every connection that uses it, so the first client learns on reconnect
    that the session is gone (LOST);
  * going silent: a raw connection that never pings is expired by the
    server after its negotiated timeout.
"""

import socket
import struct
import threading
import time

from kazoo.protocol.states import EventType, KazooState

from conftest import WAIT, expire_session, wait_until


def test_session_kept_alive_by_pings(make_client, zk, base, hosts):
    # kazoo does not expose the negotiated timeout; ask the server with a
    # raw session requesting the same 2s (it may raise it to its minimum).
    sock, _, negotiated = _raw_session(hosts, 2000)
    _raw_close(sock)
    owner = make_client(timeout=2.0)
    session = owner.client_id[0]
    owner.create(base + "/eph", b"", ephemeral=True)
    time.sleep(2 * negotiated / 1000.0)
    assert owner.connected
    assert owner.client_id[0] == session
    zk.sync(base)
    assert zk.exists(base + "/eph").ephemeralOwner == session


def test_reconnect_keeps_session(make_client, zk, base, recorder):
    client = make_client()
    session = client.client_id[0]
    client.create(base + "/eph", b"", ephemeral=True)
    zk.sync(base)

    states = []
    client.add_listener(states.append)
    # Drop the TCP connection under kazoo (its internal socket): the client
    # reconnects and re-attaches to the same session, whose ephemerals live
    # on. (kazoo 2.8 drops its watches on disconnect instead of re-sending
    # them with SetWatches, so watches are not checked here.)
    client._connection._socket.shutdown(socket.SHUT_RDWR)
    assert wait_until(lambda: KazooState.SUSPENDED in states and client.connected)
    assert client.client_id[0] == session
    assert zk.exists(base + "/eph").ephemeralOwner == session
    assert KazooState.LOST not in states

    changed = recorder()  # the re-attached session serves new watches
    client.get(base + "/eph", watch=changed)
    zk.set(base + "/eph", b"1")
    events = changed.wait_for(1)
    assert [(e.type, e.path) for e in events] == [(EventType.CHANGED, base + "/eph")]


def test_expire_by_closing_from_second_connection(make_client, zk, base, hosts, recorder):
    victim = make_client()
    session = victim.client_id
    path = base + "/eph"
    victim.create(path, b"", ephemeral=True)
    zk.sync(path)
    deleted = recorder()
    assert zk.exists(path, watch=deleted) is not None

    lost = threading.Event()
    victim.add_listener(lambda state: lost.set() if state == KazooState.LOST else None)

    expire_session(victim, hosts)

    assert [(e.type, e.path) for e in deleted.wait_for(1)] == [(EventType.DELETED, path)]
    assert lost.wait(WAIT), "victim never learned its session was closed"
    # kazoo starts a fresh session after LOST.
    assert wait_until(lambda: victim.connected and victim.client_id[0] != session[0])
    victim.sync(path)
    assert victim.exists(path) is None
    victim.create(path, b"again", ephemeral=True)
    zk.sync(path)
    assert zk.exists(path).ephemeralOwner == victim.client_id[0]


# A minimal ZooKeeper wire client, so a session can go silent without any
# client library pinging behind the test's back.

def _frame(payload):
    return struct.pack(">i", len(payload)) + payload


def _string(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def _read_frame(sock):
    def read(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("server closed the connection")
            buf += chunk
        return buf
    (n,) = struct.unpack(">i", read(4))
    return read(n)


def _raw_session(addr, timeout_ms):
    """Opens a session; returns (socket, session id, negotiated timeout ms)."""
    host, port = addr.split(",")[0].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId,
    # passwd (16 zero bytes), readOnly.
    sock.sendall(_frame(struct.pack(">iqiq", 0, 0, timeout_ms, 0) +
                        struct.pack(">i", 16) + b"\0" * 16 + b"\0"))
    resp = _read_frame(sock)
    _, negotiated, session = struct.unpack_from(">iiq", resp)
    assert session != 0 and negotiated > 0
    return sock, session, negotiated


def _raw_create_ephemeral(sock, path):
    # RequestHeader{xid=1, type=create(1)} + CreateRequest{path, data,
    # acl=[world:anyone all], flags=ephemeral(1)}.
    req = struct.pack(">ii", 1, 1) + _string(path) + struct.pack(">i", 0) + \
        struct.pack(">ii", 1, 31) + _string("world") + _string("anyone") + \
        struct.pack(">i", 1)
    sock.sendall(_frame(req))
    xid, _zxid, err = struct.unpack_from(">iqi", _read_frame(sock))
    assert (xid, err) == (1, 0)


def _raw_close(sock):
    # RequestHeader{xid=2, type=closeSession(-11)}; then wait for the reply.
    try:
        sock.sendall(_frame(struct.pack(">ii", 2, -11)))
        _read_frame(sock)
    finally:
        sock.close()


def test_expire_silent_session(zk, base, hosts, recorder):
    # 3s leaves room for the "not before its time" check on a loaded machine;
    # test/interop runs the servers with a 1s minimum, so it is granted.
    sock, session, negotiated = _raw_session(hosts, 3000)
    try:
        path = base + "/silent"
        _raw_create_ephemeral(sock, path)
        silent_since = time.monotonic()
        zk.sync(path)
        assert zk.exists(path).ephemeralOwner == session
        deleted = recorder()
        zk.exists(path, watch=deleted)

        # Not before its time: a third into the timeout it is still there.
        time.sleep(negotiated / 3000.0)
        still_there = zk.exists(path) is not None
        if time.monotonic() - silent_since < negotiated / 1000.0 * 0.8:
            assert still_there, "session expired before its timeout"

        # Expiry is checked once per tick, so allow the timeout plus slack.
        events = deleted.wait_for(1, timeout=negotiated / 1000.0 * 2 + 10)
        assert [(e.type, e.path) for e in events] == [(EventType.DELETED, path)]
        assert time.monotonic() - silent_since >= negotiated / 1000.0 * 0.9
        # The server closes an expired session's connection.
        sock.settimeout(WAIT)
        try:
            assert sock.recv(1024) == b""
        except ConnectionResetError:
            pass
    finally:
        sock.close()


def test_lock_passes_on_when_holder_session_expires(make_client, base, hosts):
    holder, waiter = make_client(), make_client()
    lock = holder.Lock(base + "/lock", "holder")
    assert lock.acquire(timeout=WAIT)
    lost = threading.Event()
    holder.add_listener(lambda state: lost.set() if state == KazooState.LOST else None)

    got = threading.Event()
    other = waiter.Lock(base + "/lock", "waiter")

    def take():
        if other.acquire(timeout=WAIT):
            got.set()

    t = threading.Thread(target=take, daemon=True)
    t.start()
    assert wait_until(lambda: other.contenders() == ["holder", "waiter"])
    assert not got.wait(0.2)
    expire_session(holder, hosts)
    assert got.wait(WAIT), "the waiter never got the lock of the expired holder"
    assert lost.wait(WAIT), "the holder never learned its session was gone"
    t.join(WAIT)
    assert other.contenders() == ["waiter"]
    other.release()


def test_election_passes_on_when_leader_session_expires(make_client, base, hosts):
    leader, follower = make_client(), make_client()
    e1 = leader.Election(base + "/election", "first")
    e2 = follower.Election(base + "/election", "second")
    leading = {"first": threading.Event(), "second": threading.Event()}
    done = threading.Event()

    def lead(name):
        leading[name].set()
        done.wait(WAIT)

    t1 = threading.Thread(target=e1.run, args=(lead, "first"), daemon=True)
    t1.start()
    assert leading["first"].wait(WAIT)
    t2 = threading.Thread(target=e2.run, args=(lead, "second"), daemon=True)
    t2.start()
    assert wait_until(lambda: e2.contenders() == ["first", "second"])
    assert not leading["second"].is_set()
    expire_session(leader, hosts)
    assert leading["second"].wait(WAIT), "no new leader after the leader's session expired"
    assert e2.contenders() == ["second"]
    done.set()
    e1.cancel()
    t1.join(WAIT)
    t2.join(WAIT)


def test_party_member_leaves_when_session_expires(make_client, base, hosts):
    member, observer = make_client(), make_client()
    member.Party(base + "/party", "gone-soon").join()
    stays = observer.Party(base + "/party", "stays")
    stays.join()
    assert sorted(stays) == ["gone-soon", "stays"]
    expire_session(member, hosts)
    assert wait_until(lambda: sorted(stays) == ["stays"])

