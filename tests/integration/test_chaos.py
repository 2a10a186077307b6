"""Chaos and partitions: real weftd processes crashed, cut off and healed.

- Five nodes, one domain each, on 127.0.0.1: a seeded loop of rounds that
  publish on random nodes and, during or right after those publishes,
  kill -9 the publisher or another node (so during anti-entropy and bulk
  copies too), restarting each a few rounds later. Every publish the CLI
  reported done is in a ledger; every restart must open the store and
  find its own reported publishes (a batch that got no answer is all
  there or all absent), a publish whose node was killed must get its
  answer (an error) while the node is down, and at the end all five
  reach one catalog_digest holding the latest reported version of every
  id. WEFT_CHAOS_SEED replays a run; WEFT_CHAOS_ROUNDS changes its length.
- Six nodes split in two by cutting every link between the halves, with
  publishes on both sides: the halves must not converge while cut, and
  all six must once healed. Each node runs in its own working directory
  and serves peers on a relative ipc:// path, so the url every peer
  record carries names, in every other node's directory, a relay this
  test runs: a real cut (connections are dropped, dials find no socket,
  no byte crosses), with no change to weftd.
- The same split over TCP across network namespaces (one per node, each
  with its own 10.77.0.x address on a veth into a hub namespace's
  bridge; the cut moves one half's ports to a second bridge). It needs
  root and `ip netns`; otherwise it says why it is skipped (so does
  WEFT_NETNS=0).

Every wait is a bounded poll (WEFT_MESH_WAIT bounds each convergence);
nothing is asserted about how long anything took.
"""

import atexit
import collections
import json as jsonlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CALL_TIMEOUT, WEFT, Node, free_port, main,  # noqa: E402
                     tmpdir, wait_for, write)
from test_mesh import (CONVERGE_S, SYNC_MS, converge, describe,  # noqa: E402
                       doc)

ROUNDS = int(os.environ.get("WEFT_CHAOS_ROUNDS") or 60)
MAX_DOWN = 2  # nodes down at once in the chaos loop


# ---- ports ---------------------------------------------------------------

_ports = set()


def stable_port():
    """A free TCP port on 127.0.0.1 below the kernel's ephemeral range, so
    that while a killed node is down no outgoing connection and no other
    test's free_port() takes it before the restart binds it again."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    pick = random.SystemRandom()
    for _ in range(200):
        if low <= 10001:
            break
        p = pick.randrange(10000, low)
        if p in _ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        _ports.add(p)
        return p
    return free_port()


def in_use(n):
    return "in use" in n.log_text().rsplit("--- ", 1)[-1]


def start_retrying(n, start):
    """start() (a Node.start or restart); retried while the log says the
    port is in use (someone held it for a moment)."""
    for attempt in range(10):
        try:
            return start()
        except AssertionError:
            if not in_use(n) or attempt == 9:
                raise
            time.sleep(0.5)


# ---- the chaos loop ------------------------------------------------------


def chaos_node(i, *peers):
    n = Node("c%d" % i)
    n.domain = "chaos%d" % i
    for attempt in range(5):
        n.port = stable_port()
        n.peer_url = "tcp://127.0.0.1:%d" % n.port
        args = ["--listen", n.peer_url, "--sync-interval", SYNC_MS]
        for p in peers:
            args += ["--peer", p.peer_url]
        try:
            return n.start(n.domain, *args)
        except AssertionError:
            if not in_use(n) or attempt == 4:
                raise


def chaos_doc(name, vnum, rnd, pad=0):
    """A product; pad adds that many ~30-byte sentences to its description
    (bulk products: more bytes for sync replies and pushes to carry)."""
    return ("data-product:\n  name: %s\n  version: 1.0.%d\n"
            "  owner: chaos-team\n  description: \"round %d. %s\"\n"
            % (name, vnum, rnd, "lorem ipsum dolor sit amet. " * pad))


def vnum_of(version):
    assert version.startswith("1.0."), version
    return int(version[4:])


class Ledger:
    """What was asked and what the CLI answered, per product id."""

    def __init__(self):
        self.attempts = collections.Counter()  # id -> last vnum tried
        self.ok = {}  # id -> (vnum, hash) of the latest reported publish
        self.reported = []  # every (id, vnum, hash) reported published
        self.unsure = collections.defaultdict(set)  # id -> vnums, no answer
        self.unsure_batches = {}  # node index -> [(id, vnum)] no answer

    def next(self, pid):
        self.attempts[pid] += 1
        return self.attempts[pid]

    def check(self, who, pid, have):
        """have: (version, seq, status, hash) held for pid, or None. It must
        be the latest reported version, or a later one whose publish got
        no answer."""
        ok = self.ok.get(pid)
        if have is None:
            assert ok is None, (
                "%s: %s is missing; weft publish reported version 1.0.%d "
                "(hash %s) published" % (who, pid, ok[0], ok[1]))
            return
        v = vnum_of(have[0])
        if ok is not None and v == ok[0]:
            assert have[3] == ok[1], (
                "%s: %s 1.0.%d has hash %s; weft publish reported %s" % (
                    who, pid, v, have[3], ok[1]))
            return
        assert v in self.unsure[pid] and (ok is None or v > ok[0]), (
            "%s: %s is at version %s; weft publish last reported %s, and "
            "the publishes that got no answer were %s" % (
                who, pid, have[0], "1.0.%d" % ok[0] if ok else "nothing",
                sorted(self.unsure[pid]) or "none"))


def publish_bg(n, files):
    """weft publish in the background: the Popen."""
    argv = [WEFT, "--data", n.dir, "--json", "publish"] + files
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# How long weft publish may take to give up once its node is killed: the
# node is gone, so there is nothing to wait for (a bound, not a timing).
LOST_S = 30


def publish_wait(p, timeout=CALL_TIMEOUT):
    """(rc, results, stderr) of a publish_bg; None if it has not returned
    within timeout (it is left running)."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    res = []
    if out.strip():
        try:
            res = jsonlib.loads(out).get("results") or []
        except ValueError:
            raise AssertionError("weft publish --json printed invalid JSON:"
                                 " %r" % out[:2000])
    return p.returncode, res, err.decode("utf-8", "replace")


def publish_lost(p, n):
    """Fails for a weft publish still waiting although its node n was
    killed: says what it does once n is back."""
    start_retrying(n, n.restart)
    got = publish_wait(p)
    if got is None:
        p.kill()
        p.communicate()
        then = "still no answer %d s after the restart" % CALL_TIMEOUT
    else:
        then = "once %s was restarted it exited %d with %r" % (
            n.name, got[0], got[1])
    raise AssertionError(
        "weft publish had no answer %d s after its node %s was killed -9 "
        "(the CLI waits for a node that is gone instead of failing); %s"
        % (LOST_S, n.name, then))


SEED_DOCS = 100  # bulk products each node publishes before the rounds


def test_chaos_kill9_during_publishes_and_syncs():
    seed = int(os.environ.get("WEFT_CHAOS_SEED") or time.time())
    print("  (seed %d: WEFT_CHAOS_SEED=%d replays this run)" % (seed, seed))
    sys.stdout.flush()
    rng = random.Random(seed)
    nodes = []
    for i in range(5):
        peers = [nodes[-1]] if nodes else []
        if len(nodes) > 1:
            peers.append(rng.choice(nodes[:-1]))
        nodes.append(chaos_node(i, *peers))
    os.makedirs(os.path.join(tmpdir(), "docs"), exist_ok=True)

    led = Ledger()
    down = {}  # node index -> the round it comes back
    stats = collections.Counter()

    def kill(i, rnd, why):
        nodes[i].kill9()
        down[i] = rnd + rng.choice((1, 1, 2, 3))
        stats[why] += 1

    def restart(i):
        n = nodes[i]
        start_retrying(n, n.restart)
        stats["restarts"] += 1
        del down[i]
        # What it reported published survived; what got no answer is all
        # there or all absent (one transaction per batch).
        held = n.quick_state()
        for pid in led.attempts:
            if pid.startswith(n.domain + "/"):
                led.check(n.name + " after its restart", pid, held.get(pid))
        batch = led.unsure_batches.pop(i, None)
        if batch:
            got = [held.get(pid) is not None and vnum_of(held[pid][0]) == v
                   for pid, v in batch]
            assert all(got) or not any(got), (
                "%s: a batch killed in flight is half there: %r -> %r" % (
                    n.name, batch, got))
            stats["stored" if all(got) else "absent"] += 1

    def publish(x, rnd, names, pad, mode):
        """Publishes names on node x (mode: plain; peer: kill another node
        meanwhile; during: kill x meanwhile; after: kill x once it
        answered) and keeps the ledger."""
        batch, files = [], []
        for name in names:
            pid = "%s/%s" % (nodes[x].domain, name)
            v = led.next(pid)
            batch.append((pid, v))
            files.append(write("docs/r%d-%s.yaml" % (rnd, name),
                               chaos_doc(name, v, rnd, pad)))
        t0 = time.monotonic()
        p = publish_bg(nodes[x], files)
        if mode == "peer":
            time.sleep(rng.uniform(0, lat[0]))
            live = [i for i in range(5) if i not in down and i != x]
            kill(rng.choice(live), rnd, "peer")
        elif mode == "during":
            time.sleep(rng.uniform(0, lat[0]))
            kill(x, rnd, "during")
        got = publish_wait(p, LOST_S if mode == "during" else CALL_TIMEOUT)
        if got is None and mode == "during":
            publish_lost(p, nodes[x])
        if got is None:
            p.kill()
            p.communicate()
            raise AssertionError("round %d: weft publish on %s did not "
                                 "return within %d s" % (
                                     rnd, nodes[x].name, CALL_TIMEOUT))
        rc, res, err = got
        if mode == "plain" and len(batch) == 1:
            took.append(time.monotonic() - t0)
        done = {r["id"]: r for r in res if r.get("ok") is True}
        for pid, v in batch:
            r = done.get(pid)
            if r is not None:
                assert r["version"] == "1.0.%d" % v, (r, v)
                led.ok[pid] = (v, r["hash"])
                led.reported.append((pid, v, r["hash"]))
                stats["reported"] += 1
            else:
                assert mode == "during", (
                    "round %d: weft publish on %s (not killed) failed: rc "
                    "%d, %r, %s" % (rnd, nodes[x].name, rc, res, err))
                led.unsure[pid].add(v)
                stats["unanswered"] += 1
        if mode == "during":
            if len(done) < len(batch):
                led.unsure_batches[x] = [(pid, v) for pid, v in batch
                                         if pid not in done]
            else:
                stats["answered"] += 1
        if mode == "after":
            kill(x, rnd, "after")

    # How long a small publish takes on this build and machine: the kills
    # during a publish fall within that time, so some come before the
    # request reaches the node, some while it commits, some after.
    took, lat = [], [0.05]
    for x in range(5):
        publish(x, -2, ["p0"], 0, "plain")
    lat[0] = sorted(took)[len(took) // 2]
    print("  (a small publish takes %.0f ms here)" % (lat[0] * 1000))
    # Bulk next, on every node: the rounds start while the nodes still
    # copy each other's catalogs.
    for x in range(5):
        publish(x, -1, ["bulk-%03d" % k for k in range(SEED_DOCS)], 40,
                "plain")

    for rnd in range(ROUNDS):
        for i in sorted(i for i, r in down.items() if r <= rnd):
            restart(i)
        for i, n in enumerate(nodes):
            if i not in down:
                assert n.running(), "%s died in round %d:\n%s" % (
                    n.name, rnd, n.log_text())
        x = rng.choice([i for i in range(5) if i not in down])
        if rng.random() < 0.1:  # now and then a batch of new products
            names = ["b%d-%d" % (rnd, k) for k in range(rng.randint(10, 30))]
            pad = 40
        else:  # mostly new versions of a few
            names = rng.sample(["p0", "p1", "p2", "p3"],
                               rng.choice((1, 1, 1, 2, 3)))
            pad = 0
        mode = rng.choice(("plain", "peer", "peer", "after", "after",
                           "during", "during", "during"))
        if len(down) >= MAX_DOWN:
            mode = "plain"
        publish(x, rnd, names, pad, mode)
        # Let a few sync rounds run (and be interrupted by the next kill).
        time.sleep(rng.uniform(0, 3 * SYNC_MS / 1000.0))

    for i in sorted(down):
        restart(i)
    for n in nodes:
        assert n.running(), "%s died:\n%s" % (n.name, n.log_text())
    print("  (%d rounds: %d kill -9 of a publisher during its publish (%d "
          "answered first), %d right after it, %d of another node during "
          "a publish; %d restarts; %d products reported published, %d "
          "unanswered: %d batches stored, %d absent)" % (
              ROUNDS, stats["during"], stats["answered"], stats["after"],
              stats["peer"], stats["restarts"], stats["reported"],
              stats["unanswered"], stats["stored"], stats["absent"]))
    converge(nodes)
    states = [n.quick_state() for n in nodes]
    for n, st in zip(nodes, states):
        assert st == states[0], "%s lists other products than %s, with " \
            "the same catalog_digest" % (n.name, nodes[0].name)
        for pid in led.attempts:
            led.check(n.name + " at the end", pid, st.get(pid))
        extra = set(st) - set(led.attempts)
        assert not extra, "%s holds products never published: %r" % (
            n.name, sorted(extra))
    # Every version reported published is still there on its origin.
    origin = {n.domain: n for n in nodes}
    for pid, v, h in led.reported:
        rep = origin[pid.split("/")[0]].call("get", id=pid,
                                             version="1.0.%d" % v)
        got = (rep.get("product") or {}).get("hash")
        assert rep.get("ok") is True and got == h, (
            "get %s --version 1.0.%d on its origin: %r (reported hash %s)"
            % (pid, v, rep, h))


# ---- a split and a heal, shared by the relay and the netns tests ----------


def links_up(n, urls):
    """n's outbound links to urls that are up (or busy)."""
    return [p for p in n.call("peers")["peers"]
            if p.get("url") in urls and p.get("state") in ("up", "busy")]


def full_mesh(nodes):
    """Waits until every node has an authenticated link to every other
    (each dials all five: --links is 8)."""
    def every():
        return all(len(links_up(n, {m.peer_url for m in nodes
                                    if m is not n})) == len(nodes) - 1
                   for n in nodes)
    wait_for(every, lambda: "the six nodes did not link to each other:\n"
             + describe(nodes), CONVERGE_S)


def split_and_heal(nodes, cut, heal, cut_check=None):
    """nodes: six running, linked nodes with empty catalogs. Publishes one
    product on each, converges, cuts the mesh between nodes[:3] and
    nodes[3:] (cut()), publishes a new product and a new version of the
    first on every node, checks that each half converges on its own and
    lacks the other's news, heals (heal()) and waits for all six to
    converge on everything."""
    halves = (nodes[:3], nodes[3:])
    first = {}
    for n in nodes:
        r = n.publish(write("%s-base.yaml" % n.name, doc("base")))[0]
        first[r["id"]] = r["hash"]
    converge(nodes, count=6)
    full_mesh(nodes)

    cut()
    news = ({}, {})  # per half: id -> (version, hash)
    for h, half in enumerate(halves):
        for n in half:
            for r in n.publish(write("%s-side.yaml" % n.name, doc("side")),
                               write("%s-base2.yaml" % n.name,
                                     doc("base", version="2.0.0"))):
                news[h][r["id"]] = (r["version"], r["hash"])

    # Each half converges on its own news and nothing of the other's.
    digests = [converge(half, count=9) for half in halves]
    assert digests[0] != digests[1], "both halves hold the same catalog " \
        "while cut:\n" + describe(nodes)
    for h, half in enumerate(halves):
        other = [m.peer_url for m in halves[1 - h]]
        wait_for(lambda: not any(links_up(n, other) for n in half),
                 lambda: "links across the cut are still up:\n" +
                 describe(nodes), CONVERGE_S)
    # A few more sync intervals, then the same again: nothing leaked.
    time.sleep(10 * SYNC_MS / 1000.0)
    for h, half in enumerate(halves):
        for n in half:
            st = n.quick_state()
            for pid, (ver, hsh) in news[h].items():
                assert st.get(pid, (None,) * 4)[3] == hsh, (
                    "%s lacks %s from its own half" % (n.name, pid))
            for pid, (ver, hsh) in news[1 - h].items():
                held = st.get(pid)
                if ver == "1.0.0":
                    assert held is None, (
                        "%s holds %s from across the cut" % (n.name, pid))
                else:
                    assert held is not None and held[0] == "1.0.0" \
                        and held[3] == first[pid], (
                            "%s holds %r for %s, version 1.0.0 from "
                            "before the cut expected" % (n.name, held, pid))
    if cut_check:
        cut_check()
    print("  (cut: halves at digests %.16s and %.16s)" % tuple(digests))

    heal()
    converge(nodes, count=12)
    want = dict(news[0])
    want.update(news[1])
    for n in nodes:
        st = n.quick_state()
        got = {pid: (v[0], v[3]) for pid, v in st.items()}
        assert got == want, "%s after the heal:\n%r\nwant:\n%r" % (
            n.name, got, want)
    full_mesh(nodes)


# ---- the split by relays -------------------------------------------------


class Relays:
    """Unix-socket relays: relay (src, dst) listens at a path and forwards
    every connection to dst's peer socket. Cutting a pair drops its
    connections and removes its socket file, so a dial finds no one there
    (as a dial to a host that is unreachable fails); healing it listens
    again. (A relay that accepted and at once closed would also cut, but
    nng 1.5.2's ipc dialer stops redialing after a handshake that fails
    that way, so the link would never come back.)"""

    def __init__(self):
        self.lock = threading.Lock()
        self.pairs = {}  # (src, dst) -> (path, target)
        self.stops = {}  # (src, dst) -> the Event that stops its listener
        self.listeners = {}  # (src, dst) -> its accepting thread
        self.bytes = collections.Counter()  # (src, dst) -> bytes forwarded
        self.conns = []  # [(src, dst, a, b)]
        self.threads = []

    def add(self, src, dst, path, target):
        self.pairs[(src, dst)] = (path, target)
        self._listen((src, dst))

    def _listen(self, pair):
        path, target = self.pairs[pair]
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(32)
        ls.settimeout(0.05)
        stop = threading.Event()
        t = threading.Thread(target=self._accept,
                             args=(pair, ls, path, target, stop), daemon=True)
        self.stops[pair] = stop
        self.listeners[pair] = t
        t.start()

    def _unlisten(self, pair):
        t = self.listeners.pop(pair, None)
        if t is not None:
            self.stops.pop(pair).set()
            t.join()

    def _accept(self, pair, ls, path, target, stop):
        try:
            while not stop.is_set():
                try:
                    a, _ = ls.accept()
                except socket.timeout:
                    continue
                a.settimeout(None)
                b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                b.settimeout(CALL_TIMEOUT)
                try:
                    b.connect(target)
                except OSError:  # dst is down: so is the relay to it
                    a.close()
                    b.close()
                    continue
                b.settimeout(None)
                with self.lock:
                    self.conns.append((pair, a, b))
                for x, y in ((a, b), (b, a)):
                    t = threading.Thread(target=self._pump,
                                         args=(pair, x, y), daemon=True)
                    t.start()
                    self.threads.append(t)
        finally:
            ls.close()
            try:
                os.unlink(path)
            except OSError:
                pass

    def _pump(self, pair, a, b):
        while True:
            try:
                data = a.recv(1 << 16)
            except OSError:
                break
            if not data:
                break
            with self.lock:
                self.bytes[pair] += len(data)
            try:
                b.sendall(data)
            except OSError:
                break
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _drop(self, pairs):
        with self.lock:
            drop = [c for c in self.conns if c[0] in pairs]
            self.conns = [c for c in self.conns if c[0] not in pairs]
        for _, a, b in drop:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self, pairs):
        """Stops the relays of pairs and drops their connections; zeroes
        their byte counts."""
        for pair in pairs:
            self._unlisten(pair)
        self._drop(set(pairs))
        with self.lock:
            for pair in pairs:
                self.bytes.pop(pair, None)

    def heal(self):
        for pair in self.pairs:
            if pair not in self.listeners:
                self._listen(pair)

    def total(self, pairs):
        with self.lock:
            return sum(self.bytes[k] for k in pairs)

    def close(self):
        for pair in list(self.listeners):
            self._unlisten(pair)
        self._drop(set(self.pairs))
        for t in self.threads:
            t.join(timeout=5)


def test_split_by_relays_then_heal():
    # Node i runs in directory w<i> and listens on ipc://peer/s<i>.sock:
    # its own socket in w<i>/peer. In every other node's directory that
    # same relative path is a relay to it, so every connection between
    # two nodes (dialed from a --peer, a remembered peer or a peer
    # record's url) passes through the relay of that ordered pair.
    base = tmpdir()
    names = ["s%d" % i for i in range(6)]
    work = {s: os.path.join(base, "w" + s) for s in names}
    for s in names:
        os.makedirs(os.path.join(work[s], "peer"))
    relays = Relays()
    try:
        for src in names:
            for dst in names:
                if src != dst:
                    relays.add(src, dst,
                               os.path.join(work[src], "peer", dst + ".sock"),
                               os.path.join(work[dst], "peer", dst + ".sock"))
        nodes = []
        for s in names:
            n = Node(s)
            n.cwd = work[s]
            n.domain = "split-" + s
            n.peer_url = "ipc://peer/%s.sock" % s
            args = ["--listen", n.peer_url, "--sync-interval", SYNC_MS]
            if nodes:  # a line: each half stays linked on its own
                args += ["--peer", nodes[-1].peer_url]
            nodes.append(n.start(n.domain, *args))
        a, b = names[:3], names[3:]
        across = [(x, y) for x in a for y in b] + [(y, x) for x in a
                                                   for y in b]
        assert relays.total(across) > 0, \
            "no traffic between the halves went through the relays"

        def cut_check():
            assert relays.total(across) == 0, "bytes crossed the cut"

        split_and_heal(nodes, lambda: relays.cut(across), relays.heal,
                       cut_check)
        assert relays.total(across) > 0, \
            "the heal converged without traffic through the relays"
        for n in nodes:
            n.stop()
    finally:
        relays.close()


# ---- the split across network namespaces -----------------------------------


NETNS_PREFIX = "weftit-"
NETNS_NET = "10.77.0."  # inside the test's namespaces only
NETNS_PORT = 7701


def _ip(*args):
    p = subprocess.run(["ip"] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=CALL_TIMEOUT)
    if p.returncode != 0:
        raise OSError("ip %s: exit %d: %s" % (
            " ".join(map(str, args)), p.returncode,
            p.stderr.decode("utf-8", "replace").strip()))
    return p.stdout.decode("utf-8", "replace")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Netns:
    """A hub namespace with two bridges and one namespace per node, joined
    to the hub by a veth pair (eth0 in the node's namespace, vh<i> in the
    hub, a port of br0). cut(idx) moves those nodes' hub ports to br1:
    each side still reaches its own, nothing crosses. heal() moves them
    back. Every namespace is named weftit-PID-*, and deleted by close()
    (also at exit)."""

    def __init__(self, count):
        self.tag = "%s%d" % (NETNS_PREFIX, os.getpid())
        self.hub = self.tag + "-hub"
        self.ns = ["%s-n%d" % (self.tag, i) for i in range(count)]
        self.made = []
        self.nodes = []
        atexit.register(self.close)

    @staticmethod
    def unavailable():
        """Why network namespaces cannot be used here, or None."""
        if os.environ.get("WEFT_NETNS", "1") == "0":
            return "WEFT_NETNS=0"
        if not sys.platform.startswith("linux"):
            return "not Linux"
        if os.geteuid() != 0:
            return "not root (network namespaces need CAP_SYS_ADMIN)"
        if shutil.which("ip") is None:
            return "no `ip` command (iproute2)"
        return None

    @staticmethod
    def reap_stale():
        """Deletes namespaces left by runs of this test that were killed
        (weftit-PID-* whose PID is gone)."""
        try:
            out = _ip("netns", "list")
        except OSError:
            return
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            m = re.match(r"%s(\d+)-" % re.escape(NETNS_PREFIX), name)
            if m and not _pid_alive(int(m.group(1))):
                try:
                    _ip("netns", "del", name)
                except OSError:
                    pass

    def addr(self, i):
        return NETNS_NET + str(i + 1)

    def setup(self):
        _ip("netns", "add", self.hub)
        self.made.append(self.hub)
        for br in ("br0", "br1"):
            _ip("-n", self.hub, "link", "add", br, "type", "bridge")
            _ip("-n", self.hub, "link", "set", br, "up")
        for i, ns in enumerate(self.ns):
            _ip("netns", "add", ns)
            self.made.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "add", "vh%d" % i, "netns", self.hub, "type", "veth",
                "peer", "name", "eth0", "netns", ns)
            _ip("-n", self.hub, "link", "set", "vh%d" % i, "master", "br0")
            _ip("-n", self.hub, "link", "set", "vh%d" % i, "up")
            _ip("-n", ns, "addr", "add", self.addr(i) + "/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def cut(self, idx):
        for i in idx:
            _ip("-n", self.hub, "link", "set", "vh%d" % i, "master", "br1")

    def heal(self):
        for i in range(len(self.ns)):
            _ip("-n", self.hub, "link", "set", "vh%d" % i, "master", "br0")

    def close(self):
        # The nodes first (by PID: ip netns exec execs weftd), then the
        # namespaces; deleting one removes its end of the veth pair.
        for n in self.nodes:
            n._kill()
        for ns in reversed(self.made):
            try:
                _ip("netns", "del", ns)
            except OSError as e:
                print("  (cleanup: %s)" % e)
        self.made = []


def test_split_across_network_namespaces_then_heal():
    why = Netns.unavailable()
    if why is None:
        Netns.reap_stale()
    lab = Netns(6)
    try:
        if why is None:
            try:
                lab.setup()
            except (OSError, subprocess.SubprocessError) as e:
                why = "cannot set up namespaces and veth pairs: %s" % e
        if why is not None:
            print("  (skipped: %s)" % why)
            return
        print("  (namespaces %s-*, %s1-%d on a bridge in %s)" % (
            lab.tag, NETNS_NET, len(lab.ns), lab.hub))
        nodes = []
        for i, ns in enumerate(lab.ns):
            n = Node("ns%d" % i)
            n.prefix = ["ip", "netns", "exec", ns]
            n.domain = "netns%d" % i
            n.peer_url = "tcp://%s:%d" % (lab.addr(i), NETNS_PORT)
            args = ["--listen", n.peer_url, "--sync-interval", SYNC_MS]
            if nodes:  # a line: each half stays linked on its own
                args += ["--peer", nodes[-1].peer_url]
            lab.nodes.append(n)
            nodes.append(n.start(n.domain, *args))
            # ip netns exec execs weftd: the PID the harness stops is its.
            with open("/proc/%d/cmdline" % n.pid, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode()
            assert os.path.basename(argv0) == "weftd", argv0
        split_and_heal(nodes, lambda: lab.cut(range(3, 6)), lab.heal)
        for n in nodes:
            n.stop()
    finally:
        lab.close()


if __name__ == "__main__":
    main(globals())
