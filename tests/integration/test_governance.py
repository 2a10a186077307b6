"""Governance: council keys, signed policies, verdicts on publish and on
receipt, re-judging, spreading through the mesh, local rules.

A council of keys made by `weft governance keygen`; nodes started with
--governance-key/--governance-threshold; policies signed with `weft
governance sign` and handed to a node with `weft governance publish`.
Checks: K-1 signatures, a stranger's signature and a rolled-back version
are refused (and counted); the anchor cannot be changed by flags; a
policy published on one node of five reaches all five and `weft why
--json` agrees on all five; a new policy re-judges everything (a
quarantine lifts); a local policy that loosens a rule is refused at
start, one that tightens applies. Every rule at its boundary is covered
by tests/policy_test.c; here each kind of verdict is seen end to end.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node, main, tmpdir, wait_for, weft_cli, write  # noqa
from test_mesh import CONVERGE_S, converge, mesh_node  # noqa: E402

ARTICLE = os.path.join(
    os.environ.get("WEFT_CONFORMANCE") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
        "shared", "conformance"), "article", "governance.yaml")

RULES = """
  rules:
    required_fields: {fields: [owner, classification], severity: reject}
    classification: {severity: quarantine}
    name_pattern: {pattern: "^[a-z][a-z0-9-]*$", severity: warn}
    deprecation: {severity: reject}
"""


def policy_text(rules=RULES, extra_classes=""):
    """The article's governance document as written, plus weft's rules."""
    with open(ARTICLE) as f:
        text = f.read()
    return text.rstrip("\n") + "\n" + rules


def keygen(name):
    path = os.path.join(tmpdir(), name + ".key")
    rc, out, err = weft_cli("governance", "keygen", "-o", path)
    assert rc == 0, (rc, out, err)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600", path
    return path


def sign(text, version, *keys, expect=0):
    """Signs text (a policy) as version with keys; returns the bundle."""
    src = write("policy-v%d.yaml" % version, text)
    out = os.path.join(tmpdir(), "policy-v%d-%d.bundle" % (version, len(keys)))
    argv = ["governance", "sign", src, "--version", str(version), "-o", out]
    for k in keys:
        argv += ["-k", k]
    rc, so, se = weft_cli(*argv)
    assert rc == expect, (argv, rc, so, se)
    return out


def council_args(*keys, k=1):
    a = []
    for key in keys:
        a += ["--governance-key", key + ".pub"]
    return a + ["--governance-threshold", str(k)]


def show(n):
    return n.ok("governance", "show")


def product(name, cls=None, iface_controls=None, status=None, owner="o"):
    y = "data-product:\n  name: %s\n  version: 1.0.0\n" % name
    if owner:
        y += "  owner: %s\n" % owner
    if cls:
        y += "  classification: %s\n" % cls
    if status:
        y += "  status: %s\n" % status
    if iface_controls is not None:
        y += "  interfaces:\n    - type: rest-api\n      url: https://x/%s\n" % (
            name)
        for c in iface_controls:
            y += "      %s: yes-declared\n" % c
    return y


# ---- the council and its signatures ---------------------------------------


def test_threshold_stranger_and_rollback_are_refused():
    k1, k2, k3, stranger = (keygen(x) for x in ("k1", "k2", "k3", "s"))
    n = Node("n").start("sales", *council_args(k1, k2, k3, k=2))
    st = show(n)
    assert st["threshold"] == 2 and len(st["council"]) == 3, st
    assert st["version"] == 0 and st["policy"] is None, st

    # K-1 signatures: refused, counted, nothing changes.
    rc, out, err = n.weft("governance", "publish", sign(policy_text(), 2, k1))
    assert rc != 0 and "1 valid council signature, 2 needed" in err, err
    # Enough council keys, and one stranger: refused as a whole.
    rc, out, err = n.weft("governance", "publish",
                          sign(policy_text(), 2, k1, k2, stranger))
    assert rc != 0 and "not a council key" in err, err
    st = show(n)
    assert st["version"] == 0 and st["refused"] == 2, st

    n.ok("governance", "publish", sign(policy_text(), 2, k1, k3))
    st = show(n)
    assert st["version"] == 2 and len(st["signers"]) == 2, st
    assert set(st["policy"]["rules"]) == {
        "required_fields", "classification", "name_pattern", "deprecation",
        "quality_thresholds"}, st["policy"]["rules"]
    # Rolled back (version 1) or replayed (version 2): refused.
    for v in (1, 2):
        rc, out, err = n.weft("governance", "publish",
                              sign(policy_text(), v, k2, k3))
        assert rc == 1 and "not above the version held (2)" in err, err
    assert show(n)["refused"] == 4 and show(n)["version"] == 2

    # The anchor is the first start's: other flags are ignored (and said
    # so), the stored policy survives a restart.
    n.stop()
    n.restart(*council_args(k1, k2, k=1))
    assert "ignored: they differ from this node's trust anchor" in \
        n.log_text()
    st = show(n)
    assert st["version"] == 2 and st["threshold"] == 2, st
    assert len(st["council"]) == 3, st
    # A bundle that is not one: refused with what is wrong.
    junk = write("junk.bundle", "not a policy")
    rc, out, err = n.weft("governance", "publish", junk)
    assert rc == 2 and "weft: governance:" in err, err
    n.answers("a junk policy")

    # Rotation: a policy naming a new council (k4, k5; one must sign) is
    # taken when the old council's threshold and the new one's signed it.
    k4, k5 = keygen("k4"), keygen("k5")
    rotate = ["--council-key", k4 + ".pub", "--council-key", k5 + ".pub",
              "--council-threshold", "1"]

    def rotation(version, *keys):
        src = write("rot-v%d.yaml" % version, policy_text())
        out = os.path.join(tmpdir(), "rot-v%d-%d.bundle" % (version,
                                                            len(keys)))
        argv = ["governance", "sign", src, "--version", str(version), "-o",
                out] + rotate
        for k in keys:
            argv += ["-k", k]
        rc, so, se = weft_cli(*argv)
        assert rc == 0, (rc, so, se)
        return out

    rc, out, err = n.weft("governance", "publish", rotation(3, k1, k2))
    assert rc != 0 and "new council" in err, err
    n.ok("governance", "publish", rotation(3, k1, k2, k4))
    st = show(n)
    assert st["version"] == 3 and st["threshold"] == 1, st
    assert len(st["council"]) == 2, st
    # The old council no longer speaks; the new one does, after a
    # restart too (the anchor is stored).
    rc, out, err = n.weft("governance", "publish",
                          sign(policy_text(), 4, k1, k2))
    assert rc != 0 and "not a council key" in err, err
    n.stop()
    n.restart(*council_args(k1, k2, k3, k=2))  # the old service file
    n.ok("governance", "publish", sign(policy_text(), 4, k5))
    assert show(n)["version"] == 4


def test_no_council_no_policy():
    n = Node("n").start("sales")
    k1 = keygen("k1")
    rc, out, err = n.weft("governance", "publish", sign(policy_text(), 1, k1))
    assert rc == 1 and "no governance keys" in err, err
    r = n.publish(write("x.yaml", product("x")))[0]
    assert r["verdict"] == "accepted", r
    why = n.ok("why", "sales/x")
    assert why["verdict"] == "accepted" and why["rules"] == [], why


# ---- verdicts ---------------------------------------------------------------


def test_verdicts_on_publish_list_get_and_why():
    k1 = keygen("k1")
    n = Node("n").start("sales", *council_args(k1))
    n.ok("governance", "publish", sign(policy_text(), 1, k1))

    # Accepted: classified, every interface declares what the level needs.
    ok = n.publish(write("ok.yaml", product(
        "orders", "confidential",
        ["authentication", "authorization", "encryption"])))[0]
    assert ok["verdict"] == "accepted" and ok["reasons"] == [], ok
    # Warned: a name the pattern does not like; kept and listed.
    w = n.publish(write("w.yaml", product("Orders2", "public")))[0]
    assert w["verdict"] == "warned", w
    assert w["reasons"][0].startswith("name_pattern (warn)"), w
    # Quarantined: an interface lacks encryption. Kept, hidden.
    q = n.publish(write("q.yaml", product(
        "leaky", "confidential", ["authentication", "authorization"])))[0]
    assert q["verdict"] == "quarantined", q
    assert "port 0 lacks encryption" in q["reasons"][0], q
    # Rejected: no classification. Not published at all; exit 1.
    rc, d, err = n.weft("publish", write("r.yaml", product("bare")),
                        json=True)
    assert rc == 1 and d["results"][0]["code"] == 22, (rc, d)
    assert "rejected by governance policy v1" in err, err
    assert "required_fields (reject): missing: classification" in err, err
    # --dry-run judges and stores nothing.
    rc, d, err = n.weft("publish", "--dry-run",
                        write("r2.yaml", product("bare2")), json=True)
    assert rc == 1 and "rejected" in err, (rc, d, err)
    d = n.ok("publish", "--dry-run", write("q2.yaml", product(
        "leaky2", "restricted", [])))
    assert d["results"][0]["verdict"] == "quarantined", d

    listed = n.products()
    assert set(listed) == {"sales/orders", "sales/orders2"}, set(listed)
    assert listed["sales/orders2"]["verdict"] == "warned"
    every = n.products("--all")
    assert set(every) == {"sales/orders", "sales/orders2", "sales/leaky"}
    assert every["sales/leaky"]["verdict"] == "quarantined"
    assert n.get("sales/leaky")["verdict"] == "quarantined"
    rc, out, err = n.weft("get", "sales/bare")
    assert rc == 1 and "no such product" in err, err

    why = n.ok("why", "sales/leaky")
    assert why["verdict"] == "quarantined" and why["version"] == 1, why
    rules = {r["rule"]: r for r in why["rules"]}
    assert rules["classification"]["outcome"] == "quarantine", rules
    assert rules["required_fields"]["outcome"] == "pass", rules
    rc, out, err = n.weft("why", "sales/leaky")
    assert rc == 0 and "quarantined (policy v1)" in out, out

    # A deprecation without a sunset and a replacement: rejected, and the
    # product stays as it was.
    rc, out, err = n.weft("deprecate", "sales/orders", "--reason", "old")
    assert rc == 1 and "deprecation (reject)" in err, err
    assert n.get("sales/orders")["status"] == "active"
    n.ok("deprecate", "sales/orders", "--reason", "old", "--sunset",
         "2027-01-31", "--replaced-by", "sales/orders2")
    assert n.get("sales/orders")["status"] == "deprecated"


# ---- the mesh -----------------------------------------------------------------


def test_policy_reaches_five_nodes_and_why_agrees_then_rejudges():
    k1, k2 = keygen("k1"), keygen("k2")
    anchor = council_args(k1, k2, k=2)
    names = ["a", "b", "c", "d", "e"]
    nodes = []
    for i, nm in enumerate(names):
        peers = [nodes[i - 1]] if i else []
        nodes.append(mesh_node(nm, "dom-" + nm, *peers, extra=anchor))
    # Before any policy: each publishes one product that a policy will
    # judge differently (no class; a confidential leak; a good one).
    docs = [product("p-" + nm, cls=("confidential" if i % 2 else None),
                    iface_controls=["authentication"])
            for i, nm in enumerate(names)]
    for n, y in zip(nodes, docs):
        r = n.publish(write("%s.yaml" % n.name, y))[0]
        assert r["verdict"] == "accepted", r
    converge(nodes, count=5)

    nodes[2].ok("governance", "publish", sign(policy_text(), 1, k1, k2))
    wait_for(lambda: all(show(n)["version"] == 1 for n in nodes),
             lambda: "policy v1 did not reach every node: %r" % (
                 [show(n)["version"] for n in nodes]), CONVERGE_S)
    ids = ["dom-%s/p-%s" % (nm, nm) for nm in names]
    first = {pid: nodes[0].ok("why", pid) for pid in ids}
    for n in nodes[1:]:
        for pid in ids:
            got = n.ok("why", pid)
            for k in ("verdict", "version", "rules", "id", "seq"):
                assert got[k] == first[pid][k], (n.name, pid, k, got,
                                                  first[pid])
    verdicts = {pid: first[pid]["verdict"] for pid in ids}
    assert verdicts == {ids[0]: "rejected", ids[1]: "quarantined",
                        ids[2]: "rejected", ids[3]: "quarantined",
                        ids[4]: "rejected"}, verdicts
    for n in nodes:
        assert set(n.products()) == set(), (n.name, n.products())
        assert set(n.products("--all")) == {ids[1], ids[3]}, n.name
        st = show(n)
        assert (st["quarantined"], st["rejected"]) == (2, 3), st

    # A new policy: classification only warns, required fields only
    # warn. Every node judges everything again; the quarantine lifts.
    v2 = policy_text(RULES.replace(
        "classification: {severity: quarantine}",
        "classification: {severity: warn}").replace(
        "severity: reject}\n    classification", "severity: warn}\n"
        "    classification", 1))
    nodes[4].ok("governance", "publish", sign(v2, 2, k1, k2))
    wait_for(lambda: all(show(n)["version"] == 2 for n in nodes),
             lambda: "policy v2 did not reach every node", CONVERGE_S)
    for n in nodes:
        listed = n.products()
        assert set(listed) == set(ids), (n.name, sorted(listed))
        assert all(p["verdict"] == "warned" for p in listed.values()), listed
        assert n.ok("why", ids[1])["version"] == 2


# ---- local rules ----------------------------------------------------------------


def test_local_policy_tightens_and_never_loosens():
    k1 = keygen("k1")
    n = Node("n").start("sales", *council_args(k1))
    n.ok("governance", "publish", sign(policy_text(
        RULES + "    max_descriptor_bytes: {limit: 100000}\n"), 1, k1))
    big = n.publish(write("big.yaml", product(
        "big", "public", ["authentication"])))[0]
    assert big["verdict"] == "accepted", big
    n.stop()

    # Looser than the global policy: a higher limit, a lower severity.
    loose = write("loose.yaml", "governance:\n  rules:\n"
                  "    max_descriptor_bytes: {limit: 500000}\n")
    rc, text = n.try_start("sales", "--local-policy", loose)
    assert rc != 0 and "loosens max_descriptor_bytes" in text, text
    weaker = write("weaker.yaml", "governance:\n  rules:\n"
                   "    max_descriptor_bytes: {limit: 300, "
                   "severity: quarantine}\n")
    rc, text = n.try_start("sales", "--local-policy", weaker)
    assert rc != 0 and "severity quarantine is below the global reject" \
        in text, text

    # Tighter: the node judges what it holds again at start.
    tight = write("tight.yaml", "governance:\n  rules:\n"
                  "    max_descriptor_bytes: {limit: 300}\n"
                  "    tag_pattern: {pattern: \"^[a-z]+$\"}\n")
    n.restart("--local-policy", tight)
    assert n.products() == {}, n.products()
    why = n.ok("why", "sales/big")
    assert why["verdict"] == "rejected" and why["local"] is True, why
    assert why["version"] == 1, why
    rules = {x["rule"]: x for x in why["rules"]}
    assert "above the limit 300" in rules["max_descriptor_bytes"]["reason"]
    assert rules["tag_pattern"]["outcome"] == "pass", rules
    rc, out, err = n.weft("publish", write("big2.yaml", product(
        "big2", "public", ["authentication"])))
    assert rc == 1 and "max_descriptor_bytes (reject)" in err, err
    assert show(n)["local"] is not None

    # Without the local file, the global policy alone applies again.
    n.stop()
    n.restart(*council_args(k1))
    assert set(n.products()) == {"sales/big"}, n.products()


if __name__ == "__main__":
    main(globals())
