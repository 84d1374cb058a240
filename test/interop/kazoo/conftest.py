"""Fixtures for the kazoo interop suite.

The suite runs against whatever server ZK_HOSTS names (host:port[,host:port]);
test/interop's Go test sets it for a standalone Apache ZooKeeper and zkd, and
for 3-server ensembles of each. Every test works under its own fresh base
path, so tests do not see each other's znodes, and every client a test opens
is closed when it ends.

Against an ensemble each client talks to a random server, and a server may
not yet have applied a write another session just made there. A test that
reads what another session wrote therefore syncs first, as a correct
ZooKeeper application must (a session always sees its own writes).
"""

import faulthandler
import logging
import os
import sys
import threading
import time
import uuid

import pytest
from kazoo.client import KazooClient

# Upper bound for any single wait in the suite, in seconds. Nothing in a
# correct server takes this long; it only stops a broken one from hanging.
WAIT = 15.0


def pytest_configure(config):
    if not os.environ.get("ZK_HOSTS"):
        raise pytest.UsageError(
            "set ZK_HOSTS=host:port to the server under test "
            "(go test -tags interop ./test/interop/... does this)")


# A test running longer than this is hung (a server that never answers makes
# kazoo's synchronous calls wait forever): dump every thread's stack and end
# the run, instead of waiting for the Go test's overall timeout.
TEST_TIMEOUT = 90


@pytest.fixture(autouse=True)
def _hang_guard():
    # pytest.ini sets --capture=sys, so fd 2 is still the real stderr.
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True, file=sys.__stderr__)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session", autouse=True)
def _server_reachable():
    """Ends the run at once when no session can be opened at all, rather
    than letting every test time out on its own."""
    client = KazooClient(hosts=os.environ["ZK_HOSTS"], timeout=10.0)
    try:
        client.start(timeout=WAIT)
    except Exception as e:  # noqa: BLE001
        pytest.exit("cannot open a session with ZK_HOSTS=%s: %r" %
                    (os.environ["ZK_HOSTS"], e), returncode=3)
    finally:
        client.stop()
        client.close()


@pytest.fixture
def hosts():
    return os.environ["ZK_HOSTS"]


@pytest.fixture
def make_client(hosts):
    """Returns a factory for started KazooClients; all are stopped at the end."""
    clients = []

    def make(**kwargs):
        kwargs.setdefault("timeout", 10.0)
        client = KazooClient(hosts=hosts, **kwargs)
        clients.append(client)
        client.start(timeout=WAIT)
        return client

    yield make
    for client in clients:
        try:
            client.stop()
            client.close()
        except Exception:  # a test may have stopped it already
            pass


@pytest.fixture
def zk(make_client):
    return make_client()


@pytest.fixture
def base(zk, request):
    """A fresh, empty znode for this test; removed with its subtree afterwards."""
    path = "/kazoo-interop/%s-%s" % (request.node.name, uuid.uuid4().hex[:8])
    zk.ensure_path(path)
    yield path
    # Best effort: a failed test may leave znodes this client cannot read
    # (ACLs), and that must not hide the test's own failure.
    try:
        if zk.connected and zk.exists(path):
            zk.delete(path, recursive=True)
    except Exception as e:  # noqa: BLE001
        logging.getLogger(__name__).warning("cleanup of %s: %r", path, e)


def wait_until(predicate, timeout=WAIT, interval=0.02):
    """Polls predicate until it is true or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Recorder:
    """Collects callback calls from kazoo's callback thread."""

    def __init__(self):
        self.calls = []
        self.cond = threading.Condition()

    def __call__(self, *args):
        with self.cond:
            self.calls.append(args[0] if len(args) == 1 else args)
            self.cond.notify_all()

    def wait_for(self, n, timeout=WAIT):
        """Waits until at least n calls were recorded; returns a copy of them."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.calls) >= n, timeout)
            return list(self.calls)


@pytest.fixture
def recorder():
    return Recorder


def expire_session(client, hosts):
    """Ends client's session from the server side: a second connection
    attaches to the same session (id and password) and closes it. The
    server closes every connection of the session, so client learns on
    reconnect that the session is gone (LOST)."""
    session = client.client_id
    # On a failure pytest shows this line; the Go runner then prints the
    # servers' log lines that name the session.
    logging.getLogger("interop").info("expiring session 0x%x", session[0])
    impostor = KazooClient(hosts=hosts, client_id=session, timeout=10.0)
    try:
        impostor.start(timeout=WAIT)
        assert impostor.client_id[0] == session[0]  # re-attached, not a new session
    finally:
        impostor.stop()  # closeSession
        impostor.close()
