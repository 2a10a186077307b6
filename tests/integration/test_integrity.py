"""Integrity rules of publishing and importing: a summary that starts far
over its size cap is trimmed rather than failing its batch; a bundle is
bound to its exporter's key; a summary newer than the descriptor a node
holds shows the descriptor as not held; a descriptor must be a weft model
of its summary; future summaries are refused and expired ones kept (shown
expired); an id keeps its kind and its source document; a contract that
moves to another product leaves the first; statuses, deprecation reasons
and replacements are checked; and a first start without a domain creates
nothing.

Bundles of domains that no weftd runs are made here in Python (the
Forger): its own Ed25519 key, its own normalized models, summaries and
bundles, signed the way weft signs them."""

import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Node, conformance, ed25519_public, main,  # noqa: E402
                     mp_pack, mp_unpack, snapshot, snapshot_diff, tmpdir,
                     weft_sign, weftd_cli, write)
from test_bundle import doc, export, reseal, same_products  # noqa: E402

SUMMARY_PREFIX = "weft/summary/v1"
BUNDLE_PREFIX = "weft/bundle/v1"
SUMMARY_MAX = 4096  # WEFT_SUMMARY_MAX
SUMMARY_TTL = 90 * 24 * 3600  # PROTO_SUMMARY_TTL
DAY = 24 * 3600  # how far ahead of the node's clock a summary may be issued
STATUSES = "proposed, draft, active, deprecated or retired"
VOLATILE = ("weftd.lock", "lock.mdb")  # change under a running node


def blake(b):
    """BLAKE2b-256, the body hash of a descriptor's canonical bytes."""
    return hashlib.blake2b(b, digest_size=32).digest()


def seed_of(label):
    return hashlib.sha256(("weft integrity test " + label).encode()).digest()


class Forger:
    """A domain that exists only here: a key, and summaries and bundles
    signed with it exactly as a weftd of that domain would sign them."""

    def __init__(self, domain, label=None):
        self.domain = domain
        self.seed = seed_of(label or domain)
        self.key = ed25519_public(self.seed)

    def model(self, name, version="1.0.0", **over):
        """A normalized model (the descriptor) of an article product."""
        m = {"classification": None, "contracts": [], "data_product": None,
             "description": "made by a test", "domain": self.domain,
             "format": "article", "formats": [],
             "id": "%s/%s" % (self.domain, name), "inputs": [],
             "interfaces": [], "kind": "product", "limitations": None,
             "name": name, "owner": "team-" + name,
             "quality": {"accuracy": None, "checks": 0, "completeness": None,
                         "freshness_s": None},
             "schemas": [], "sla": [], "slug": name,
             "source": {"data-product": {"name": name, "version": version,
                                         "owner": "team-" + name}},
             "source_id": None, "status": "active", "tags": ["forged"],
             "usage": None, "version": version}
        m.update(over)
        return m

    def summary(self, name, body, version="1.0.0", seq=1, issued=None,
                expires=None, size=0):
        """A summary (as weft's proto_summary_build makes it) of product
        name whose descriptor (of size bytes) hashes to body."""
        issued = int(time.time()) if issued is None else issued
        return {"v": 1, "kind": "product", "origin": self.key,
                "domain": self.domain,
                "id": "%s/%s" % (self.domain, name), "name": name,
                "version": version, "seq": seq, "issued": issued,
                "expires": (issued + SUMMARY_TTL if expires is None
                            else expires),
                "status": "active", "body": body, "desc": "made by a test",
                "owner": "team-" + name, "class": None,
                "quality": {"accuracy": None, "completeness": None,
                            "freshness_s": None},
                "deprecation": None, "tags": ["forged"], "ifaces": [],
                "formats": [], "schemas": [], "fields": [], "inputs": [],
                "contracts": [], "ports": [], "size": size}

    def envelope(self, summary):
        sb = mp_pack(summary)
        assert len(sb) <= SUMMARY_MAX
        return mp_pack({"sig": weft_sign(self.seed, SUMMARY_PREFIX, sb),
                        "sum": sb})

    def entry(self, name, desc=None, version="1.0.0", seq=1, issued=None,
              expires=None):
        """A bundle entry: desc (a model, or any value to encode) signed by
        a summary whose body hash matches it."""
        if desc is None:
            desc = self.model(name, version)
        db = mp_pack(desc)
        s = self.summary(name, blake(db), version, seq, issued, expires,
                         len(db))
        return {"env": self.envelope(s), "desc": db}

    def bundle(self, entries, domain=None):
        """A bundle of entries, exported (and signed) by this domain, or
        claiming to be domain's while signed by this key."""
        inner = mp_pack({"format": "weft-bundle", "v": 1,
                         "domain": domain or self.domain, "key": self.key,
                         "created": int(time.time()), "entries": entries})
        return mp_pack({"bundle": inner,
                        "sig": weft_sign(self.seed, BUNDLE_PREFIX, inner)})


def rewrap(data, forger, strip_desc=()):
    """The entries of bundle data, unchanged (or with the descriptors of
    the ids in strip_desc dropped), in a bundle exported by forger."""
    outer = mp_unpack(data)
    inner = mp_unpack(bytes(outer["bundle"]))
    assert mp_pack(inner) == bytes(outer["bundle"]), "not canonical"
    for e in inner["entries"]:
        env = mp_unpack(bytes(e["env"]))
        if mp_unpack(bytes(env["sum"]))["id"] in strip_desc:
            e["desc"] = None
    return forger.bundle(inner["entries"])


def read(path):
    with open(path, "rb") as f:
        return f.read()


def refused(node, data, what, rc_want=None):
    """Imports data into node, which must refuse it and change nothing;
    returns stderr."""
    before = node.quick_state()
    files = snapshot(node.dir, VOLATILE)
    path = write("refused.bundle", data)
    rc, out, err = node.weft("import", path)
    assert rc != 0, "import of %s: exit 0 (%s)" % (what, out.strip())
    if rc_want is not None:
        assert rc == rc_want, "import of %s: exit %d, want %d (%s)" % (
            what, rc, rc_want, err.strip())
    assert err.startswith("weft: import: "), err
    node.answers("an import of %s" % what)
    assert node.quick_state() == before, (
        "import of %s changed the catalog" % what)
    diff = snapshot_diff(files, snapshot(node.dir, VOLATILE))
    assert not diff, "import of %s changed the data directory:\n%s" % (
        what, diff)
    return err


def search_ids(node, *words):
    return [p["id"] for p in node.ok("search", *words)["products"]]


# ---- 1. a summary far over its cap is trimmed, the batch kept -----------


def fat_names(prefix, n, width=60):
    return ["%s%02d" % (prefix, i) + "q" * (width - len(prefix) - 2)
            for i in range(n)]


def fat_document():
    """An article product whose first summary would be tens of KB: 32 tags,
    64 schemas of 64 fields, 64 formats, 64 interfaces and 64 inputs, every
    name 60 characters. The first tag is 69 bytes with a two-byte
    character across the 64-byte cut."""
    tags = ["t" * 63 + "\u00e9" + "tail"] + fat_names("tag", 31)
    schemas = fat_names("schema", 64)
    formats = fat_names("format", 64)
    ifaces = fat_names("iface", 64)
    inputs = fat_names("input", 64)
    fields = [fat_names("s%02df" % i, 64) for i in range(64)]
    desc = "fat " + "lorem ipsum " * 200
    y = ["data-product:", "  name: fat", "  version: 1.0.0",
         "  owner: team-fat", '  description: "%s"' % desc,
         "  tags: [%s]" % ", ".join('"%s"' % t for t in tags), "  schemas:"]
    for s, fm, fs in zip(schemas, formats, fields):
        y += ["    - name: %s" % s, "      format: %s" % fm,
              "      fields: [%s]" % ", ".join(fs)]
    y.append("  interfaces:")
    y += ["    - type: %s" % i for i in ifaces]
    y.append("  inputs:")
    y += ["    - name: %s" % i for i in inputs]
    return "\n".join(y) + "\n", dict(tags=tags, schemas=schemas,
                                     formats=formats, ifaces=ifaces,
                                     inputs=inputs, fields=fields, desc=desc)


def test_oversized_summary_is_trimmed_and_the_batch_kept():
    text, want = fat_document()
    n = Node("s").start("s")
    fat = write("fat.yaml", text)
    thin = write("thin.yaml", doc("thin"))
    rc, d, err = n.weft("publish", "--dry-run", fat, json=True)
    assert rc == 0 and d["results"][0]["ok"], (rc, d, err)
    assert n.status()["catalog"] == 0
    # The fat document first, then an ordinary one, in one call (one batch).
    rc, d, err = n.weft("publish", fat, thin, json=True)
    assert rc == 0, "publish of a fat and a thin document: exit %d: %s" % (
        rc, err)
    res = d["results"]
    assert [(r["ok"], r.get("id")) for r in res] == [
        (True, "s/fat"), (True, "s/thin")], res
    assert n.status()["catalog"] == 2
    g = n.get("s/fat")
    assert g["hash"] == res[0]["hash"] and g["seq"] == res[0]["seq"], g
    s = g["summary"]
    # The summary keeps the first names of each list, in order, within
    # the caps (32 tags, 64 names of at most 64 bytes), and at least one
    # of each (a 60-character name fits many times in 1,900 bytes).
    lists = (("tags", ["t" * 63] + want["tags"][1:], 32),
             ("schemas", want["schemas"], 64),
             ("formats", want["formats"], 64),
             ("ifaces", want["ifaces"], 64),
             ("inputs", want["inputs"], 64),
             ("fields", want["fields"][0], 64))
    for key, full, cap in lists:
        got = s[key]
        assert 1 <= len(got) <= cap, "summary %s: %d names" % (key, len(got))
        assert got == full[:len(got)], (
            "summary %s is not the first names of the document: %r"
            % (key, got[:3]))
    assert s["tags"][0] == "t" * 63, (
        "a tag cut at 64 bytes must not split a character: %r"
        % s["tags"][0])
    assert len(s["desc"].encode()) <= 480 and want["desc"].startswith(
        s["desc"]), s["desc"]
    raw = n.call("get", id="s/fat")
    assert raw["ok"] is True, raw
    size = len(mp_pack(raw["product"]["summary"]))
    assert size <= SUMMARY_MAX, "the fat summary is %d bytes" % size
    # The descriptor is whole.
    dsc = g["descriptor"]
    assert dsc["tags"] == want["tags"], dsc["tags"][:2]
    assert [x["name"] for x in dsc["schemas"]] == want["schemas"]
    assert [[f["name"] for f in x["fields"]] for x in dsc["schemas"]] == \
        want["fields"]
    assert [x["type"] for x in dsc["interfaces"]] == want["ifaces"]
    assert [x["name"] for x in dsc["inputs"]] == want["inputs"]
    assert dsc["formats"] == want["formats"]
    assert dsc["source"]["data-product"]["description"] == want["desc"]
    rc, out, err = n.weft("get", "s/fat")
    assert rc == 0 and "descriptor (as published)" in out, (rc, err)
    # The thin one is there as usual, and search finds both.
    assert n.get("s/thin")["descriptor"] is not None
    assert search_ids(n, "alpha") == ["s/thin"]
    assert search_ids(n, want["tags"][1]) == ["s/fat"]
    # A deprecation with the longest reason and replacement still fits.
    n.ok("deprecate", "s/fat", "--reason", "r" * 1024, "--replaced-by",
         "s/" + "x" * 198)
    dep = n.get("s/fat")["deprecation"]
    assert dep["reason"] == "r" * 1024, dep
    # A fat contract attached to a product: the product's summary, made
    # from it and the contract together, is trimmed the same way when the
    # contract re-signs it.
    y = ["apiVersion: v3.0.2", "kind: DataContract", "id: fatk",
         "name: fat contract", "version: 1.0.0", "status: active",
         "dataProduct: thin",
         "tags: [%s]" % ", ".join(fat_names("ktag", 40)), "schema:"]
    kfields = [fat_names("k%02df" % i, 64) for i in range(64)]
    for name, fs in zip(fat_names("kschema", 64), kfields):
        y += ["  - name: %s" % name, "    properties:"]
        y += ["      - name: %s" % f for f in fs]
    seq = n.get("s/thin")["seq"]
    rc, d, err = n.weft("publish", write("fatk.yaml", "\n".join(y) + "\n"),
                        write("thin2.yaml", doc("thin2")), json=True)
    assert rc == 0 and [r["ok"] for r in d["results"]] == [True, True], (
        rc, err)
    t = n.get("s/thin")
    assert t["seq"] > seq and t["summary"]["contracts"] == ["s/fatk"], t
    assert t["summary"]["fields"][0] == kfields[0][0], t["summary"]["fields"]
    assert "s/thin" in search_ids(n, kfields[0][0])
    for pid in ("s/thin", "s/fatk"):
        size = len(mp_pack(n.call("get", id=pid)["product"]["summary"]))
        assert size <= SUMMARY_MAX, "%s: summary of %d bytes" % (pid, size)
    # The fat summaries travel in a bundle like any other.
    f, out = export(n, "s.bundle")
    b = Node("b").start("b")
    assert b.ok("import", f)["added"] == 4
    same_products(n, b, "s")


# ---- 2. a bundle is bound to its exporter's key --------------------------


def test_bundle_claiming_a_known_domain_with_another_key_is_refused():
    a = Node("a").start("a")
    a.publish(write("o.yaml", doc("orders")), write("c.yaml", doc("claims")))
    fa, _ = export(a, "a.bundle")
    b = Node("b").start("b")
    res = b.ok("import", fa)
    assert (res["added"], res["exporter"]) == (2, "a"), res
    # A publishes an update: a bundle of it, re-signed by another key but
    # still claiming domain a, must be refused although every entry in it
    # is A's genuine, signed summary.
    a.publish(write("o2.yaml", doc("orders", "1.1.0")))
    fa2, _ = export(a, "a2.bundle")
    data2 = read(fa2)
    mallory = Forger("mallory")
    forged = reseal(data2, mallory.seed)
    err = refused(b, forged, "a bundle of domain a signed by another key", 1)
    assert "'a'" in err and "key" in err, err
    rc, d, err = b.weft("import", write("f.bundle", forged), json=True)
    assert rc == 1 and d["ok"] is False and d["code"] == "EDOMAIN", d
    assert b.get("a/orders")["version"] == "1.0.0"
    # Nor may a bundle claim to be B's own.
    refused(b, mallory.bundle([], domain="b"),
            "an empty bundle claiming B's own domain", 1)
    refused(b, mallory.bundle([], domain="a"),
            "an empty bundle claiming domain a", 1)
    # The same genuine entries re-wrapped by a domain never seen before
    # are accepted: each entry carries its own signature.
    courier = Forger("courier")
    wrapped = write("courier.bundle", rewrap(data2, courier))
    res = b.ok("import", wrapped)
    assert (res["added"], res["skipped"], res["exporter"]) == (
        1, 1, "courier"), res
    same_products(a, b, "a")
    c = Node("c").start("c")
    rc, out, err = c.weft("import", wrapped)
    assert rc == 0 and out.startswith(
        "imported 2 summaries from a bundle of domain 'courier'"), (rc, out,
                                                                    err)
    same_products(a, c, "a")
    # "courier" is now bound to its key on C, like any domain.
    refused(c, reseal(read(wrapped), seed_of("not the courier")),
            "a courier bundle signed by another key", 1)
    # And B's export, with A's entries, goes on to C.
    fb, _ = export(b, "b.bundle")
    res = c.ok("import", fb)
    assert (res["exporter"], res["added"]) == ("b", 0), res


# ---- 3. a newer summary without its descriptor ---------------------------


def test_newer_summary_without_descriptor_hides_the_older_descriptor():
    a = Node("a").start("a")
    a.publish(write("o.yaml", doc("orders")), write("c.yaml", doc("claims")))
    fa, _ = export(a, "a.bundle")
    b = Node("b").start("b")
    assert b.ok("import", fa)["added"] == 2
    old = b.get("a/orders")
    assert old["descriptor"]["version"] == "1.0.0"
    a.publish(write("o2.yaml", doc("orders", "1.1.0", words="beta")))
    fa2, _ = export(a, "a2.bundle")
    courier = Forger("courier")
    stripped = rewrap(read(fa2), courier, strip_desc=("a/orders",))
    res = b.ok("import", write("stripped.bundle", stripped))
    assert (res["added"], res["skipped"]) == (1, 1), res
    g = b.get("a/orders")
    assert (g["version"], g["hash"]) == ("1.1.0", a.get("a/orders")["hash"])
    assert g["descriptor"] is None, (
        "a/orders 1.1.0 is held without its descriptor, but get returns "
        "one of version %r" % (g["descriptor"] or {}).get("version"))
    rc, out, err = b.weft("get", "a/orders")
    assert rc == 0, err
    assert "descriptor    not held by this node" in out, out
    assert "descriptor (as published)" not in out and "1.0.0" not in out, out
    # The older version is still held, and asked for by version.
    g1 = b.get("a/orders", "1.0.0")
    assert g1["version"] == "1.0.0" and g1["descriptor"] == old["descriptor"]
    rc, d, err = b.weft("get", "a/orders", "--version", "1.1.0", json=True)
    assert rc == 1 and d["code"] == "ENOTFOUND", (rc, d)
    # What B exports says so, and C takes it as it is.
    fb, out = export(b, "b.bundle")
    assert out["entries"] == 2, out
    c = Node("c").start("c")
    res = c.ok("import", fb)
    assert (res["added"], res["exporter"]) == (2, "b"), res
    assert c.get("a/orders")["descriptor"] is None
    assert c.get("a/orders")["hash"] == g["hash"]
    assert c.get("a/claims")["descriptor"] == a.get("a/claims")["descriptor"]
    rc, out, err = c.weft("get", "a/orders")
    assert rc == 0 and "descriptor    not held by this node" in out, out
    assert search_ids(c, "beta") == ["a/orders"]
    # A's later update, with its descriptor, brings it back everywhere.
    a.publish(write("o3.yaml", doc("orders", "1.2.0")))
    fa3, _ = export(a, "a3.bundle")
    for n in (b, c):
        n.ok("import", fa3)
        assert n.get("a/orders")["descriptor"] == a.get(
            "a/orders")["descriptor"], n.name


# ---- 4. a descriptor must be a weft model of its summary -----------------


def test_descriptor_that_is_not_a_model_of_its_summary_is_refused():
    evil = Forger("evil")
    b = Node("b").start("b")
    b.publish(write("l.yaml", doc("ledger")))
    good = evil.model("x")
    bad = {
        "only its id": {"id": "evil/x"},
        "no source": {k: v for k, v in good.items() if k != "source"},
        "a source that is not a map": dict(good, source="evil/x"),
        "another id": evil.model("y"),
        "another domain": dict(good, domain="other"),
        "another kind": dict(good, kind="contract"),
        "another version": evil.model("x", "2.0.0"),
        "a string": "evil/x",
        "an array": ["evil/x"],
        "an integer": 7,
        "nil, encoded as bytes": None,
    }
    for what, desc in bad.items():
        e = evil.entry("x", desc=desc) if desc is not None else None
        if e is None:
            db = mp_pack(None)
            e = {"env": evil.envelope(evil.summary("x", blake(db))),
                 "desc": db}
        err = refused(b, evil.bundle([e]), "a descriptor that is %s" % what)
        assert "entry 0" in err and "evil/x" in err, (what, err)
        assert "not a weft model" in err, (what, err)
        for args in (("get", "evil/x"), ("get", "evil/x", "--version",
                                          "1.0.0")):
            rc, out, err = b.weft(*args)
            assert rc == 1 and "evil/x" in err, (what, args, rc, err)
        b.answers("get after refusing a descriptor that is %s" % what)
    # In a bundle with good entries, one bad descriptor refuses them all.
    mixed = evil.bundle([evil.entry("y", seq=2), evil.entry("x", desc={
        "id": "evil/x"})])
    err = refused(b, mixed, "a good entry and a bad descriptor")
    assert "entry 1" in err, err
    # A map with just the five keys compared (id, domain, kind, version
    # and a source map) is not a whole normalized model. Whether or not
    # the node takes it, it must keep answering, and get, get --version
    # and export must work.
    thin = {"id": "evil/t", "domain": "evil", "kind": "product",
            "version": "1.0.0", "source": {}}
    rc, out, err = b.weft("import", write("thin.bundle", evil.bundle([
        evil.entry("t", desc=thin, seq=3)])))
    b.answers("an import of a five-key descriptor")
    for args in (("get", "evil/t"), ("get", "evil/t", "--version", "1.0.0")):
        r = b.weft(*args)
        assert r[0] == (0 if rc == 0 else 1), (rc, args, r)
        b.answers(" ".join(args))
    b.ok("export", "-o", os.path.join(tmpdir(), "b.bundle"))
    # The genuine model of the same summary is taken, and reads back.
    res = b.ok("import", write("good.bundle", evil.bundle([
        evil.entry("x")])))
    assert (res["added"], res["exporter"]) == (1, "evil"), res
    g = b.get("evil/x")
    assert g["descriptor"] == good, g["descriptor"]
    rc, out, err = b.weft("get", "evil/x")
    assert rc == 0 and "descriptor (as published)" in out, out
    assert "evil/x" in search_ids(b, "forged")


# ---- 5. future summaries; expired ones are history --------------------


def test_future_summaries_are_refused_and_expired_ones_kept():
    b = Node("b").start("b")
    tempo = Forger("tempo")
    now = int(time.time())
    cases = [
        ("issued two days ahead", dict(issued=now + 2 * DAY), "future"),
        ("issued a day and ten minutes ahead",
         dict(issued=now + DAY + 600), "future"),
    ]
    for what, times, says in cases:
        err = refused(b, tempo.bundle([tempo.entry("x", **times)]),
                      "a summary %s" % what)
        assert says in err and "tempo/x" in err, (what, err)
        # One such entry refuses a bundle with good ones.
        refused(b, tempo.bundle([tempo.entry("y", seq=2),
                                 tempo.entry("x", **times)]),
                "a good summary and one %s" % what)
    assert b.status()["catalog"] == 0
    # None of the refusals bound "tempo" to its key: another key may
    # still claim it first.
    other = Forger("tempo", "another tempo key")
    res = b.ok("import", write("t.bundle", other.bundle([other.entry("z")])))
    assert (res["added"], res["exporter"]) == (1, "tempo"), res
    # Expired summaries are still their domain's signed word (and a
    # domain's history must stay whole to replicate): they are taken in
    # and shown as expired. Some clock skew is accepted.
    ok = other.bundle([
        other.entry("old", issued=now - SUMMARY_TTL + 3600, seq=2),
        other.entry("ahead", issued=now + 3600, seq=3),
        other.entry("gone", issued=now - 100 * DAY, expires=now - 10 * DAY,
                    seq=4),
        other.entry("ending", issued=now - SUMMARY_TTL, expires=now,
                    seq=5)])
    res = b.ok("import", write("ok.bundle", ok))
    assert res["added"] == 4, res
    got = {k: p.get("expired", False)
           for k, p in b.products("--domain", "tempo").items()}
    assert got == {"tempo/z": False, "tempo/old": False,
                   "tempo/ahead": False, "tempo/gone": True,
                   "tempo/ending": True}, got
    rc, out, err = b.weft("get", "tempo/gone")
    assert rc == 0 and "(expired: its domain has not signed it again)" \
        in out, (rc, out, err)


# ---- 6. an id keeps its kind and its source document ---------------------


ODPS = """apiVersion: v1.0.0
kind: DataProduct
id: %s
name: %s
version: %s
status: active
"""

ODCS = """apiVersion: v3.0.2
kind: DataContract
id: %s
name: %s contract
version: %s
status: active
%sschema:
  - name: %s
    properties:
      - name: %s
        logicalType: string
"""


def contract(cid, version, schema="things", field="thing_id",
             data_product=None):
    dp = "dataProduct: %s\n" % data_product if data_product else ""
    return ODCS % (cid, cid, version, dp, schema, field)


def publish_refused(n, path, rc_want, *says):
    before = n.quick_state()
    rc, d, err = n.weft("publish", path, json=True)
    assert rc == rc_want, "publish %s: exit %d, want %d: %s" % (
        os.path.basename(path), rc, rc_want, err)
    r = d["results"][0]
    assert r["ok"] is False, r
    for s in says:
        assert s in r["error"], "%r should say %r" % (r["error"], s)
    assert n.quick_state() == before, "a refused publish changed the catalog"
    return r["error"]


def test_an_id_keeps_its_kind():
    n = Node("s").start("s")
    c = n.publish(conformance("odcs/kafka-schema.odcs.yaml"))[0]
    assert (c["id"], c["kind"], c["version"]) == ("s/orders", "contract",
                                                  "0.0.1"), c
    orders = write("orders.yaml", doc("orders", "1.0.0"))
    publish_refused(n, orders, 1, "s/orders", "already a contract",
                    "a product")
    for args in ((orders,), ("--dry-run", orders)):
        rc, out, err = n.weft("publish", *args)
        assert rc == 1 and "contract" in err and "product" in err, (
            args, rc, err)
    g = n.get("s/orders")
    assert (g["kind"], g["version"]) == ("contract", "0.0.1"), g
    # The other way round: a product's id cannot become a contract.
    n.publish(write("ledger.yaml", doc("ledger")))
    publish_refused(n, write("lc.yaml", contract("ledger", "2.0.0")), 1,
                    "s/ledger", "already a product", "a contract")
    # In a batch, the refused document does not stop the others.
    rc, d, err = n.weft("publish", orders, write("ok.yaml", doc("fine")),
                        json=True)
    assert rc == 1 and [r["ok"] for r in d["results"]] == [False, True], d
    assert n.get("s/fine")["kind"] == "product"
    # The contract itself still takes new versions.
    n.publish(write("k2.yaml", contract("orders", "0.1.0")))
    assert n.get("s/orders")["version"] == "0.1.0"


def test_two_odps_documents_cannot_share_a_product_id():
    n = Node("s").start("s")
    n.publish(conformance("odps/simple-data-product.odps.yaml"))
    uuid = "064c4630-8aad-4dc0-ba95-0f69940e6b18"
    other = "9b2f4f0e-1111-4222-8333-444455556666"
    before = n.get("s/simple-data-product")
    # Another document (another id) whose name gives the same slug.
    for name in ("Simple Data Product", "simple-data-product!"):
        err = publish_refused(
            n, write("other.yaml", ODPS % (other, name, "v1.1.0")), 1,
            "s/simple-data-product")
        assert uuid in err and other in err, err
    assert n.get("s/simple-data-product")["hash"] == before["hash"]
    # The same document id takes a new version.
    r = n.publish(write("same.yaml", ODPS % (uuid, "Simple Data Product",
                                             "v1.1.0")))[0]
    assert r["changed"] and r["version"] == "1.1.0", r
    # And two ODCS contracts likewise.
    n.publish(write("k1.yaml", contract("k-one", "1.0.0")))
    publish_refused(n, write("k2.yaml", contract("K One", "2.0.0")), 1,
                    "s/k-one", "k-one", "K One")


# ---- 7. a contract that moves to another product leaves the first --------


def test_contract_moved_to_another_product_leaves_the_first():
    n = Node("s").start("s")
    n.publish(write("p1.yaml", doc("p1")), write("p2.yaml", doc("p2")))
    field = "zebrafield"
    n.publish(write("k1.yaml", contract("kc", "1.0.0", "zebras", field,
                                        "p1")))
    s1 = n.get("s/p1")["summary"]
    assert s1["contracts"] == ["s/kc"] and s1["fields"] == [field], s1
    assert set(search_ids(n, field)) == {"s/p1", "s/kc"}
    seq1 = n.get("s/p1")["seq"]
    # K moves to p2.
    n.publish(write("k2.yaml", contract("kc", "1.1.0", "zebras", field,
                                        "p2")))
    p1 = n.get("s/p1")
    assert p1["seq"] > seq1, "p1 was not re-signed when K left it"
    s1 = p1["summary"]
    assert s1["contracts"] == [] and s1["fields"] == [] and \
        s1["schemas"] == [], (
            "K moved to p2 but p1 still carries it: %r" % s1)
    s2 = n.get("s/p2")["summary"]
    assert s2["contracts"] == ["s/kc"] and s2["fields"] == [field], s2
    assert set(search_ids(n, field)) == {"s/p2", "s/kc"}
    # A new revision of the same version naming no product leaves p2 too.
    n.publish(write("k3.yaml", contract("kc", "1.1.0", "zebras", field)))
    s2 = n.get("s/p2")["summary"]
    assert s2["contracts"] == [] and s2["fields"] == [], s2
    assert search_ids(n, field) == ["s/kc"]
    # Republishing p1 does not bring it back.
    n.publish(write("p1b.yaml", doc("p1", "1.0.1")))
    assert n.get("s/p1")["summary"]["contracts"] == []
    # Back to p1 in one step.
    n.publish(write("k4.yaml", contract("kc", "1.2.0", "zebras", field,
                                        "p1")))
    assert n.get("s/p1")["summary"]["contracts"] == ["s/kc"]
    assert n.get("s/p2")["summary"]["contracts"] == []


# ---- 8. statuses ---------------------------------------------------------


def test_unknown_status_is_refused():
    n = Node("s").start("s")
    docs = {
        "article": "data-product:\n  name: a\n  version: 1.0.0\n"
                   "  status: frozen\n",
        "odps": ODPS.replace("status: active", "status: frozen") % (
            "2d5c5f1a-0000-4000-8000-000000000001", "b", "1.0.0"),
        "odcs": contract("c", "1.0.0").replace("status: active",
                                               "status: frozen"),
    }
    for form, text in docs.items():
        path = write(form + ".yaml", text)
        err = publish_refused(n, path, 2, "frozen", STATUSES)
        rc, out, err = n.weft("publish", path)
        assert rc == 2 and "frozen" in err and STATUSES in err, (form, err)
    assert n.status()["catalog"] == 0
    # The known ones, in any case, are taken.
    for i, st in enumerate(("proposed", "Draft", " deprecated ", "RETIRED")):
        r = n.publish(write("ok%d.yaml" % i, "data-product:\n  name: ok%d\n"
                            "  version: 1.0.0\n  status: '%s'\n" % (i, st)))
        assert n.get(r[0]["id"])["status"] == st.strip().lower(), st


# ---- 9. deprecate --reason and --replaced-by -----------------------------


def test_deprecation_reason_and_replacement_limits():
    n = Node("s").start("s")
    n.publish(write("p.yaml", doc("p")))
    before = n.quick_state()
    for what, args, says in (
            ("a 1025-byte reason", ["--reason", "x" * 1025], "1025 bytes"),
            ("a reason of 1025 bytes in 513 characters",
             ["--reason", "\u00e9" * 512 + "x"], "1025 bytes"),
            ("an empty reason", ["--reason", ""], "empty"),
            ("a reason of spaces", ["--reason", "  \t"], "empty"),
            ("itself as its replacement",
             ["--reason", "x", "--replaced-by", "s/p"], "replace itself"),
            ("a 201-byte replacement id",
             ["--reason", "x", "--replaced-by", "s/" + "q" * 199],
             "201 bytes")):
        rc, d, err = n.weft("deprecate", "s/p", *args, json=True)
        assert rc == 2, "deprecate with %s: exit %d, want 2" % (what, rc)
        assert d["ok"] is False and says in d["error"], (what, d)
        assert n.quick_state() == before, "deprecate with %s changed s/p" % (
            what)
    rc, out, err = n.weft("deprecate", "s/p", "--reason", "x" * 1025)
    assert rc == 2 and "1024" in err, err
    # 1024 bytes (in 512 characters) is the limit, and is kept whole.
    item = n.ok("deprecate", "s/p", "--reason", "\u00e9" * 512,
                "--replaced-by", "s/" + "q" * 198)
    assert item["status"] == "deprecated", item
    assert item["deprecation"]["reason"] == "\u00e9" * 512, item
    assert item["deprecation"]["replaced_by"] == "s/" + "q" * 198, item
    n.ok("deprecate", "s/p", "--reason", "y" * 1024)
    assert n.get("s/p")["deprecation"]["reason"] == "y" * 1024


# ---- 10. a first start without a domain creates nothing -----------------


def test_new_data_directory_without_domain_is_not_created():
    for rel in ("fresh", os.path.join("no", "such", "parent")):
        d = os.path.join(tmpdir(), rel)
        rc, out, err = weftd_cli("run", "--data", d)
        assert rc == 1, "weftd run --data %s without --domain: exit %d" % (
            rel, rc)
        assert "--domain" in err and d in err, err
        assert not os.path.exists(d), "a refused start created %s" % rel
    assert not os.path.exists(os.path.join(tmpdir(), "no"))
    # With a domain it starts, and later without one.
    n = Node("fresh").start("fresh")
    n.stop()
    n.start()
    assert n.status()["domain"] == "fresh"


if __name__ == "__main__":
    main(globals())
