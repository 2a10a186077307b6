"""Lineage and subscriptions. Lineage across three nodes: raw data on a, a derived product on b that
takes it as input, a report on c built on b's. Every node walks the same
graph up and down; a deprecation upstream shows in `lineage`, `get` and
search results on every node; an input that names nothing held is
reported."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import main, write  # noqa: E402
from test_mesh import CONVERGE_S, converge, mesh_node  # noqa: E402
from harness import wait_for  # noqa: E402


def product(name, inputs=()):
    y = "data-product:\n  name: %s\n  version: 1.0.0\n  owner: o\n" % name
    if inputs:
        y += "  inputs:\n" + "".join("    - %s\n" % i for i in inputs)
    return y


def lineage(n, pid, *args):
    doc = n.ok("lineage", pid, *args)
    return {(x["dir"], x["id"]): x for x in doc["nodes"]}, doc


def test_lineage_across_three_nodes():
    a = mesh_node("a", "raw")
    b = mesh_node("b", "mid", a)
    c = mesh_node("c", "top", b)
    nodes = [a, b, c]
    a.publish(write("events.yaml", product("events")))
    b.publish(write("sessions.yaml", product(
        "sessions", ["raw/events", "clicks"])))   # clicks: not held anywhere
    c.publish(write("report.yaml", product("report", ["mid/sessions"])))
    c.publish(write("summary.yaml", product("summary", ["report"])))
    converge(nodes, count=4)

    for n in nodes:
        got, doc = lineage(n, "mid/sessions")
        assert set(got) == {("root", "mid/sessions"), ("up", "raw/events"),
                            ("down", "top/report"), ("down", "top/summary")}, (
            n.name, sorted(got))
        assert got[("down", "top/summary")]["depth"] == 2
        assert got[("down", "top/summary")]["via"] == "top/report"
        assert doc["unresolved"] == ["clicks"], doc
        up, _ = lineage(n, "top/summary", "--up")
        assert {k for k in up if k[0] == "up"} == {
            ("up", "top/report"), ("up", "mid/sessions"),
            ("up", "raw/events")}, sorted(up)
        short, _ = lineage(n, "top/summary", "--up", "--depth", "1")
        assert {k for k in short if k[0] == "up"} == {("up", "top/report")}

    # Deprecating the raw data marks it on every node, and the products
    # built on it say so in get and in search results.
    a.ok("deprecate", "raw/events", "--reason", "replaced",
         "--sunset", "2027-01-31", "--replaced-by", "raw/events2")

    def marked():
        for n in nodes:
            up, _ = lineage(n, "top/summary", "--up")
            if up[("up", "raw/events")]["flag"] != "deprecated":
                return False
        return True

    wait_for(marked, "the deprecation did not reach every node", CONVERGE_S)
    for n in nodes:
        g = n.get("top/summary")
        assert g["upstream_flags"] == [
            {"id": "raw/events", "why": "deprecated", "depth": 3}], g
        hits = n.ok("search", "report")["products"]
        assert hits[0]["id"] == "top/report", hits
        assert hits[0]["upstream_flags"][0]["id"] == "raw/events", hits
    rc, out, err = c.weft("lineage", "top/summary", "--up")
    assert rc == 0 and "! deprecated" in out, out
    rc, out, err = c.weft("lineage", "nope/none")
    assert rc == 1 and "no such product" in err, err
    rc, out, err = c.weft("lineage", "top/summary", "--depth", "99")
    assert rc == 2 and "--depth" in err, err


def test_watch_on_one_node_sees_publishes_on_another():
    import json
    import select
    import signal
    import subprocess
    import time
    from harness import WEFT, _env

    a = mesh_node("a", "alpha")
    b = mesh_node("b", "bravo", a)
    watchers = []
    try:
        for args in (["--json", "watch", "tag:gold"], ["--json", "watch"]):
            watchers.append(subprocess.Popen(
                [WEFT, "--data", b.dir] + args, stdout=subprocess.PIPE, bufsize=0,
                stderr=subprocess.PIPE, env=_env()))
        # The watchers are registered once their first answer came back;
        # a publish now is news for both.
        time.sleep(0.5)
        a.publish(write("g.yaml", product("gilded").replace(
            "  owner: o\n", "  owner: o\n  tags: [gold]\n")))
        a.publish(write("p.yaml", product("plain")))
        a.ok("deprecate", "alpha/gilded", "--reason", "old")
        wanted = {0: [("new", "alpha/gilded"), ("deprecated", "alpha/gilded")],
                  1: [("new", "alpha/gilded"), ("new", "alpha/plain"),
                      ("deprecated", "alpha/gilded")]}
        for i, w in enumerate(watchers):
            got = []
            deadline = time.monotonic() + CONVERGE_S
            while len(got) < len(wanted[i]) and time.monotonic() < deadline:
                ready, _, _ = select.select(
                    [w.stdout], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    break
                line = w.stdout.readline()
                if not line:
                    break
                e = json.loads(line)
                got.append((e["event"], e["product"]["id"]))
            assert got == wanted[i], (i, got, w.poll())
    finally:
        for w in watchers:
            if w.poll() is None:
                os.kill(w.pid, signal.SIGTERM)
            w.wait(timeout=10)
            w.stdout.close()
            w.stderr.close()
    b.answers("watchers that went away")
    # A malformed watch query: the column, exit 2.
    rc, out, err = b.weft("watch", "colour:x")
    assert rc == 2 and "column 1" in err, err


if __name__ == "__main__":
    main(globals())
