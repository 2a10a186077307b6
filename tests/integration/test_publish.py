"""Publishing and reading back: every conformance document on a node of
its domain, the publish rules (unchanged, lower version, other domain,
dry run, stdin), versions, deprecation and retirement, and ODCS contracts
attaching to the products that reference them."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node, conformance, main, write  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ITEM_FIELDS = ("id", "domain", "name", "version", "seq", "status", "owner",
               "classification", "hash", "kind", "tags", "deprecation",
               "issued", "description")
GET_FIELDS = ITEM_FIELDS + ("summary", "descriptor")
RESULT_FIELDS = ("file", "ok", "code", "id", "name", "kind", "version", "seq",
                 "hash", "changed")

# Where each conformance document goes, and the id it must get. The
# article is customer-management's and two files say domain: seller; the
# others have no domain and take the publishing node's. The two domain-less
# ODPS files share one ODPS id (064c4630-...) but have different names, and
# a product id is domain/slug(name), so they are two products; the
# deprecated one is named "Customer 360" like the article's product, so it
# goes to seller (on customer-management it would be a lower version of the
# article's). ODCS contracts are named by their id; column-completeness,
# database-table-sla and full-example share one id (...553a), so
# database-table-sla (1.0.0) is published on seller before full-example
# (1.1.0) supersedes it, and column-completeness goes to
# customer-management.
CM = "customer-management"
CM_FILES = [
    ("article/customer-360.yaml", CM + "/customer-360", "product"),
    ("odcs/column-completeness.odcs.yaml",
     CM + "/53581432-6c55-4ba2-a65f-72344a91553a", "contract"),
    ("odcs/kafka-schema.odcs.yaml", CM + "/orders", "contract"),
    ("odps/simple-data-product.odps.yaml", CM + "/simple-data-product",
     "product"),
]
SELLER_FILES = [
    ("odps/customer-data-product.odps.yaml", "seller/customer-data-product",
     "product"),
    ("odcs/database-table-sla.odcs.yaml",
     "seller/53581432-6c55-4ba2-a65f-72344a91553a", "contract"),
    ("odcs/full-example.odcs.yaml",
     "seller/53581432-6c55-4ba2-a65f-72344a91553a", "contract"),
    ("odps/deprecated-data-product.odps.yaml", "seller/customer-360",
     "product"),
    ("odcs/kafka-server.odcs.yaml", "seller/abc123", "contract"),
    ("odcs/table-column.odcs.yaml",
     "seller/53581432-6c55-4ba2-a65f-72344a91553b", "contract"),
    ("odcs/postgresql-adventureworks-contract.odcs.yaml",
     "seller/6aeafdc1-ed62-4c8f-bf0a-da1061c98cdb", "contract"),
]


def odps(name, version="1.0.0", domain=None, extra=""):
    """A small ODPS v1 product document."""
    return ("apiVersion: v1.0.0\nkind: DataProduct\nid: %s\nname: %s\n"
            "version: %s\nstatus: active\n%s%s"
            % (name.lower().replace(" ", "-"), name, version,
               "domain: %s\n" % domain if domain else "", extra))


def search_ids(node, *words):
    """The ids `weft search WORDS --json` finds, best first."""
    doc = node.ok("search", *words)
    assert set(doc) == {"products", "total"}, "search --json: keys %r" % (
        sorted(doc))
    assert doc["total"] >= len(doc["products"]), doc
    return [p["id"] for p in doc["products"]]


def check_item(item, where):
    missing = [f for f in ITEM_FIELDS if f not in item]
    assert not missing, "%s: item lacks %s: %r" % (where, missing, item)
    assert HEX64.match(item["hash"]), "%s: hash %r" % (where, item["hash"])
    assert isinstance(item["seq"], int) and item["seq"] > 0, where


def publish_one(node, rel, want_id, kind, last_seq):
    """Publishes one conformance file; checks the result and get."""
    res = node.publish(conformance(rel))
    assert len(res) == 1, res
    r = res[0]
    missing = [f for f in RESULT_FIELDS if f not in r]
    assert not missing, "%s: result lacks %s: %r" % (rel, missing, r)
    assert r["file"] == conformance(rel), r
    assert r["id"] == want_id, "%s: id %r, want %r" % (rel, r["id"], want_id)
    assert r["kind"] == kind, "%s: kind %r, want %r" % (rel, r["kind"], kind)
    assert r["changed"] is True, "%s: first publish not changed: %r" % (rel, r)
    assert HEX64.match(r["hash"]), r
    assert r["seq"] == last_seq + 1, "%s: seq %r after %r" % (
        rel, r["seq"], last_seq)
    p = node.get(want_id)
    missing = [f for f in GET_FIELDS if f not in p]
    assert not missing, "get %s lacks %s" % (want_id, missing)
    assert p["hash"] == r["hash"], "get %s: hash %s, publish said %s" % (
        want_id, p["hash"], r["hash"])
    for f in ("id", "version", "seq", "kind", "name"):
        assert p[f] == r[f], "get %s: %s %r, publish said %r" % (
            want_id, f, p[f], r[f])
    assert p["domain"] == want_id.split("/")[0], p["domain"]
    assert p["summary"]["body"] == r["hash"], "summary body != hash"
    assert p["summary"]["seq"] == r["seq"]
    assert p["descriptor"] is not None, "get %s: no descriptor" % want_id
    assert p["descriptor"]["id"] == want_id
    assert p["descriptor"]["source"], "descriptor keeps the source document"
    return r


def test_conformance_documents_publish_and_read_back():
    cm = Node("cm").start(CM)
    seller = Node("seller").start("seller")
    final = {}
    for node, files in ((cm, CM_FILES), (seller, SELLER_FILES)):
        seq = 0
        for rel, want_id, kind in files:
            r = publish_one(node, rel, want_id, kind, seq)
            seq = r["seq"]
            final[want_id] = r
            if rel == "odcs/database-table-sla.odcs.yaml":
                sla_hash = r["hash"]

    # Specific values the documents carry.
    a = cm.get(CM + "/customer-360")
    assert (a["name"], a["version"], a["owner"], a["status"]) == (
        "customer-360", "1.2.0", "customer-domain-team", "active"), a
    assert a["summary"]["quality"] == {
        "accuracy": 98.7, "completeness": 99.5, "freshness_s": 300}, (
        a["summary"])
    assert set(a["summary"]["ifaces"]) == {"rest-api", "graphql", "streaming"}
    c = seller.get("seller/customer-data-product")
    assert (c["owner"], c["status"]) == ("john.doe@retailcorp.com", "draft"), c
    d = seller.get("seller/customer-360")
    assert (d["name"], d["version"]) == ("Customer 360", "2.0.0"), d
    s = cm.get(CM + "/simple-data-product")
    assert s["version"] == "1.0.0" and s["tags"] == ["test", "simple"], s
    f = seller.get("seller/53581432-6c55-4ba2-a65f-72344a91553a")
    assert (f["version"], f["classification"], f["owner"]) == (
        "1.1.0", "restricted", "daustin"), f
    # The superseded revision is still there, by version.
    old = seller.get("seller/53581432-6c55-4ba2-a65f-72344a91553a", "1.0.0")
    assert old["version"] == "1.0.0" and old["hash"] == sla_hash, old

    # list --json: {"products": [...]}, every product with its fields.
    for node, files in ((cm, CM_FILES), (seller, SELLER_FILES)):
        listed = node.products()
        want = {w for _, w, _ in files}
        assert set(listed) == want, "%s lists %s, want %s" % (
            node.name, sorted(listed), sorted(want))
        for pid, item in listed.items():
            check_item(item, "list " + pid)
            assert item["hash"] == final[pid]["hash"], pid
            assert item["seq"] == final[pid]["seq"], pid
        st = node.status()
        for k in ("domain", "key", "fingerprint", "products", "catalog",
                  "seq"):
            assert k in st, "status --json lacks %s: %r" % (k, st)
        assert st["domain"] == (CM if node is cm else "seller"), st
        assert HEX64.match(st["key"]), st
        assert st["products"] == len(want), st
        assert st["seq"] == len(files), st

    # search --json: the same {"products": [...]} shape, and the total.
    rc, doc, err = cm.weft("search", "customer", json=True)
    assert rc == 0, err
    assert set(doc) == {"products", "total"}, doc
    ids = [p["id"] for p in doc["products"]]
    assert CM + "/customer-360" in ids, ids
    for p in doc["products"]:
        check_item(p, "search " + p["id"])
    # Exact name first.
    ids = search_ids(cm, "customer-360")
    assert ids[0] == CM + "/customer-360", ids
    # A schema field name of a contract finds it.
    ids = set(search_ids(seller, "rcvr_cntry_code"))
    assert {"seller/53581432-6c55-4ba2-a65f-72344a91553a",
            "seller/53581432-6c55-4ba2-a65f-72344a91553b"} <= ids, ids
    # Every word must match; "two words in one argument" is two words.
    ids = search_ids(seller, "customer data")
    assert ids == ["seller/customer-data-product"], ids
    rc, out, err = seller.weft("list", "--domain", CM, json=True)
    assert rc == 0 and out == {"products": []}, (rc, out, err)


def test_search_without_hits():
    n = Node("seller").start("seller")
    n.publish(write("p.yaml", odps("Orders Daily")))
    rc, doc, err = n.weft("search", "nosuchwordanywhere", json=True)
    assert rc == 0 and doc == {"products": [], "total": 0}, (rc, doc, err)
    n.answers("a search without hits")
    rc, out, err = n.weft("search", "nosuchwordanywhere", "orders")
    assert rc == 0 and "no products" in out, (rc, out, err)
    n.answers("a search without hits")


def test_all_documents_in_one_publish():
    # One call, several files: one result per file, in order, one seq each.
    n = Node("cm").start(CM)
    paths = [conformance(rel) for rel, _, _ in CM_FILES]
    res = n.publish(*paths)
    assert [r["file"] for r in res] == paths, res
    assert [r["seq"] for r in res] == [1, 2, 3, 4], res
    assert [r["id"] for r in res] == [w for _, w, _ in CM_FILES], res
    rc, out, err = n.weft("publish", *paths)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 4, out
    assert all(ln.endswith("unchanged") for ln in lines), out


def test_many_files_in_several_batches():
    # More file bytes than the CLI sends in one request: several batches,
    # results still one per file and in order, seqs consecutive.
    n = Node("seller").start("seller")
    pad = ("#" + "p" * 1000 + "\n") * 2200  # ~2.2 MB of comments each
    paths = [write("big%d.yaml" % i, odps("Bulk %d" % i) + pad)
             for i in range(6)]
    bad = write("bad.yaml", "data-product:\n  name: x\n")
    args = paths[:3] + [bad] + paths[3:]
    rc, doc, err = n.weft("publish", *args, json=True)
    assert rc == 2, "one bad file among six good ones: exit %d" % rc
    res = doc["results"]
    assert [r["file"] for r in res] == args, [r["file"] for r in res]
    good = [r for r in res if r["file"] != bad]
    assert all(r["ok"] for r in good), good
    assert [r["seq"] for r in good] == [1, 2, 3, 4, 5, 6], good
    assert [r["id"] for r in good] == ["seller/bulk-%d" % i for i in range(6)]
    assert len(n.products()) == 6
    rc, out, err = n.weft("publish", *paths)
    assert rc == 0 and out.count("unchanged") == 6, out


def test_large_batch_through_the_helpers():
    # One request of 300 documents (more than the helpers' ring of 64 and
    # their 16-document minimum): bad ones of several kinds among them, a
    # product published twice (the later, higher version wins), and a
    # document over 256 KiB (its arena is dropped after it). Every result
    # is the one of its own file, in order; the good ones take seqs in
    # order; nothing of the bad ones is stored.
    n = Node("seller").start("seller")
    args, want = [], []
    for i in range(300):
        if i == 41:
            body, why = odps("Twice", version="1.0.0"), None
        elif i == 250:
            body, why = odps("Twice", version="1.1.0"), None
        elif i == 121:
            body, why = odps("Big One") + ("#" + "b" * 1000 + "\n") * 300, None
        elif i % 23 == 5:
            body, why = "data-product:\n  name: [unclosed\n", "yaml"
        elif i % 23 == 11:
            body, why = "data-product:\n  version: 1.0.0\n", "name"
        elif i % 23 == 17:
            body, why = odps("Foreign %d" % i, domain="other"), "domain"
        else:
            body, why = odps("Many %d" % i), None
        args.append(write("many%03d.yaml" % i, body))
        want.append(why)
    rc, doc, err = n.weft("publish", *args, json=True)
    assert rc == 2, "bad documents in the batch: exit %d" % rc
    res = doc["results"]
    assert [r["file"] for r in res] == args, "results out of order"
    seqs = []
    for r, path, why in zip(res, args, want):
        if why is None:
            assert r["ok"] is True, r
            seqs.append(r["seq"])
            continue
        assert r["ok"] is False, r
        assert os.path.basename(path) in r["error"], (path, r["error"])
        if why == "domain":
            assert "other" in r["error"], r["error"]
        if why == "name":
            assert "name" in r["error"], r["error"]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    ids = set(n.products())
    assert "seller/twice" in ids and "seller/big-one" in ids
    assert len(ids) == len(seqs) - 1, (len(ids), len(seqs))  # twice: one id
    assert n.get("seller/twice")["version"] == "1.1.0"
    assert not any(i.startswith("seller/foreign") for i in ids)


def test_summaries_signed_ahead_take_the_seqs_they_would_have():
    # Helpers build and sign each summary ahead, guessing its seq. In one
    # request: documents that take no seq (unchanged, refused), one that
    # takes more (a contract that re-signs the product it attaches to),
    # and the same product twice. Each result says the seq its summary
    # has, every seq is taken once, in order, and every summary the node
    # holds verifies (a bundle of them imports into a new node, which
    # checks each signature against its seq and content).
    n = Node("seller").start("seller")
    first = n.publish(write("kept.yaml", odps("Kept Same")))[0]
    docs, kinds = [], []
    for i in range(120):
        if i == 10:
            docs.append(write("ship.yaml", product_with_contract(
                "shipments-contract")))
        elif i == 30:
            docs.append(write("c.yaml", CONTRACT))  # re-signs shipments
        elif i == 20:
            docs.append(write("dup0.yaml", odps("Twice Over")))
        elif i == 61:
            docs.append(write("dup.yaml", odps("Twice Over", version="2.0.0")))
        elif i % 17 == 3:
            docs.append(write("kept.yaml", odps("Kept Same")))  # unchanged
        elif i % 17 == 9:
            docs.append(write("bad%d.yaml" % i, "data-product: [\n"))
        else:
            docs.append(write("s%03d.yaml" % i, odps("Signed Ahead %d" % i)))
    rc, doc, err = n.weft("publish", *docs, json=True)
    assert rc == 2, (rc, err)  # the bad ones
    res = doc["results"]
    seqs = [r["seq"] for r in res if r["ok"] and r["changed"]]
    # One seq each, in order, and one more, right after the contract's,
    # for the product it re-signs.
    c = [r["seq"] for r in res if r["ok"] and r["kind"] == "contract"][0]
    want = list(range(first["seq"] + 1, first["seq"] + len(seqs) + 2))
    assert seqs == sorted(seqs) and sorted(seqs + [c + 1]) == want, (
        seqs, c, want)
    assert n.status()["seq"] == want[-1], n.status()
    assert n.get("seller/shipments")["seq"] == c + 1
    for r in res:
        if r["ok"] and not r["changed"]:
            assert r["seq"] == first["seq"], r
    check_attached(n, "seller/shipments", "seller/shipments-contract")
    assert n.get("seller/twice-over")["version"] == "2.0.0"
    for r in res:
        if r["ok"] and r["changed"] and r["id"] != "seller/shipments":
            assert n.get(r["id"])["seq"] == r["seq"] or \
                r["id"] == "seller/twice-over", r
    bundle = os.path.join(n.dir, "..", "all.bundle")
    n.ok("export", "-o", bundle)
    m = Node("check").start("checker")
    got = m.ok("import", bundle)
    assert got["added"] == len(n.products()), (got, len(n.products()))
    assert m.products("--domain", "seller") == n.products(), "differs"


def test_identical_republish_is_unchanged():
    n = Node("seller").start("seller")
    p = write("p.yaml", odps("Orders Daily"))
    first = n.publish(p)[0]
    again = n.publish(p)[0]
    assert again["changed"] is False, again
    assert (again["seq"], again["hash"]) == (first["seq"], first["hash"]), (
        first, again)
    rc, out, err = n.weft("publish", p)
    assert rc == 0 and "unchanged" in out and "published" not in out, out
    assert n.get("seller/orders-daily")["seq"] == first["seq"]
    assert n.status()["seq"] == first["seq"], "an unchanged publish used a seq"


def test_lower_version_is_refused():
    n = Node("seller").start("seller")
    n.publish(write("v2.yaml", odps("Orders", "2.1.0")))
    before = n.catalog_state()
    low = write("v1.yaml", odps("Orders", "2.0.9"))
    rc, out, err = n.weft("publish", low)
    assert rc == 1, "lower version: exit %d, want 1 (%s)" % (rc, err)
    assert "lower" in err and "2.0.9" in err and "2.1.0" in err, err
    rc, doc, err = n.weft("publish", low, json=True)
    assert rc == 1
    r = doc["results"][0]
    assert r["ok"] is False and r["code"] == 12 and "lower" in r["error"], r
    assert r["file"] == low, r
    assert n.catalog_state() == before


def test_other_domain_is_refused():
    n = Node("seller").start("seller")
    rc, out, err = n.weft("publish", conformance("article/customer-360.yaml"))
    assert rc == 1, "other domain: exit %d, want 1 (%s)" % (rc, err)
    assert "customer-management" in err and "seller" in err, err
    rc, doc, err = n.weft("publish", "--dry-run",
                          conformance("article/customer-360.yaml"), json=True)
    assert rc == 1 and doc["results"][0]["code"] == 11, doc
    assert n.products() == {}
    # And the other way round: a node of customer-management refuses seller's.
    cm = Node("cm").start(CM)
    rc, out, err = cm.weft("publish",
                           conformance("odcs/full-example.odcs.yaml"))
    assert rc == 1 and "seller" in err and CM in err, err


def test_dry_run_stores_nothing():
    n = Node("seller").start("seller")
    p = write("p.yaml", odps("Dry Product"))
    rc, doc, err = n.weft("publish", "--dry-run", p, json=True)
    assert rc == 0, err
    assert doc["dry_run"] is True, doc
    r = doc["results"][0]
    assert r["ok"] is True and r["id"] == "seller/dry-product", r
    assert HEX64.match(r["hash"]), r
    assert n.products() == {}, "dry run stored something"
    assert n.status()["seq"] == 0
    rc, out, err = n.weft("get", "seller/dry-product")
    assert rc == 1, "dry-run product is gettable"
    # The hash a dry run reports is the one a real publish gets.
    assert n.publish(p)[0]["hash"] == r["hash"]
    # A bad document in a dry run is still reported.
    bad = write("bad.yaml", "data-product:\n  name: x\n")
    rc, doc, err = n.weft("publish", "--dry-run", bad, json=True)
    assert rc == 2 and doc["results"][0]["ok"] is False, doc
    rc, doc, err = n.weft("publish", p, json=True)
    assert doc["dry_run"] is False


def test_dry_run_reports_what_publish_would_do():
    # changed says whether a real publish would sign a new summary.
    n = Node("seller").start("seller")
    new = write("new.yaml", odps("Brand New"))
    rc, doc, err = n.weft("publish", "--dry-run", new, json=True)
    r = doc["results"][0]
    assert r["ok"] is True and r["changed"] is True, (
        "a dry run of a new product reports changed=%r, want true: %r"
        % (r["changed"], r))
    rc, out, err = n.weft("publish", "--dry-run", new)
    assert "unchanged" not in out, "dry run of a new product: %r" % out
    real = n.publish(new)[0]
    assert real["changed"] is True
    again = n.ok("publish", "--dry-run", new)["results"][0]
    assert again["changed"] is False and again["seq"] == real["seq"], again
    newer = write("newer.yaml", odps("Brand New", "1.1.0"))
    r = n.ok("publish", "--dry-run", newer)["results"][0]
    assert r["changed"] is True, r
    assert n.get("seller/brand-new")["version"] == "1.0.0"


def test_publish_from_stdin():
    n = Node("seller").start("seller")
    text = odps("Piped Product", "3.0.0")
    r = n.publish("-", input=text)[0]
    assert r["file"] == "-" and r["id"] == "seller/piped-product", r
    assert n.get("seller/piped-product")["hash"] == r["hash"]
    # The same bytes from a file are the same document.
    again = n.publish(write("p.yaml", text))[0]
    assert again["changed"] is False and again["hash"] == r["hash"], again


def test_batch_keeps_good_documents_and_reports_bad_ones():
    n = Node("seller").start("seller")
    good = write("good.yaml", odps("Good One"))
    bad = write("bad.yaml", "data-product:\n  version: 1.0.0\n")
    rc, doc, err = n.weft("publish", bad, good, json=True)
    assert rc == 2, "a batch with a bad document exits %d, want 2" % rc
    bad_r, good_r = doc["results"]
    assert bad_r["ok"] is False and "name" in bad_r["error"], bad_r
    assert good_r["ok"] is True and good_r["seq"] == 1, good_r
    assert "data-product.name" in err, err
    assert set(n.products()) == {"seller/good-one"}


def test_get_version_returns_that_version():
    n = Node("seller").start("seller")
    r1 = n.publish(write("v1.yaml", odps("Versions", "1.0.0",
                                         extra="tags: [old]\n")))[0]
    r2 = n.publish(write("v2.yaml", odps("Versions", "1.1.0",
                                         extra="tags: [new]\n")))[0]
    assert r2["seq"] == r1["seq"] + 1
    cur = n.get("seller/versions")
    assert (cur["version"], cur["hash"], cur["seq"]) == (
        "1.1.0", r2["hash"], r2["seq"]), cur
    old = n.get("seller/versions", "1.0.0")
    assert (old["version"], old["hash"], old["seq"]) == (
        "1.0.0", r1["hash"], r1["seq"]), old
    assert old["descriptor"]["version"] == "1.0.0"
    assert old["descriptor"]["tags"] == ["old"], old["descriptor"]
    # A leading v is the same version.
    assert n.get("seller/versions", "v1.0.0")["hash"] == r1["hash"]
    rc, doc, err = n.weft("get", "seller/versions", "--version", "9.9.9",
                          json=True)
    assert rc == 1 and doc["code"] == "ENOTFOUND", doc
    rc, out, err = n.weft("get", "--version", "1.0.0", "seller/versions")
    assert rc == 0 and r1["hash"] in out, out


def test_deprecate_and_retire():
    n = Node("seller").start("seller")
    n.publish(write("a.yaml", odps("Old Feed")))
    r = n.publish(write("b.yaml", odps("New Feed")))[0]
    before = n.get("seller/old-feed")

    rc, out, err = n.weft("deprecate", "seller/old-feed")
    assert rc == 2, "deprecate without --reason: exit %d, want 2" % rc
    assert "--reason" in err, err
    for bad in ("2027-13-01", "tomorrow", "30/06/2027", "2027-06-30x"):
        rc, out, err = n.weft("deprecate", "seller/old-feed", "--reason", "x",
                              "--sunset", bad)
        assert rc != 0, "--sunset %s accepted" % bad
        assert "sunset" in err, err
    rc, out, err = n.weft("deprecate", "seller/old-feed", "--reason", "x",
                          "--replaced-by", "no-slash")
    assert rc != 0 and "replaced-by" in err, err
    assert n.get("seller/old-feed")["seq"] == before["seq"], \
        "a refused deprecation changed the product"

    dep = n.ok("deprecate", "seller/old-feed", "--reason", "superseded",
               "--sunset", "2027-06-30", "--replaced-by", "seller/new-feed")
    assert dep["status"] == "deprecated", dep
    assert dep["seq"] == r["seq"] + 1, (dep, r)
    assert dep["deprecation"] == {"reason": "superseded",
                                  "sunset": "2027-06-30",
                                  "replaced_by": "seller/new-feed"}, dep
    got = n.get("seller/old-feed")
    assert (got["status"], got["seq"], got["hash"]) == (
        "deprecated", dep["seq"], before["hash"]), got
    assert got["deprecation"] == dep["deprecation"]
    rc, out, err = n.weft("deprecate", "seller/new-feed", "--reason", "x y")
    assert rc == 0 and "deprecated" in out and "seq" in out, out

    ret = n.ok("retire", "seller/old-feed")
    assert ret["status"] == "retired" and ret["seq"] == dep["seq"] + 2, ret
    assert n.get("seller/old-feed")["status"] == "retired"
    rc, out, err = n.weft("retire", "seller/old-feed")
    assert rc == 1, "retire twice: exit %d, want 1" % rc
    assert "already retired" in err, err
    rc, doc, err = n.weft("retire", "seller/old-feed", json=True)
    assert rc == 1 and doc == {"ok": False, "code": "ESTATE",
                               "error": doc["error"]}, doc
    rc, out, err = n.weft("deprecate", "seller/old-feed", "--reason", "x")
    assert rc == 1, "deprecating a retired product: exit %d" % rc
    rc, out, err = n.weft("retire", "seller/nope")
    assert rc == 1 and "no such product" in err, err
    # A retired product comes back only with a higher version.
    rc, out, err = n.weft("publish", write("c.yaml", odps(
        "Old Feed", extra="tags: [changed]\n")))
    assert rc == 1 and "retired" in err, err
    back = n.publish(write("d.yaml", odps("Old Feed", "2.0.0")))[0]
    assert n.get("seller/old-feed")["status"] == "active", back


def test_sunset_must_be_a_real_date():
    n = Node("seller").start("seller")
    n.publish(write("a.yaml", odps("Feed")))
    seq = n.get("seller/feed")["seq"]
    rc, out, err = n.weft("deprecate", "seller/feed", "--reason", "x",
                          "--sunset", "2027-02-30")
    assert rc == 2, ("--sunset 2027-02-30 (no such day): exit %d, want 2; "
                     "out %r" % (rc, out))
    assert n.get("seller/feed")["seq"] == seq


def test_get_unknown_id():
    n = Node("seller").start("seller")
    rc, out, err = n.weft("get", "seller/nothing")
    assert rc == 1, "get unknown: exit %d, want 1" % rc
    assert "seller/nothing" in err and "no such product" in err, err
    rc, doc, err = n.weft("get", "seller/nothing", json=True)
    assert rc == 1
    assert doc == {"ok": False, "code": "ENOTFOUND",
                   "error": "seller/nothing: no such product"}, doc
    rc, out, err = n.weft("get")
    assert rc == 2, "get without an ID: exit %d, want 2" % rc


CONTRACT = """apiVersion: v3.1.0
kind: DataContract
id: shipments-contract
name: shipments contract
version: 1.0.0
status: active
schema:
  - name: shipment_events
    classification: confidential
    properties:
      - name: parcel_barcode
        logicalType: string
      - name: carrier
        logicalType: string
        classification: restricted
"""


def product_with_contract(cid):
    return odps("Shipments", extra=(
        "outputPorts:\n  - name: events\n    type: tables\n"
        "    version: 1.0.0\n    contractId: %s\n" % cid))


def check_attached(n, pid, cid):
    p = n.get(pid)
    s = p["summary"]
    assert s["contracts"] == [cid], "contracts %r, want [%s]" % (
        s["contracts"], cid)
    assert s["schemas"] == ["shipment_events"], s["schemas"]
    assert {"parcel_barcode", "carrier"} <= set(s["fields"]), s["fields"]
    assert p["classification"] == "restricted", p["classification"]
    ids = search_ids(n, "parcel_barcode")
    assert pid in ids, "search by a contract field misses %s: %r" % (pid, ids)
    return p


def test_contract_published_after_product_attaches():
    n = Node("seller").start("seller")
    pr = n.publish(write("p.yaml", product_with_contract(
        "shipments-contract")))[0]
    p0 = n.get("seller/shipments")
    assert p0["summary"]["contracts"] == [] and p0["classification"] is None
    assert search_ids(n, "parcel_barcode") == []
    cr = n.publish(write("c.yaml", CONTRACT))[0]
    assert cr["id"] == "seller/shipments-contract" and cr["kind"] == "contract"
    p = check_attached(n, "seller/shipments", "seller/shipments-contract")
    # The product's summary was re-signed: a new seq, the same descriptor.
    assert p["seq"] > cr["seq"] and p["hash"] == pr["hash"], (p, pr, cr)


def test_contract_published_before_product_attaches():
    n = Node("seller").start("seller")
    n.publish(write("c.yaml", CONTRACT))
    n.publish(write("p.yaml", product_with_contract("shipments-contract")))
    check_attached(n, "seller/shipments", "seller/shipments-contract")


def test_conformance_contract_attaches_by_id():
    # The ODCS full example (domain seller) attached to a product whose
    # output port names its id.
    n = Node("seller").start("seller")
    n.publish(conformance("odcs/full-example.odcs.yaml"))
    n.publish(write("p.yaml", odps("Payments View", extra=(
        "outputPorts:\n  - name: tbl\n    type: tables\n    version: 1.0.0\n"
        "    contractId: 53581432-6c55-4ba2-a65f-72344a91553a\n"))))
    p = n.get("seller/payments-view")
    s = p["summary"]
    assert s["contracts"] == ["seller/53581432-6c55-4ba2-a65f-72344a91553a"], s
    assert set(s["schemas"]) == {"tbl", "receivers"}, s["schemas"]
    assert p["classification"] == "restricted", p
    ids = search_ids(n, "receiver_name")
    assert "seller/payments-view" in ids, ids


def test_contract_attaches_by_its_data_product_name():
    # full-example.odcs.yaml names its product: dataProduct: my quantum.
    for order in ("contract first", "product first"):
        n = Node(order.split()[0]).start("seller")
        docs = [conformance("odcs/full-example.odcs.yaml"),
                write("mq.yaml", odps("my quantum"))]
        if order == "product first":
            docs.reverse()
        for d in docs:
            n.publish(d)
        p = n.get("seller/my-quantum")
        s = p["summary"]
        assert s["contracts"] == [
            "seller/53581432-6c55-4ba2-a65f-72344a91553a"], (order, s)
        assert set(s["schemas"]) == {"tbl", "receivers"}, (order, s)
        assert p["classification"] == "restricted", (order, p)


def test_new_contract_version_updates_its_products():
    n = Node("seller").start("seller")
    n.publish(write("c1.yaml", CONTRACT))
    n.publish(write("p.yaml", product_with_contract("shipments-contract")))
    before = n.get("seller/shipments")
    c2 = (CONTRACT.replace("version: 1.0.0", "version: 1.1.0")
          .replace("parcel_barcode", "parcel_id")
          .replace("shipment_events", "shipment_log"))
    cr = n.publish(write("c2.yaml", c2))[0]
    p = n.get("seller/shipments")
    assert p["seq"] > cr["seq"] > before["seq"], (p["seq"], cr, before["seq"])
    assert p["summary"]["schemas"] == ["shipment_log"], p["summary"]
    assert "parcel_id" in p["summary"]["fields"], p["summary"]["fields"]
    assert "parcel_barcode" not in p["summary"]["fields"]
    assert search_ids(n, "parcel_barcode") == []
    assert set(search_ids(n, "parcel_id")) == {
        "seller/shipments", "seller/shipments-contract"}


def test_retired_contract_detaches_from_its_products():
    # A retired contract does not attach to a product published after it;
    # so retiring it must also detach it from the products it was
    # attached to, whichever came first.
    n = Node("seller").start("seller")
    n.publish(write("c.yaml", CONTRACT))
    n.publish(write("p.yaml", product_with_contract("shipments-contract")))
    check_attached(n, "seller/shipments", "seller/shipments-contract")
    n.ok("retire", "seller/shipments-contract")
    p = n.get("seller/shipments")
    s = p["summary"]
    assert s["contracts"] == [] and s["schemas"] == [], (
        "the retired contract still attached to seller/shipments: "
        "contracts %r, schemas %r" % (s["contracts"], s["schemas"]))
    assert p["classification"] is None, p["classification"]
    # The same state reached the other way round, for comparison.
    m = Node("other").start("seller")
    m.publish(write("c.yaml", CONTRACT))
    m.ok("retire", "seller/shipments-contract")
    m.publish(write("p.yaml", product_with_contract("shipments-contract")))
    q = m.get("seller/shipments")
    assert q["summary"]["contracts"] == [], q["summary"]


if __name__ == "__main__":
    main(globals())
