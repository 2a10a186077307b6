"""Air-gapped transfer: weft export on one node, weft import on another.
What one domain signed arrives intact on another; any altered byte, and
any summary of a domain signed by a key other than the one bound to that
domain, refuses the whole bundle."""

import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (WEFT, Node, main, mp_unpack, tmpdir,  # noqa: E402
                     weft_sign, write)

BUNDLE_PREFIX = "weft/bundle/v1"


def doc(name, version="1.0.0", words="alpha"):
    return ("data-product:\n  name: %s\n  version: %s\n  owner: team-%s\n"
            "  description: %s data for testing\n  tags: [%s]\n"
            % (name, version, name, words, words))


def domain_with_products(domain, names=("orders", "claims")):
    n = Node(domain).start(domain)
    for i, name in enumerate(names):
        n.publish(write("%s-%s.yaml" % (domain, name), doc(name)))
    return n


def export(node, name):
    path = os.path.join(tmpdir(), name)
    out = node.ok("export", "-o", path)
    assert out["file"] == path and out["bytes"] == os.path.getsize(path), out
    return path, out


def same_products(a, b, domain):
    """Requires b's view of domain to equal a's, product by product."""
    mine = a.products("--domain", domain)
    theirs = b.products("--domain", domain)
    assert set(theirs) == set(mine), "%s lists %s, %s has %s" % (
        b.name, sorted(theirs), a.name, sorted(mine))
    key = a.status()["key"]
    for pid, p in mine.items():
        for f in ("hash", "seq", "version", "status", "owner", "domain",
                  "name", "issued"):
            assert theirs[pid][f] == p[f], "%s %s: %r on %s, %r on %s" % (
                pid, f, theirs[pid][f], b.name, p[f], a.name)
        got = b.get(pid)
        assert got["hash"] == p["hash"], pid
        assert got["descriptor"] is not None, "%s: no descriptor on %s" % (
            pid, b.name)
        assert got["descriptor"] == a.get(pid)["descriptor"], pid
        assert got["summary"]["origin"] == key, pid


def test_export_import_roundtrip():
    a = domain_with_products("a")
    f, out = export(a, "a.bundle")
    assert out["entries"] == 2, out
    b = Node("b").start("b")
    res = b.ok("import", f)
    assert (res["added"], res["skipped"], res["exporter"]) == (2, 0, "a"), res
    same_products(a, b, "a")
    st = b.status()
    assert (st["products"], st["catalog"]) == (0, 2), st
    rc, doc_, err = b.weft("search", "alpha", json=True)
    assert {p["id"] for p in doc_["products"]} == {"a/orders", "a/claims"}
    # Importing again adds nothing.
    res = b.ok("import", f)
    assert (res["added"], res["skipped"]) == (0, 2), res
    rc, out, err = b.weft("import", f)
    assert rc == 0 and "imported 0 summaries from a bundle of domain 'a' (2 already held)" in out, out
    # B speaks only for b.
    rc, d, err = b.weft("deprecate", "a/orders", "--reason", "x", json=True)
    assert rc == 1 and d["code"] == "EDOMAIN", d
    assert "a/orders" in err, err
    # An update travels; the older bundle is then a replay and changes nothing.
    a.publish(write("orders2.yaml", doc("orders", "1.1.0")))
    a.ok("deprecate", "a/claims", "--reason", "merged into orders")
    f2, _ = export(a, "a2.bundle")
    res = b.ok("import", f2)
    assert (res["added"], res["skipped"], res["exporter"]) == (2, 0, "a"), res
    same_products(a, b, "a")
    res = b.ok("import", f)
    assert res["added"] == 0, "an older bundle replaced newer summaries"
    same_products(a, b, "a")
    assert b.get("a/orders", "1.0.0")["version"] == "1.0.0"
    # A node importing its own products back adds nothing.
    res = a.ok("import", f2)
    assert res["added"] == 0, res
    # B's own products and A's go together in B's export, and on to C.
    b.publish(write("b.yaml", doc("ledger", words="beta")))
    fb, out = export(b, "b.bundle")
    assert out["entries"] == 3, out
    c = Node("c").start("c")
    assert c.ok("import", fb)["added"] == 3
    same_products(a, c, "a")
    same_products(b, c, "b")
    # The catalog digest is kept as summaries change: b got a's products,
    # then their updates, then published its own; c took the end state in
    # one import. Same current summaries, same digest, after a restart too.
    assert b.status()["catalog_digest"] == c.status()["catalog_digest"]
    assert a.status()["catalog_digest"] != c.status()["catalog_digest"]
    c.stop()
    c.start("c")
    assert b.status()["catalog_digest"] == c.status()["catalog_digest"]


def test_export_to_stdout():
    a = domain_with_products("a", ("one",))
    rc, out, err = a.weft("export")  # stdout is a pipe here, not a tty
    assert rc == 0 and len(out) > 0, err
    path = os.path.join(tmpdir(), "stdout.bundle")
    with open(path, "wb") as fh:
        rc = subprocess.run([WEFT, "--data", a.dir, "export"], stdout=fh,
                            timeout=120).returncode
    assert rc == 0
    b = Node("b").start("b")
    assert b.ok("import", path)["added"] == 1
    with open(path, "rb") as fh:
        assert b.ok("import", "-", input=fh.read())["skipped"] == 1


def bundle_layout(data):
    """Where things are in a bundle file: {name: (offset, length)}."""
    outer = mp_unpack(data)
    body, sig = outer["bundle"], outer["sig"]
    inner = mp_unpack(bytes(body), body.offset)
    where = {"outer sig": (sig.offset, len(sig)),
             "bundle bytes": (body.offset, len(body)),
             "bundle key": (inner["key"].offset, 32)}
    for i, e in enumerate(inner["entries"]):
        env = mp_unpack(bytes(e["env"]), e["env"].offset)
        where["entry %d summary" % i] = (env["sum"].offset, len(env["sum"]))
        where["entry %d summary sig" % i] = (env["sig"].offset, 64)
        if e["desc"] is not None:
            where["entry %d descriptor" % i] = (e["desc"].offset,
                                                len(e["desc"]))
    return where


def flipped(data, pos):
    out = bytearray(data)
    out[pos] ^= 0xFF
    return bytes(out)


def reseal(data, seed):
    """Re-signs a (modified) bundle as the holder of seed would: the bundle
    key becomes seed's public key and the outer signature is recomputed."""
    from harness import ed25519_public
    where = bundle_layout(data)
    out = bytearray(data)
    k, _ = where["bundle key"]
    out[k:k + 32] = ed25519_public(seed)
    b, blen = where["bundle bytes"]
    s, _ = where["outer sig"]
    out[s:s + 64] = weft_sign(seed, BUNDLE_PREFIX, bytes(out[b:b + blen]))
    return bytes(out)


def assert_refused(b, data, what, before):
    path = write("bad.bundle", data)
    rc, out, err = b.weft("import", path)
    assert rc != 0, "import of %s: exit 0 (%s)" % (what, out.strip())
    assert err.startswith("weft: import: "), err
    st = b.answers("an import of %s" % what)
    assert st["catalog"] == len(before) and b.quick_state() == before, (
        "import of %s changed the catalog" % what)
    return err


def test_altered_bundles_are_refused_whole():
    a = domain_with_products("a")
    f, _ = export(a, "a.bundle")
    with open(f, "rb") as fh:
        data = fh.read()
    b = Node("b").start("b")
    b.publish(write("b.yaml", doc("ledger")))
    before = b.catalog_state()
    where = bundle_layout(data)
    positions = {"first byte": 0, "last byte": len(data) - 1,
                 "middle of the file": len(data) // 2}
    for name, (off, n) in sorted(where.items()):
        positions["middle of " + name] = off + n // 2
    positions["first byte of entry 1 summary sig"] = where[
        "entry 1 summary sig"][0]
    for what, pos in sorted(positions.items(), key=lambda x: x[1]):
        assert_refused(b, flipped(data, pos), "a bundle with the byte at %d "
                       "(%s) flipped" % (pos, what), before)
    assert_refused(b, data[:len(data) // 2], "half a bundle", before)
    assert_refused(b, data + b"\x00", "a bundle with a trailing byte", before)
    assert_refused(b, b"", "an empty file", before)
    rc, out, err = b.weft("import", os.path.join(tmpdir(), "missing.bundle"))
    assert rc == 2 and "missing.bundle" in err, err
    assert b.catalog_state() == before
    # The genuine bundle still imports.
    assert b.ok("import", f)["added"] == 2
    same_products(a, b, "a")


def test_resealed_bundles_with_forged_entries_are_refused():
    # Whoever holds any key can make a bundle's outer signature verify; it
    # is the signature of each summary, and the hash binding each
    # descriptor to its summary, that must catch an altered entry.
    a = domain_with_products("a")
    f, _ = export(a, "a.bundle")
    with open(f, "rb") as fh:
        data = fh.read()
    b = Node("b").start("b")
    before = b.catalog_state()
    seed = hashlib.sha256(b"weft test forger").digest()
    where = bundle_layout(data)
    for what, checks in (("entry 1 summary sig", ("entry 1",)),
                         ("entry 1 descriptor", ("entry 1", "hash")),
                         ("entry 1 summary", ("entry 1",)),
                         ("entry 0 summary sig", ("entry 0",))):
        off, n = where[what]
        forged = reseal(flipped(data, off + n // 2), seed)
        err = assert_refused(b, forged, "a resealed bundle with its %s "
                             "altered" % what, before)
        for c in checks:
            assert c in err, "refusing a forged %s: %r should say %r" % (
                what, err, c)
    # Entries moved between products: the descriptor of entry 0 in entry 1.
    o0, n0 = where["entry 0 descriptor"]
    o1, n1 = where["entry 1 descriptor"]
    assert n0 == n1, "the two descriptors should have the same size"
    out = bytearray(data)
    out[o1:o1 + n1] = data[o0:o0 + n0]
    err = assert_refused(b, reseal(bytes(out), seed),
                         "a bundle with a descriptor swapped in", before)
    assert "entry 1" in err, err
    assert b.catalog_state() == before


def test_summary_signed_by_another_key_for_a_bound_domain_is_refused():
    b = domain_with_products("b", ("ledger",))
    # C also calls itself "b", with its own key.
    c = Node("c").start("b")
    c.publish(write("c.yaml", doc("impostor")))
    assert c.status()["key"] != b.status()["key"]
    fc, _ = export(c, "c.bundle")
    before = b.catalog_state()
    rc, out, err = b.weft("import", fc)
    assert rc == 1, (
        "import of a bundle signed for b by another key: exit %d" % rc)
    assert "'b'" in err and "key" in err, err
    assert b.catalog_state() == before
    rc, d, err = b.weft("import", fc, json=True)
    assert d["ok"] is False and d["code"] == "EDOMAIN", d
    # A third domain that learned b's key first refuses C's "b" the same
    # way: first seen wins.
    d_ = Node("d").start("d")
    fb, _ = export(b, "b.bundle")
    assert d_.ok("import", fb)["added"] == 1
    before = d_.catalog_state()
    rc, out, err = d_.weft("import", fc)
    assert rc == 1 and d_.catalog_state() == before, (rc, err)
    # A bundle of b's and the impostor's summaries together is refused whole.
    e = Node("e").start("e")
    e.ok("import", fc)  # e has not seen b: the impostor's key binds to "b"
    rc, out, err = e.weft("import", fb)
    assert rc == 1, "e bound b to C's key, so B's bundle must be refused"
    assert set(e.products()) == {"b/impostor"}, e.products()


if __name__ == "__main__":
    main(globals())
