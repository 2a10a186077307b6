"""The mesh: real weftd processes peered over TCP on 127.0.0.1.

A line of three nodes carries a publish, a deprecation and a restart of
its middle node; ten nodes peered at random reach one catalog_digest; a
node that joins late with one --peer receives everything; a node killed
with SIGKILL during its bulk copy converges after a restart; and a peer
that speaks the protocol with a forged summary, a replayed one and an
equivocating pair (tests/evilpeer) is refused, counted once and flagged
on every node. Then the halves of an equivocating pair held on the two
sides of a healed partition are found by anti-entropy (both sides flag
the domain), and `weft peer add|remove` and `weft peers` at run time.

Every wait is a bounded poll of the nodes' state (the status reply's
catalog_digest, or the list); nothing is asserted about how long it took.
"""

import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, CALL_TIMEOUT, Node, free_port, main,  # noqa: E402
                     tmpdir, wait_for, write)

EVILPEER = os.path.join(BIN, "tests", "evilpeer")
OLDSTORE = os.path.join(BIN, "tests", "oldstore")
SYNC_MS = 200  # --sync-interval: short, to keep the tests quick
# The bound of every wait for the mesh to converge (generous: sanitizer
# builds are slow; a healthy mesh converges in a few intervals).
CONVERGE_S = float(os.environ.get("WEFT_MESH_WAIT", "60"))


def doc(name, version="1.0.0", desc=None):
    d = "data-product:\n  name: %s\n  version: %s\n  owner: mesh-team\n" % (
        name, version)
    if desc:
        d += '  description: "%s"\n' % desc
    return d


def mesh_node(name, domain, *peers, port=None, extra=()):
    """Starts a node serving peers at tcp://127.0.0.1:PORT (a free port
    unless given), linked to the Nodes in peers, with more weftd flags in
    extra. node.peer_url is its url."""
    n = Node(name)
    for attempt in range(5):
        n.port = port or free_port()
        n.peer_url = "tcp://127.0.0.1:%d" % n.port
        args = ["--listen", n.peer_url, "--sync-interval", SYNC_MS] + list(
            extra)
        for p in peers:
            args += ["--peer", p.peer_url]
        try:
            return n.start(domain, *args)
        except AssertionError:
            # Another process took the port between free_port and bind.
            last = n.log_text().rsplit("--- ", 1)[-1]
            if port or "in use" not in last or attempt == 4:
                raise


def restart(n, *peers):
    """Starts n again on its data directory and port, with no --peer but
    those given (the rest it must remember)."""
    args = ["--listen", n.peer_url, "--sync-interval", SYNC_MS]
    for p in peers:
        args += ["--peer", p.peer_url]
    return n.restart(*args)


def status(n):
    st = n.call("status")
    assert st.get("ok") is True, "%s: status: %r" % (n.name, st)
    return st


def describe(nodes):
    """Each node's catalog size, digest and links, for a failed wait."""
    lines = []
    for n in nodes:
        if not n.running():
            lines.append("  %s: not running" % n.name)
            continue
        try:
            st = status(n)
            peers = n.call("peers").get("peers") or []
        except Exception as e:  # a dead node is described, not raised
            lines.append("  %s: does not answer: %s" % (n.name, e))
            continue
        lines.append("  %s (%s, %s): catalog %d, digest %.16s; links: %s" % (
            n.name, st["domain"], n.peer_url, st["catalog"],
            st["catalog_digest"], ", ".join(
                "%s %s" % (p.get("url"), p.get("state")) for p in peers)))
    return "\n".join(lines)


def converge(nodes, count=None, timeout=None):
    """Waits until every node reports the same catalog_digest (and, with
    count, that many summaries); checks it through `weft --json status`
    too and returns the digest."""
    def same():
        sts = [status(n) for n in nodes]
        ds = {s["catalog_digest"] for s in sts}
        if len(ds) == 1 and (count is None
                             or all(s["catalog"] == count for s in sts)):
            return ds.pop()
        return None

    d = wait_for(same, lambda: "the nodes did not converge%s:\n%s" % (
        "" if count is None else " on %d summaries" % count,
        describe(nodes)), timeout or CONVERGE_S)
    for n in nodes:
        got = n.ok("status")["catalog_digest"]
        assert got == d, "%s: weft --json status says digest %s, the " \
            "status request %s" % (n.name, got, d)
    return d


def domains(n):
    """{domain: entry} of `weft --json status --domains`."""
    doc_ = n.ok("status", "--domains")
    return {d["domain"]: d for d in doc_["domains"]}


def listed(n, domain):
    """{id: (version, seq, status, hash)} of `weft list --domain D`."""
    return {k: (p["version"], p["seq"], p["status"], p["hash"])
            for k, p in n.products("--domain", domain).items()}


def holds(n, pid, **want):
    """The node's list entry for pid if it matches want (direct request)."""
    rep = n.call("list")
    for p in rep.get("products") or []:
        if p["id"] == pid and all(p.get(k) == v for k, v in want.items()):
            return p
    return None


def linked(n, url):
    """n's link to url if it is authenticated ("up", or "busy" while a
    request is in flight), else None (direct request)."""
    for p in n.call("peers")["peers"]:
        if p["url"] == url and p["state"] in ("up", "busy"):
            return p
    return None


# ---- three nodes in a line ------------------------------------------------


def test_line_of_three_carries_publish_deprecate_and_restart():
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo", a)
    c = mesh_node("c", "charlie", b)
    r = a.publish(write("p.yaml", doc("parcel", desc="first")))[0]
    assert r["id"] == "alpha/parcel", r
    p = wait_for(lambda: holds(c, "alpha/parcel"),
                 lambda: "alpha/parcel never reached c:\n" + describe(
                     [a, b, c]), CONVERGE_S)
    assert p["hash"] == r["hash"] and p["seq"] == r["seq"], (p, r)
    assert c.get("alpha/parcel")["hash"] == r["hash"]

    dep = a.ok("deprecate", "alpha/parcel", "--reason", "use parcel2")
    assert dep["status"] == "deprecated", dep
    wait_for(lambda: holds(c, "alpha/parcel", status="deprecated",
                           seq=dep["seq"]),
             lambda: "c never saw the deprecation (seq %d):\n%s" % (
                 dep["seq"], describe([a, b, c])), CONVERGE_S)
    cl = c.products("--domain", "alpha")["alpha/parcel"]
    assert cl["status"] == "deprecated" and cl["hash"] == r["hash"], cl
    assert cl["deprecation"]["reason"] == "use parcel2", cl

    # Stop the middle node; publish while it is down.
    b.stop()
    r2 = a.publish(write("q.yaml", doc("quiver", desc="while b was down")))[0]
    # b resumes from its data directory alone: its peers are remembered.
    restart(b)
    converge([a, b, c], count=2)
    assert listed(c, "alpha") == listed(a, "alpha")
    assert listed(c, "alpha")["alpha/quiver"][3] == r2["hash"]
    assert a.catalog_state() == c.catalog_state() == b.catalog_state()
    # The restarted b relinked to a, which it only knew from its last run.
    wait_for(lambda: linked(b, a.peer_url),
             lambda: "b did not relink to a:\n" + describe([a, b, c]),
             CONVERGE_S)
    urls = {p["url"] for p in b.ok("peers")["peers"]}
    assert a.peer_url in urls, "weft peers on b: %r" % urls


# ---- ten nodes at random --------------------------------------------------


def test_ten_nodes_peered_at_random_reach_one_digest():
    seed = int(os.environ.get("WEFT_MESH_SEED") or time.time())
    print("  (seed %d: WEFT_MESH_SEED=%d reruns this mesh)" % (seed, seed))
    rng = random.Random(seed)
    nodes, want = [], {}
    for i in range(10):
        peers = rng.sample(nodes, min(len(nodes), rng.choice((1, 2))))
        n = mesh_node("n%d" % i, "dom%d" % i, *peers)
        nodes.append(n)
        # The first product before the later nodes start, the rest after.
        r = n.publish(write("n%d-0.yaml" % i, doc("first-of-%d" % i)))[0]
        want[r["id"]] = r["hash"]
    for i, n in enumerate(nodes):
        files = [write("n%d-%d.yaml" % (i, k), doc("item-%d-%d" % (i, k)))
                 for k in range(1, rng.choice((2, 3)))]
        for r in n.publish(*files):
            want[r["id"]] = r["hash"]
    converge(nodes, count=len(want))
    for n in (nodes[0], nodes[-1], rng.choice(nodes)):
        got = {k: p["hash"] for k, p in n.products().items()}
        assert got == want, "%s: list differs from what was published" % (
            n.name)
    for n in nodes:
        assert n.running(), "%s died" % n.name


# ---- late join --------------------------------------------------------------


def test_late_joiner_with_one_peer_receives_everything():
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo", a)
    c = mesh_node("c", "charlie", a)
    for n, tag in ((a, "a"), (b, "b"), (c, "c")):
        n.publish(*[write("%s%d.yaml" % (tag, k),
                          doc("%s-product-%d" % (tag, k)))
                    for k in range(3)])
    a.ok("deprecate", "alpha/a-product-0", "--reason", "old")
    b.publish(write("b0v2.yaml", doc("b-product-0", version="2.0.0")))
    digest = converge([a, b, c], count=9)

    d = mesh_node("d", "delta", c)
    assert converge([a, b, c, d], count=9) == digest
    for origin, dom in ((a, "alpha"), (b, "bravo"), (c, "charlie")):
        got, want = listed(d, dom), listed(origin, dom)
        assert len(want) == 3 and got == want, (
            "weft list --domain %s on d:\n%r\nwant (on its origin):\n%r"
            % (dom, got, want))
    doms = domains(d)
    for origin, dom in ((a, "alpha"), (b, "bravo"), (c, "charlie")):
        od = domains(origin)[dom]
        assert doms[dom]["seq"] == od["seq"] and doms[dom][
            "fingerprint"] == od["fingerprint"] and doms[dom][
            "products"] == 3, (doms[dom], od)
        assert doms[dom]["equivocation"] is False, doms[dom]
    assert listed(d, "alpha")["alpha/a-product-0"][2] == "deprecated"
    assert listed(d, "bravo")["bravo/b-product-0"][0] == "2.0.0"


# ---- kill -9 during a bulk copy --------------------------------------------

BULK = 6000


def bulk_doc(i):
    # Long descriptions and many tags make summaries of about 1.5 KB, so
    # the copy takes several sync replies (2 MiB each).
    tags = ", ".join("tag-%d-%d" % (i, j) for j in range(20))
    return ("data-product:\n  name: bulk-%04d\n  version: 1.0.0\n"
            "  owner: bulk-team\n  description: \"bulk product %d: %s\"\n"
            "  tags: [%s]\n" % (i, i, "lorem ipsum dolor sit amet " * 16,
                                tags))


def test_kill9_during_bulk_sync_then_restart_converges():
    src = mesh_node("src", "source")
    os.makedirs(os.path.join(tmpdir(), "bulk"), exist_ok=True)
    files = [write("bulk/b%04d.yaml" % i, bulk_doc(i)) for i in range(BULK)]
    res = src.publish(*files)
    assert len(res) == BULK and res[-1]["seq"] == BULK, res[-1]
    total = BULK

    # The new node has a product of its own, then links to the source
    # (weft peer add: the bulk copy starts now).
    new = mesh_node("new", "newcomer")
    mine = new.publish(write("mine.yaml", doc("mine")))[0]
    total += 1
    new.ok("peer", "add", src.peer_url)

    def copied():
        st = status(new)
        return st["catalog"] - st["products"]

    # Kill it as soon as it holds part of the source's catalog.
    seen = wait_for(copied, lambda: "the bulk copy never started:\n" +
                    describe([src, new]), CONVERGE_S, poll=0.005)
    new.kill9()
    print("  (killed the new node holding %d of %d%s)" % (
        seen, BULK, "; the copy had finished: this run did not interrupt it"
        if seen == BULK else ""))

    # Restarted with no --peer: it remembers the source.
    restart(new)
    st = status(new)
    assert st["catalog"] - st["products"] >= seen, (
        "after the restart the new node holds %d of the source's summaries,"
        " fewer than the %d it had before kill -9" % (
            st["catalog"] - st["products"], seen))
    converge([src, new], count=total)
    got, want = listed(new, "source"), listed(src, "source")
    assert len(got) == BULK and got == want, "the copy differs: %d of %d" % (
        len(got), len(want))
    assert listed(new, "newcomer")["newcomer/mine"][3] == mine["hash"]
    assert listed(src, "newcomer")["newcomer/mine"][3] == mine["hash"]

    # A copy that asks for each reply before it has stored the one
    # before (heads moved up to the reply's upto, as a node does) gets
    # every summary of the source's logs once: none twice, none missed.
    p = subprocess.run([EVILPEER, src.peer_url, "copy",
                        os.path.join(tmpdir(), "copier.key"), "copier", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=CALL_TIMEOUT)
    out = p.stdout.decode()
    assert p.returncode == 0, "evilpeer copy: %s%s" % (out,
                                                       p.stderr.decode())
    w = out.split()
    replies, got, repeats, upto = int(w[2]), int(w[4]), int(w[6]), int(w[8])
    assert (got, repeats) == (total, 0), out
    assert replies >= 3 and upto == replies - 1, out  # 9 MB: 5 replies


# ---- a misbehaving peer -----------------------------------------------------


_issued = {}  # test directory -> the issue time of its evil summaries


def evilpeer(target, mode, seq, domain="evil"):
    """Runs tests/evilpeer against target's peer socket; returns the
    (accepted, refused) of each push. All of a test's runs speak for one
    domain (one key file) and sign with one issue time, so the same mode
    and seq make byte-identical summaries."""
    key = os.path.join(tmpdir(), "evil.key")
    issued = _issued.setdefault(tmpdir(), int(time.time()))
    p = subprocess.run([EVILPEER, target.peer_url, mode, key, domain,
                        str(seq), str(issued)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=CALL_TIMEOUT)
    out, err = p.stdout.decode(), p.stderr.decode()
    assert p.returncode == 0, "evilpeer %s: exit %d: %s%s" % (
        mode, p.returncode, out, err)
    pushes = []
    for line in out.splitlines():
        w = line.split()
        assert w[0] == "push" and w[2] == "accepted" and w[4] == "refused", (
            line)
        pushes.append((int(w[3]), int(w[5])))
    return pushes


def expect_pushes(target, mode, seq, want):
    got = evilpeer(target, mode, seq)
    assert got == want, "evilpeer %s %d to %s: (accepted, refused) of " \
        "each push %r, want %r" % (mode, seq, target.name, got, want)


def test_evil_peer_forged_replayed_and_equivocating():
    assert os.access(EVILPEER, os.X_OK), "missing %s" % EVILPEER
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo", a)
    c = mesh_node("c", "charlie", b)
    nodes = [a, b, c]
    a.publish(write("a.yaml", doc("anchor")))
    converge(nodes, count=1)

    # A forged summary (one signature byte flipped) is refused by every
    # node it is pushed to.
    for n in nodes:
        expect_pushes(n, "forged", 1, [(0, 1)])
    # A good summary pushed twice is taken once; pushed again to nodes
    # that got it by gossip, it is taken nowhere.
    expect_pushes(b, "replay", 1, [(1, 0), (0, 0)])
    converge(nodes, count=2)
    for n in (a, c):
        expect_pushes(n, "replay", 1, [(0, 0), (0, 0)])
    for n in nodes:
        ev = listed(n, "evil")
        assert set(ev) == {"evil/replayed"}, (
            "%s: weft list --domain evil: %r (the forged summary must be on"
            " no node)" % (n.name, ev))
        assert ev["evil/replayed"][1] == 1, ev
        e = domains(n)["evil"]
        assert e["seq"] == 1 and e["products"] == 1, (n.name, e)
        assert e["equivocation"] is False, (n.name, e)

    # Two different summaries with the same domain and seq: the first is
    # taken, the second kept as proof and the domain flagged.
    expect_pushes(b, "equivocate", 2, [(1, 0), (0, 1)])
    e = domains(b)["evil"]
    assert e["equivocation"] is True, "b got the pair directly: %r" % e
    assert e["seq"] == 2 and e["products"] == 2, e
    twin = holds(b, "evil/twin")
    assert twin is not None and twin["seq"] == 2, twin
    # Every node holds the first of the pair (it is what b forwarded).
    converge(nodes, count=3)
    for n in nodes:
        assert listed(n, "evil")["evil/twin"][3] == twin["hash"], n.name
        assert n.products("--domain", "evil")["evil/twin"][
            "description"] == "first", n.name
    # Both summaries spread as proof: every node flags the domain.
    wait_for(lambda: all(domains(n)["evil"]["equivocation"] for n in nodes),
             lambda: "the equivocation flag did not reach every node: %s\n%s"
             % (", ".join("%s equivocation=%s" % (
                 n.name, domains(n)["evil"]["equivocation"]) for n in nodes),
                describe(nodes)), CONVERGE_S)
    for n in nodes:
        e = domains(n)["evil"]
        assert e["seq"] == 2 and e["products"] == 2, (n.name, e)
    # The proof changes no catalog: still one digest, the first twin.
    converge(nodes, count=3)
    # Nothing stopped or stalled any node.
    for n in nodes:
        assert n.running(), "%s died:\n%s" % (n.name, n.log_text())
        status(n)


def test_equivocation_across_a_healed_partition():
    # Two nodes that do not know each other each take one of an
    # equivocating pair; once linked, each holds what the other never
    # had: both must see the equivocation. Their heads are equal (seq 2
    # on both); the heads' tips (hash of the summary at that seq) differ,
    # which is what anti-entropy compares to find it.
    a = mesh_node("a", "alpha")
    c = mesh_node("c", "charlie")
    for n in (a, c):
        expect_pushes(n, "good", 1, [(1, 0)])
    expect_pushes(a, "first", 2, [(1, 0)])
    expect_pushes(c, "second", 2, [(1, 0)])
    a.ok("peer", "add", c.peer_url)
    for x, y in ((a, c), (c, a)):
        wait_for(lambda: linked(x, y.peer_url),
                 lambda: "the link did not come up:\n" + describe([a, c]),
                 CONVERGE_S)

    def flagged():
        return all(domains(n)["evil"]["equivocation"] for n in (a, c))

    wait_for(flagged, lambda: "after the partition healed, " + ", ".join(
        "%s holds evil/twin '%s' (digest %.16s), equivocation=%s" % (
            n.name, n.products("--domain", "evil")["evil/twin"][
                "description"], status(n)["catalog_digest"],
            domains(n)["evil"]["equivocation"]) for n in (a, c)),
        CONVERGE_S)


# ---- signed domain heads -----------------------------------------------------


def test_signed_heads_show_how_stale_each_domain_is():
    # Each node signs its domain's head every second here; a domain whose
    # node stops refreshing it grows stale on every other node, while the
    # live ones stay fresh.
    fast = ("--head-interval", "1")
    a = mesh_node("a", "alpha", extra=fast)
    b = mesh_node("b", "bravo", a, extra=fast)
    c = mesh_node("c", "charlie", b, extra=fast)
    nodes = [a, b, c]
    r = a.publish(write("a.yaml", doc("anchor")))[0]
    converge(nodes, count=1)

    def heads_everywhere():
        for n in nodes:
            ds = domains(n)
            if set(ds) != {"alpha", "bravo", "charlie"}:
                return False
            for d in ds.values():
                if d["head_ts"] < 0 or d["stale_s"] > 3:
                    return False
            if ds["alpha"]["head_seq"] != r["seq"] or ds["alpha"]["behind"]:
                return False
        return True

    wait_for(heads_everywhere, lambda: "not every node holds a fresh head "
             "of every domain: %r" % {n.name: domains(n) for n in nodes},
             CONVERGE_S)
    out = c.weft("status", "--domains", json=False)[1]
    assert "STALE" in out and "alpha" in out, out

    a.stop()

    def alpha_stale():
        ds = [domains(n) for n in (b, c)]
        return all(d["alpha"]["stale_s"] >= 5 for d in ds) and ds

    ds = wait_for(alpha_stale, lambda: "alpha's head did not age: %r" % (
        [domains(n) for n in (b, c)]), CONVERGE_S)
    for d in ds:
        for live in ("bravo", "charlie"):
            assert d[live]["stale_s"] < d["alpha"]["stale_s"], d

    # Heads from a peer: a good one is kept once (the second push is a
    # replay) and names a seq not held, so the domain shows BEHIND; a
    # forged one and one dated an hour ahead are refused and counted.
    expect_pushes(c, "head", 7, [(1, 0), (0, 0)])
    e = domains(c)["evil"]
    assert e["head_seq"] == 7 and e["seq"] == 0 and e["behind"], e
    held = e["head_ts"]
    expect_pushes(c, "head-forged", 8, [(0, 1)])
    expect_pushes(c, "head-future", 9, [(0, 1)])
    e = domains(c)["evil"]
    assert e["head_seq"] == 7 and e["head_ts"] == held, e
    assert "BEHIND" in c.weft("status", "--domains", json=False)[1]
    c.answers("heads forged and from the future")


# ---- links at run time ------------------------------------------------------

PEER_FIELDS = {"url", "direction", "domain", "fingerprint", "state",
               "last_seen",
               "rtt_us", "msgs_in", "msgs_out", "bytes_in", "bytes_out",
               "refusals"}


def test_links_bound():
    # --links bounds the outbound links a node dials itself (a few more
    # dial back peers that say few dial them); bad values are refused.
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo")
    c = mesh_node("c", "charlie", a, b, extra=("--links", "1"))
    wait_for(lambda: linked(c, a.peer_url) or linked(c, b.peer_url),
             lambda: "c linked to nobody:\n" + describe([a, b, c]),
             CONVERGE_S)
    out = [p for p in c.ok("peers")["peers"] if p["direction"] == "out"]
    assert 1 <= len(out) <= 1 + 4, out
    for bad in ("0", "33", "x"):
        rc, text = Node("bad" + bad).try_start("d", "--links", bad)
        assert rc == 2 and "--links" in text, (bad, rc, text)


def test_peer_add_and_remove_at_run_time():
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo")
    assert a.ok("peers")["peers"] == []
    a.ok("peer", "add", b.peer_url)

    wait_for(lambda: linked(a, b.peer_url),
             lambda: "a did not link to b:\n" + describe([a, b]), CONVERGE_S)
    p = [p for p in a.ok("peers")["peers"] if p["url"] == b.peer_url][0]
    assert set(p) == PEER_FIELDS, sorted(p)
    assert p["domain"] == "bravo", p
    assert p["fingerprint"] == b.ok("status")["fingerprint"], p
    assert p["msgs_in"] > 0 and p["msgs_out"] > 0 and p["bytes_in"] > 0, p
    assert p["refusals"] == 0, p
    assert p["direction"] == "out", p
    # b lists a among the peers that dialed it.
    wait_for(lambda: [q for q in b.ok("peers")["peers"]
                      if q["direction"] == "in" and q["domain"] == "alpha"],
             lambda: "b does not list a as inbound:\n" + describe([a, b]),
             CONVERGE_S)
    r = b.publish(write("b.yaml", doc("bee")))[0]
    wait_for(lambda: holds(a, "bravo/bee", hash=r["hash"]),
             lambda: "bravo/bee did not reach a:\n" + describe([a, b]),
             CONVERGE_S)

    # A peer that never answers is listed, not up, and can be removed.
    dead = "tcp://127.0.0.1:%d" % free_port()
    a.ok("peer", "add", dead)
    p = [p for p in a.ok("peers")["peers"] if p["url"] == dead]
    assert len(p) == 1 and p[0]["state"] not in ("up", "busy"), p
    a.ok("peer", "remove", dead)
    a.answers("weft peer remove of a peer that never answered")
    assert dead not in {p["url"] for p in a.ok("peers")["peers"]}
    rc, out, err = a.weft("peer", "remove", dead)
    assert rc != 0 and "not a peer" in err, (rc, out, err)
    rc, out, err = a.weft("peer", "add", "http://127.0.0.1:1")
    assert rc != 0 and "tcp://" in err, (rc, out, err)
    assert linked(a, b.peer_url), "the link to b went down:\n" + describe(
        [a, b])

    # After a restart it links to b again, and not to the removed peer.
    a.stop()
    restart(a)
    wait_for(lambda: linked(a, b.peer_url),
             lambda: "a did not relink to b:\n" + describe([a, b]),
             CONVERGE_S)
    assert dead not in {p["url"] for p in a.ok("peers")["peers"]}
    a.answers("a restart")


# ---- expiry and renewal ----------------------------------------------------

TTL = 12  # --summary-ttl, seconds: a summary is signed again with 4 s left


def expiry_of(n):
    """{id: (seq, expires, expired)} of `weft list` on n."""
    return {k: (p["seq"], p["expires"], p.get("expired", False))
            for k, p in n.products().items()}


def after_last_start(n):
    """n's log since its last start."""
    return n.log_text().rsplit("\n--- ", 1)[-1]


def test_summaries_are_signed_again_and_expired_ones_still_spread():
    """A domain signs its summaries again, unchanged, before they expire,
    and its peers take the new ones in without telling their watchers.
    Summaries that expire while their domain is down still replicate to a
    node that joins then (with their history), shown as expired, with no
    refusal; back up, the domain signs them again."""
    import json
    import select
    import signal
    from harness import WEFT, _env

    a = mesh_node("a", "alpha", extra=("--summary-ttl", "%ds" % TTL))
    b = mesh_node("b", "bravo", a)
    a.publish(*[write("r%d.yaml" % k, doc("r-product-%d" % k))
                for k in range(3)])
    a.ok("deprecate", "alpha/r-product-0", "--reason", "old")
    converge([a, b], count=3)
    items = b.products()
    first = {k: (p["seq"], p["expires"], False) for k, p in items.items()}
    for pid, p in items.items():
        assert p["expires"] == p["issued"] + TTL and "expired" not in p, p

    w = subprocess.Popen([WEFT, "--data", b.dir, "--json", "watch"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         bufsize=0, env=_env())
    try:
        time.sleep(0.5)  # registered once its first answer came back
        # Each is signed again twice (a new seq each time), content kept.
        wait_for(lambda: all(expiry_of(b)[k][0] > first[k][0] + 1
                             for k in first),
                 lambda: "b did not get the summaries signed again: %r "
                 "(first %r)\n%s" % (expiry_of(b), first, describe([a, b])),
                 4 * TTL)
        now = expiry_of(b)
        assert all(now[k][1] > first[k][1] and not now[k][2] for k in now), (
            now, first)
        assert listed(b, "alpha") == {
            k: (v[0], now[k][0], v[2], v[3])
            for k, v in listed(a, "alpha").items()}
        assert a.get("alpha/r-product-0")["status"] == "deprecated"
        # The watcher heard of none of it; a real change it hears.
        a.publish(write("r9.yaml", doc("r-product-9")))
        ready, _, _ = select.select([w.stdout], [], [], CONVERGE_S)
        assert ready, "the watcher heard nothing of a publish"
        e = json.loads(w.stdout.readline())
        assert (e["event"], e["product"]["id"]) == (
            "new", "alpha/r-product-9"), e
    finally:
        if w.poll() is None:
            os.kill(w.pid, signal.SIGTERM)
        w.wait(timeout=10)
        w.stdout.close()
        w.stderr.close()
    converge([a, b], count=4)

    # The domain goes down; its summaries expire on b.
    a.stop()
    wait_for(lambda: all(v[2] for v in expiry_of(b).values()),
             lambda: "b does not show alpha's summaries expired: %r"
             % expiry_of(b), 2 * TTL)
    rc, out, err = b.weft("get", "alpha/r-product-1")
    assert rc == 0 and "(expired" in out, (rc, out, err)
    rc, out, err = b.weft("list")
    assert rc == 0 and out.count("(expired)") == 4, out

    # A node that joins now takes them in, history and all, refusing none.
    c = mesh_node("c", "charlie", b)
    digest = converge([b, c], count=4)
    assert expiry_of(c) == expiry_of(b)
    assert domains(c)["alpha"]["seq"] == domains(b)["alpha"]["seq"]
    refusals = [p["refusals"] for p in c.ok("peers")["peers"]]
    assert refusals and not any(refusals), c.ok("peers")
    found = c.ok("search", "r-product")["products"]
    assert len(found) == 4 and all(p.get("expired") for p in found), found

    # Back up (the default lifetime now), alpha signs them all again.
    restart(a, b)
    wait_for(lambda: not any(v[2] for v in expiry_of(c).values()),
             lambda: "c still shows alpha's summaries expired: %r\n%s" % (
                 expiry_of(c), describe([a, b, c])), CONVERGE_S)
    assert converge([a, b, c], count=4) != digest
    for n in (a, b, c):
        got = expiry_of(n)
        assert all(not v[2] and v[1] > time.time() + 80 * 86400
                   for v in got.values()), (n.name, got)
    c.answers("taking in expired summaries")


def test_renewal_goes_through_every_summary_in_turns():
    """Over a thousand products due at once (RENEW_MAX a transaction, the
    walk stopped and taken up again after the last product it looked at):
    every product is signed again in each round, and once the node is up
    none expires."""
    count, ttl = 1050, 15
    n = Node("r").start("rnw", "--summary-ttl", "%ds" % ttl)
    for lo in range(0, count, 350):
        n.publish(*[write("n%d.yaml" % k, doc("n-product-%d" % k))
                    for k in range(lo, lo + 350)])
    last = max(p["issued"] for p in n.products().values())
    n.stop()
    # Down until every one of them is due (a third of the lifetime left;
    # the first published may expire meanwhile): the first pass after the
    # restart finds all of them at once.
    time.sleep(max(0.0, last + ttl - ttl // 3 + 1 - time.time()))
    n.restart()

    def lowest(fresh):
        got = n.products()
        assert len(got) == count, len(got)
        late = [k for k, p in got.items() if p.get("expired")]
        assert not (fresh and late), "expired while the node ran: %r" % (
            late[:5])
        return min(p["seq"] for p in got.values())

    # Publishing took seqs 1..1050; each round takes 1,050 more.
    for rounds, fresh in ((1, False), (3, True)):
        wait_for(lambda: lowest(fresh) > rounds * count,
                 lambda: "not every product was signed again %d times: "
                 "the lowest seq is %d\n%s" % (
                     rounds, lowest(False), n.log_text()[-2000:]),
                 CONVERGE_S)
    log = after_last_start(n)
    assert log.count("signed 1000 summaries again") >= 3 \
        and log.count("signed 50 summaries again") >= 3, log[-2000:]
    assert n.status()["seq"] >= 4 * count
    n.answers("renewal rounds")


# ---- a store of an earlier layout -----------------------------------------

def oldstore(*args):
    r = subprocess.run([OLDSTORE] + list(args), capture_output=True,
                       text=True, timeout=CALL_TIMEOUT)
    assert r.returncode == 0, (args, r.stdout, r.stderr)


def test_store_of_schema_1_is_upgraded_in_place():
    """A store written before schema 2 (each current envelope in STORE_CUR
    as well as in the log: tests/oldstore puts a store back to it) is
    upgraded when weftd starts, once: the node then answers exactly as
    before, for its own products and a peer's, and goes on publishing and
    replicating."""
    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo", a)
    for name in ("anchor", "beacon", "cargo"):
        a.publish(write(name + ".yaml", doc(name, desc="the %s feed" % name)))
    a.ok("deprecate", "alpha/beacon", "--reason", "use cargo")
    a.publish(write("anchor2.yaml", doc("anchor", "1.1.0", desc="again")))
    b.publish(write("dock.yaml", doc("dock", desc="bravo's own")))
    converge([a, b], count=4)

    def view(n):
        st = n.ok("status")
        found = n.ok("search", "feed")["products"]
        for p in found:  # how long ago the domain was heard from: a clock
            assert p.pop("stale_s") >= 0, p
        return (st["catalog"], st["catalog_digest"], n.catalog_state(),
                found,
                n.ok("get", "alpha/beacon")["summary"],
                n.ok("get", "bravo/dock")["summary"])

    before = view(a)
    a.stop()
    b.stop()
    r = subprocess.run([OLDSTORE, a.dir], capture_output=True, text=True,
                       timeout=CALL_TIMEOUT)
    assert r.returncode == 0 and r.stdout.strip() == "4", (r.stdout, r.stderr)
    # It is schema 1 now, as a node of the earlier version left it.
    r = subprocess.run([OLDSTORE, a.dir], capture_output=True, text=True,
                       timeout=CALL_TIMEOUT)
    assert r.returncode == 1 and "not a schema 2 store" in r.stderr, r

    restart(a)
    assert "store upgraded to schema 2: 4 current summaries" in \
        after_last_start(a), after_last_start(a)
    assert view(a) == before
    a.stop()
    restart(a)
    assert "store upgraded" not in after_last_start(a)
    assert view(a) == before
    # A schema this weftd does not know (a newer one's) is refused, and
    # nothing is changed: it starts once the schema is one it knows.
    a.stop()
    oldstore("--schema", "3", a.dir)
    code, err = a.try_start(None, "--listen", a.peer_url)
    assert code != 0 and "the store is of schema '3'" in err, (code, err)
    oldstore("--schema", "2", a.dir)
    restart(a)
    assert "store upgraded" not in after_last_start(a)
    assert view(a) == before
    # A damaged store whose seq is behind its log: publishing refuses
    # rather than sign a second summary under a seq a product points at.
    a.stop()
    oldstore("--seq", "alpha", "3", a.dir)
    restart(a)
    rc, out, err = a.weft("publish", write("cargo3.yaml",
                                           doc("cargo", "3.0.0")))
    assert rc != 0 and "cargo3.yaml: store" in err, (rc, out, err)
    assert "its log already holds seq 4" in a.log_text(), a.log_text()[-800:]
    assert view(a) == before
    a.stop()
    oldstore("--seq", "alpha", "5", a.dir)
    restart(a)
    # Publishing and the mesh go on from the upgraded store.
    r2 = a.publish(write("cargo2.yaml", doc("cargo", "2.0.0")))[0]
    restart(b)
    converge([a, b], count=4)
    assert holds(b, "alpha/cargo", version="2.0.0", hash=r2["hash"])
    assert a.catalog_state() == b.catalog_state()

if __name__ == "__main__":
    main(globals())
