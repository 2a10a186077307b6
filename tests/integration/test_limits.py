#!/usr/bin/env python3
"""The resource bounds of docs/operations.md ("Limits"), each at and past
the bound, on real nodes:

- summaries kept of one domain (weftd --domain-max): a node publishes up
  to its bound and no further (ELIMIT, exit 1, nothing lost); a peer's
  summaries past the bound are dropped and not counted against the peer;
- connections to the peer socket (SERVER_PIPES_MAX): that many are
  served, one more is closed at once, and one is served again once one
  has gone;
- a peer message (MESH_MSG_MAX): a frame of exactly the limit is read
  (and, being garbage, answered with a close for garbage); one byte more
  is cut off for its size;
- request bytes under way on the peer socket (SERVER_BUFFERED_MAX):
  callers that stall mid-frame are held up to it; past it one is closed;
- a CLI request (WEFT_MSG_MAX): a request at the limit gets an error
  reply; one byte more closes the connection; the node serves on;
- descriptor fetches waiting on peers (MESH_FETCH_MAX): that many gets
  wait while the only peer is frozen; one more is answered at once,
  without the descriptor;
- watchers (WATCH_MAX): that many wait at once; one more is refused with
  the bound named; once one has gone, another is accepted.

Every wait is a bounded poll; every process started is stopped by PID.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (WEFT, _env, main, proc_kib, sp_request,  # noqa: E402
                     tmpdir, wait_for, weftd_cli, write)
from test_hostile import Raw  # noqa: E402
from test_mesh import CONVERGE_S, doc, linked, mesh_node  # noqa: E402

MESH_MSG_MAX = 4 << 20       # node/mesh.h
WEFT_MSG_MAX = 64 << 20      # util/weft.h
SERVER_PIPES_MAX = 256       # node/node.h
WATCH_MAX = 16               # node/node.h
MESH_FETCH_MAX = 8           # node/mesh.h


def test_domain_max_bounds_publishing_and_what_peers_send():
    for bad in ("0", "-1", "x", str((1 << 40) + 1)):
        rc, out, err = weftd_cli("run", "--data", os.path.join(tmpdir(), "n"),
                                 "--domain-max", bad)
        assert rc == 2 and "--domain-max '%s'" % bad in err, (bad, rc, err)
    a = mesh_node("a", "alpha", extra=("--domain-max", "3"))
    b = mesh_node("b", "bravo", a)
    wait_for(lambda: linked(b, a.peer_url), "bravo's link to alpha",
             CONVERGE_S)
    # alpha signs three summaries (its bound), then no more.
    for i in (1, 2, 3):
        a.publish(write("a%d.yaml" % i, doc("a%d" % i)))
    rc, out, err = a.weft("publish", write("a4.yaml", doc("a4")))
    assert rc == 1 and "domain 'alpha'" in err and "--domain-max" in err \
        and "(3)" in err, (rc, out, err)
    held = a.products("--domain", "alpha")
    assert sorted(held) == ["alpha/a1", "alpha/a2", "alpha/a3"], held
    assert [held["alpha/a%d" % i]["seq"] for i in (1, 2, 3)] == [1, 2, 3]
    # A deprecation needs a new summary too: refused the same way.
    rc, out, err = a.weft("deprecate", "alpha/a1", "--reason", "old")
    assert rc == 1 and "--domain-max" in out + err, (rc, out, err)
    # bravo (default bound) signs five; alpha keeps the first three.
    for i in range(1, 6):
        b.publish(write("b%d.yaml" % i, doc("b%d" % i)))
    wait_for(lambda: len(b.products("--domain", "alpha")) == 3,
             "bravo lacks alpha's three", CONVERGE_S)
    wait_for(lambda: sorted(a.products("--domain", "bravo")) == [
        "bravo/b1", "bravo/b2", "bravo/b3"],
        lambda: "alpha holds %r of bravo's" % sorted(
            a.products("--domain", "bravo")), CONVERGE_S)
    # Past the bound is not a refusal: bravo's link is not shut out, and
    # alpha stops asking for what it drops (its mark moves past seq 5).
    wait_for(lambda: "signed more than 3 summaries" in a.log_text(),
             "alpha's log does not say it drops bravo's summaries",
             CONVERGE_S)
    time.sleep(1)  # several sync rounds at 200 ms
    assert "shut out" not in a.log_text() + b.log_text()
    peers = b.call("peers")["peers"]
    assert any(p["url"] == a.peer_url and p.get("refusals", 0) == 0
               for p in peers), peers
    assert sorted(a.products("--domain", "bravo")) == [
        "bravo/b1", "bravo/b2", "bravo/b3"]


def test_peer_connections_bound():
    a = mesh_node("a", "alpha")
    held = []
    try:
        for i in range(SERVER_PIPES_MAX):
            held.append(Raw(a.port))  # each got the node's greeting
        # One more: accepted by the kernel, then closed by the node.
        extra = Raw(a.port, handshake=False)
        extra.send(b"\x00SP\x00" + struct.pack(">HH", 0x30, 0))
        assert extra.closed_by_node(10), "connection %d was served" % (
            SERVER_PIPES_MAX + 1)
        extra.close()
        # The held ones still work: a request on the first is answered.
        held[0].request(b"\xc1")
        assert held[0].closed_by_node(10)  # garbage: closed, as it should
        held.pop(0).close()
        wait_for(lambda: "turned away 1 peer connections" in a.log_text(),
                 "alpha's log does not say it turned one away", 10)
        # One has gone: a new one is served again.
        again = Raw(a.port)
        again.close()
    finally:
        for r in held:
            r.close()
    assert a.call("status")["ok"] is True


def test_peer_message_size_bound():
    a = mesh_node("a", "alpha")
    # At the bound: a whole frame of MESH_MSG_MAX bytes is read; it is
    # garbage, so the node closes for that, not for its size.
    r = Raw(a.port)
    body = b"\xc1" * (MESH_MSG_MAX - 4)
    r.send(struct.pack(">QI", MESH_MSG_MAX, 0x80000001) + body)
    assert r.closed_by_node(30)
    r.close()
    wait_for(lambda: "not a peer-protocol message" in a.log_text(),
             "the frame at the bound was not read", 10)
    assert "over the size limit" not in a.log_text()
    # One byte past it: cut off for its size before any body is read.
    r = Raw(a.port)
    r.send(struct.pack(">Q", MESH_MSG_MAX + 1))
    assert r.closed_by_node(10)
    r.close()
    wait_for(lambda: "over the size limit" in a.log_text(),
             "the frame past the bound was not cut off for its size", 10)
    assert a.call("status")["ok"] is True


def test_peer_buffered_bytes_bound():
    # Callers that each send most of a 4 MiB frame and stall: the node
    # holds their bytes up to SERVER_BUFFERED_MAX (64 MiB) in all, then
    # closes the caller that would need more. 14 fit; 4 more do not.
    a = mesh_node("a", "alpha")
    part = struct.pack(">QI", MESH_MSG_MAX, 0x80000001) + b"\x00" * (
        MESH_MSG_MAX - (64 << 10))
    held = []
    try:
        for i in range(14):
            r = Raw(a.port)
            r.send(part)
            held.append(r)
        for r in held:
            assert not r.closed_by_node(0.2), "a caller under the bound " \
                "was closed"
        more = []
        for i in range(4):
            r = Raw(a.port)
            r.send(part)
            more.append(r)
        held += more
        wait_for(lambda: "SERVER_BUFFERED_MAX" in a.log_text(),
                 "no caller was closed at SERVER_BUFFERED_MAX", 30)
        assert a.call("status")["ok"] is True
        rss = proc_kib(a.pid, "VmHWM") // 1024
        print("  peak RSS with 18 stalled 4 MiB frames: %d MiB" % rss)
    finally:
        for r in held:
            r.close()


def test_pending_fetches_bound():
    # A `weft get` of another domain's product whose descriptor the node
    # lacks waits while the node asks its peers (MESH_FETCH_MAX such
    # fetches at once). With the only peer frozen (SIGSTOP), 8 gets wait;
    # the 9th is answered at once, without the descriptor.
    from test_mesh import evilpeer
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo", a)
    wait_for(lambda: linked(a, b.peer_url) and linked(b, a.peer_url),
             "alpha and bravo did not link both ways", CONVERGE_S)
    for seq in range(1, MESH_FETCH_MAX + 2):
        assert evilpeer(a, "good", seq) == [(1, 0)]
    ids = ["evil/good-%d" % i for i in range(1, MESH_FETCH_MAX + 2)]
    wait_for(lambda: all(i in a.products("--domain", "evil") for i in ids),
             "alpha lacks evil's summaries", CONVERGE_S)
    waiting = []
    os.kill(b.pid, signal.SIGSTOP)
    try:
        for i in ids[:MESH_FETCH_MAX]:
            waiting.append(subprocess.Popen(
                [WEFT, "--data", a.dir, "--json", "get", i],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()))
        time.sleep(0.5)
        t0 = time.monotonic()
        rc, out, err = a.weft("--json", "get", ids[-1])
        took = time.monotonic() - t0
        assert rc == 0 and '"descriptor": null' in out, (rc, out, err)
        still = [p.poll() is None for p in waiting]
        assert all(still), "at the bound, a get did not wait: %r" % still
        print("  the get past the bound took %.2f s; %d were waiting" % (
            took, len(waiting)))
    finally:
        os.kill(b.pid, signal.SIGCONT)
        for p in waiting:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
            p.stdout.close()
            p.stderr.close()
    assert all(p.returncode == 0 for p in waiting), [
        p.returncode for p in waiting]


def test_cli_request_size_bound():
    from harness import Node
    n = Node("n").start("solo")
    # At the bound: WEFT_MSG_MAX bytes in all (request id and body), not
    # msgpack: an error reply, not a closed connection.
    reply = sp_request(n.sock, b"\xc1" * (WEFT_MSG_MAX - 4), timeout=60)
    assert b"ok" in reply and b"error" in reply, reply[:200]
    # One byte more: nng closes the connection; the node serves on.
    try:
        sp_request(n.sock, b"\xc1" * (WEFT_MSG_MAX - 3), timeout=60)
        raise AssertionError("a CLI request over WEFT_MSG_MAX was answered")
    except (EOFError, ConnectionResetError, BrokenPipeError, socket.timeout):
        pass
    assert n.call("status")["ok"] is True


def test_watchers_bound():
    from harness import Node
    n = Node("n").start("solo")
    procs = []

    def start():
        p = subprocess.Popen([WEFT, "--data", n.dir, "watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=_env())
        procs.append(p)
        return p

    try:
        for i in range(WATCH_MAX):
            start()
        # A watcher is held once its first (empty) answer came back: the
        # one past the bound is refused, naming it, and exits 1.
        extra = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            extra = start()
            try:
                extra.wait(timeout=2)
            except subprocess.TimeoutExpired:
                # Accepted: some of the first ones were not held yet.
                os.kill(extra.pid, signal.SIGTERM)
                extra.wait(timeout=10)
                continue
            break
        err = extra.stderr.read().decode()
        assert extra.returncode == 1 and "%d watchers already wait" % (
            WATCH_MAX) in err, (extra.returncode, err)
        # One goes. Its slot is free once its held request is answered:
        # news answers every watcher at once (the others ask again), or
        # WATCH_WAIT_MS pass. Then another is held.
        first = procs[0]
        os.kill(first.pid, signal.SIGTERM)
        first.wait(timeout=10)
        n.publish(write("x.yaml", doc("x")))
        deadline = time.monotonic() + 60
        while True:
            again = start()
            try:
                again.wait(timeout=2)
            except subprocess.TimeoutExpired:
                break  # held
            assert time.monotonic() < deadline, \
                "no watcher held after one went: %s" % (
                    again.stderr.read().decode())
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout=10)
            p.stdout.close()
            p.stderr.close()
    assert n.call("status")["ok"] is True


if __name__ == "__main__":
    main(globals())
