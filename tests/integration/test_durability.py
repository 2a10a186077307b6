"""What weft publish reported as done survives kill -9, and a restarted
node never reuses a seq."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node, main, write  # noqa: E402


def doc(name, version="1.0.0", tags="x"):
    return ("data-product:\n  name: %s\n  version: %s\n  owner: ops\n"
            "  tags: [%s]\n" % (name, version, tags))


def test_publish_survives_kill9():
    n = Node("seller").start("seller")
    r = n.publish(write("a.yaml", doc("durable")))[0]
    n.kill9()  # at once: no clean shutdown, no chance to flush later
    assert os.path.exists(n.sock), "kill -9 should leave the socket file"
    n.start()  # a stale socket file does not stop a restart
    p = n.get("seller/durable")
    assert (p["hash"], p["seq"], p["version"]) == (
        r["hash"], r["seq"], r["version"]), (p, r)
    assert n.status()["seq"] == r["seq"]
    r2 = n.publish(write("b.yaml", doc("second")))[0]
    assert r2["seq"] == r["seq"] + 1, "seq after restart %d, want %d" % (
        r2["seq"], r["seq"] + 1)


def test_no_seq_reuse_after_repeated_crashes():
    n = Node("seller").start("seller")
    seen = []
    for i in range(5):
        r = n.publish(write("v%d.yaml" % i, doc("churn", "1.%d.0" % i)))[0]
        seen.append(r["seq"])
        if i % 2 == 0:
            dep = n.ok("deprecate", "seller/churn", "--reason", "r%d" % i)
            seen.append(dep["seq"])
        n.kill9()
        n.start()
        p = n.get("seller/churn")
        assert p["seq"] == seen[-1], "after kill -9: seq %d, want %d" % (
            p["seq"], seen[-1])
    assert seen == list(range(1, len(seen) + 1)), (
        "seqs must be 1, 2, 3, ... without gaps or reuse: %r" % seen)
    # Every version is still there.
    for i in range(5):
        assert n.get("seller/churn", "1.%d.0" % i)["version"] == "1.%d.0" % i


def test_status_changes_survive_kill9():
    n = Node("seller").start("seller")
    n.publish(write("a.yaml", doc("fading")))
    d = n.ok("deprecate", "seller/fading", "--reason", "old", "--sunset",
             "2027-06-30")
    n.kill9()
    n.start()
    p = n.get("seller/fading")
    assert (p["status"], p["seq"]) == ("deprecated", d["seq"]), p
    assert p["deprecation"]["sunset"] == "2027-06-30", p
    t = n.ok("retire", "seller/fading")
    n.kill9()
    n.start()
    assert n.get("seller/fading")["status"] == "retired"
    assert n.status()["seq"] == t["seq"]


if __name__ == "__main__":
    main(globals())
