"""Search through the CLI: relevance (an exact name first; a word in the
name beats the same word in a description; deprecated after active),
filters and negation, OR, prefixes, phrases, quality comparisons, facet
counts, --explain, staleness per result, and a malformed query's
column."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node, main, proc_kib, wait_for, write  # noqa: E402


def product(name, desc="", tags=(), cls=None, owner="team", ifaces=(),
            completeness=None, freshness=None, fields=(), version="1.0.0"):
    y = "data-product:\n  name: %s\n  version: %s\n  owner: %s\n" % (
        name, version, owner)
    if desc:
        y += '  description: "%s"\n' % desc
    if tags:
        y += "  tags: [%s]\n" % ", ".join(tags)
    if cls:
        y += "  classification: %s\n" % cls
    if ifaces:
        y += "  interfaces:\n" + "".join(
            "    - type: %s\n" % i for i in ifaces)
    if fields:
        y += "  schemas:\n    - name: main\n      fields: [%s]\n" % (
            ", ".join(fields))
    if completeness is not None or freshness is not None:
        y += "  quality:\n"
        if completeness is not None:
            y += "    completeness: %s%%\n" % completeness
        if freshness is not None:
            y += '    freshness: "%s"\n' % freshness
    return y


def ids(n, *query, **kw):
    args = ["search"] + [a for k, v in kw.items() if v for a in ["--" + k]]
    doc = n.ok(*(args + list(query)))
    return [p["id"] for p in doc["products"]]


def test_relevance_filters_and_errors():
    n = Node("n").start("shop")
    docs = [
        product("orders", "every order placed", tags=["gold", "sales"],
                cls="internal", ifaces=["rest-api"], completeness=99.5,
                freshness="5 minutes", fields=["order_id", "email"]),
        product("order-lines", "lines of each customer order",
                tags=["silver"], cls="confidential", ifaces=["graphql"],
                completeness=97, freshness="2 hours"),
        product("payments", "payments for orders", tags=["legacy"],
                cls="internal", ifaces=["streaming"],
                fields=["payment_id"]),
        product("customers", "the customer profile of every buyer",
                tags=["gold", "pii"], cls="confidential",
                ifaces=["graphql", "rest-api"], completeness=99.9),
    ]
    files = [write("p%d.yaml" % i, d) for i, d in enumerate(docs)]
    n.publish(*files)

    # The exact name first, although another product says it more often.
    assert ids(n, "orders")[0] == "shop/orders", ids(n, "orders")
    # A word in the name beats the same word in a description.
    got = ids(n, "customer*")
    assert got.index("shop/customers") < got.index("shop/order-lines"), got
    assert ids(n, "payments") == ["shop/payments"]
    # Prefixes, phrases (a hyphenated name is a phrase), fields.
    assert set(ids(n, "pay*")) == {"shop/payments"}
    assert ids(n, '"customer profile"') == ["shop/customers"]
    assert ids(n, '"profile customer"') == []
    assert ids(n, "order-lines") == ["shop/order-lines"]
    assert ids(n, "field:email") == ["shop/orders"]
    assert ids(n, "order_id") == ["shop/orders"]
    # Filters, negation, OR, comparisons.
    assert set(ids(n, "class:confidential")) == {"shop/order-lines",
                                                 "shop/customers"}
    assert set(ids(n, "tag:gold -tag:pii")) == {"shop/orders"}
    assert set(ids(n, "tag:silver OR tag:legacy")) == {"shop/order-lines",
                                                       "shop/payments"}
    assert set(ids(n, "interface:graphql class:confidential",
                   "completeness>=99")) == {"shop/customers"}
    assert set(ids(n, "completeness>=97")) == {
        "shop/orders", "shop/order-lines", "shop/customers"}
    assert set(ids(n, "completeness>97")) == {"shop/orders",
                                              "shop/customers"}
    assert set(ids(n, "freshness<=1h")) == {"shop/orders"}
    assert set(ids(n, "freshness<=2h")) == {"shop/orders",
                                            "shop/order-lines"}
    assert set(ids(n, "(tag:gold OR tag:silver) -class:internal")) == {
        "shop/order-lines", "shop/customers"}
    assert set(ids(n, "owner:TEAM domain:shop status:active")) == set(
        ids(n, "domain:shop"))

    # --limit: the best N, and how many matched.
    doc = n.ok("search", "--limit", "2", "domain:shop")
    assert len(doc["products"]) == 2 and doc["total"] == 4, doc
    assert doc["products"] == n.ok("search", "--limit", "0",
                                   "domain:shop")["products"][:2]
    rc, out, err = n.weft("search", "--limit", "-1", "x")
    assert rc == 2 and "--limit" in err, err

    # Deprecated products rank after active ones.
    n.ok("deprecate", "shop/orders", "--reason", "split")
    got = ids(n, "order*")
    assert got[-1] == "shop/orders", got
    assert ids(n, "order*", "status:active").count("shop/orders") == 0

    # Facets count the matching set; --explain gives the score's parts;
    # every result has its domain's staleness.
    doc = n.ok("search", "--facets", "--explain", "tag:gold OR tag:silver")
    f = doc["facets"]
    assert f["class"] == {"internal": 1, "confidential": 2}, f
    assert f["interface"] == {"rest-api": 2, "graphql": 2}, f
    assert f["status"] == {"deprecated": 1, "active": 2}, f
    assert f["domain"] == {"shop": 3}, f
    for p in doc["products"]:
        assert "stale_s" in p and "explain" in p, p
    e = n.ok("search", "--explain", "customers")["products"][0]["explain"]
    assert e["parts"] and e["parts"][0]["term"] == "customers", e
    assert e["exact"] is True, e
    rc, out, err = n.weft("search", "--explain", "customers")
    assert rc == 0 and "score" in out and "in name" in out, out

    # A malformed query: exit 2, the column named, the node fine.
    rc, out, err = n.weft("search", "orders", "colour:red")
    assert rc == 2 and "column 8" in err and "colour:" in err, err
    rc, out, err = n.weft("search", "completeness>=x")
    assert rc == 2 and "column 15" in err, err
    n.answers("malformed queries")


QUERIES = ["", "orders", "order*", "cust*", "ledger", "refunds",
           '"daily ledger"', '"ledger of refunds"', '"gold silver"',
           "tag:gold", "tag:bronze", "-tag:gold", "class:restricted",
           "status:deprecated", "status:retired", "status:active",
           "field:amount", "field:iban", "completeness>=98",
           "completeness<98", "completeness=97.5", "freshness>1h",
           "interface:graphql OR interface:streaming", "domain:shop"]


def answers(n):
    """Every query's full answer: ids, order and total."""
    out = {}
    for q in QUERIES:
        doc = n.ok("search", "--limit", "0", "--all", "--", q)
        out[q] = ([p["id"] for p in doc["products"]], doc["total"])
    return out


def test_index_follows_changes():
    """The index is changed in the transaction that changes a product:
    after new versions, words taken out, deprecations and retirements it
    answers as an index built from scratch (--reindex) does, and a
    restart builds nothing."""
    n = Node("ix").start("shop")
    v1 = [
        product("orders", "every order placed", tags=["gold", "silver"],
                cls="internal", completeness=99, fields=["order_id"]),
        product("ledger", "the daily ledger of refunds", tags=["bronze"],
                cls="restricted", ifaces=["graphql"], completeness=97.5,
                freshness="2 hours", fields=["amount", "iban"]),
        product("customers", "customer profiles", tags=["gold"],
                ifaces=["streaming"], completeness=95),
    ]
    n.publish(*[write("v1-%d.yaml" % i, d) for i, d in enumerate(v1)])
    assert ids(n, '"daily ledger"') == ["shop/ledger"]
    assert ids(n, '"ledger of refunds"') == ["shop/ledger"]
    # Two tags are two texts: no phrase across them.
    assert ids(n, '"gold silver"') == []
    assert set(ids(n, "refunds")) == {"shop/ledger"}

    # New versions: words and values taken out and put in.
    v2 = [
        product("ledger", "a weekly ledger", tags=["gold"],
                cls="internal", completeness=99.5, fields=["amount"],
                version="1.1.0"),
        product("orders", "every order placed and refunds",
                tags=["silver"], cls="internal", completeness=97.5,
                freshness="3 hours", fields=["order_id", "iban"],
                version="1.1.0"),
    ]
    n.publish(*[write("v2-%d.yaml" % i, d) for i, d in enumerate(v2)])
    assert ids(n, '"daily ledger"') == []
    assert ids(n, "refunds") == ["shop/orders"]
    assert set(ids(n, "tag:gold")) == {"shop/ledger", "shop/customers"}
    assert ids(n, "class:restricted") == []
    assert ids(n, "field:iban") == ["shop/orders"]
    assert ids(n, "completeness=97.5") == ["shop/orders"]
    n.ok("deprecate", "shop/customers", "--reason", "merged")
    n.ok("retire", "shop/orders")
    assert ids(n, "status:retired") == ["shop/orders"]
    # Ties at the limit go by id.
    twins = [product("tie-" + c, "twin data") for c in "edcba"]
    n.publish(*[write("t-%d.yaml" % i, d) for i, d in enumerate(twins)])
    doc = n.ok("search", "--limit", "2", "twin")
    assert [p["id"] for p in doc["products"]] == ["shop/tie-a",
                                                  "shop/tie-b"], doc
    assert doc["total"] == 5, doc
    before = answers(n)
    assert before["status:deprecated"] == (["shop/customers"], 1), before

    # A restart reads the index as it is; --reindex builds it anew from
    # the summaries, and every answer stays the same, whatever part of
    # the store stays mapped between searches (--search-cache).
    n.stop()
    n.restart()
    assert "search index built" not in n.log_text()
    assert answers(n) == before
    n.stop()
    n.restart("--search-cache", "8")
    assert answers(n) == before
    n.stop()
    n.restart("--reindex")
    assert "search index built: 8 products" in n.log_text(), n.log_text()
    assert answers(n) == before


def test_segments_merge_and_answer_the_same():
    """Each publish is a commit and writes one segment of the index; a
    product published again leaves its old postings dead in theirs.
    Segments are merged as commits go and when the node is idle; every
    answer is the same before, during and after, and the same as an
    index built anew (--reindex) in one transaction."""
    n = Node("seg").start("shop")
    words = ["orders", "ledger", "refunds", "customer", "invoice", "stock"]
    for i in range(36):
        w = words[i % len(words)]
        n.publish(write("s-%d.yaml" % i, product(
            "p%02d" % i, "the %s of %s" % (w, words[(i * 5) % 6]),
            tags=["gold" if i % 3 == 0 else "bronze"],
            completeness=90 + i % 10)))
    # Some again, with other words: their old postings die.
    for i in range(0, 36, 4):
        n.publish(write("s-%d-v2.yaml" % i, product(
            "p%02d" % i, "a daily ledger", tags=["silver"],
            completeness=99, version="1.1.0")))
    st = n.status()
    assert st["index_segments"] >= 1, st
    during = answers(n)
    assert len(during["ledger"][0]) >= 9, during["ledger"]
    assert during["tag:gold"][1] == 9, during["tag:gold"]  # 12 less 3 redone
    # Merged when idle: no merge under way, and none more started (the
    # idle merger looks every 250 ms).
    def settled():
        a = n.status()
        time.sleep(0.6)
        b = n.status()
        return (not a["index_merging"] and not b["index_merging"]
                and a["index_segments"] == b["index_segments"])
    wait_for(settled, lambda: "segments merged: %s" % n.status())
    assert n.status()["index_segments"] < 36, n.status()
    rc, out, err = n.weft("status")
    assert rc == 0 and "segment" in out and "merging" not in out, out
    assert answers(n) == during
    n.stop()
    n.restart("--reindex")
    assert "search index built: 36 products" in n.log_text(), n.log_text()
    assert answers(n) == during


def kernel_populates():
    """MADV_POPULATE_READ came with Linux 5.14."""
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


def test_store_warms_when_writes_pause():
    """With --search-cache, once writes pause the node maps the store's
    pages in (warming), so searches take no page faults: seen here as
    file pages in the RSS of a node restarted on a store the page cache
    holds. Without room under the mark (the store plus an eighth plus
    8 MiB) it does not."""
    if not kernel_populates():
        print("skipped: this kernel has no MADV_POPULATE_READ")
        return
    docs = [write("w%04d.yaml" % i, product(
        "warm product %d" % i, "a description of product %d" % i,
        tags=["t%d" % (i % 7)], fields=["f%d" % j for j in range(12)]))
        for i in range(1200)]
    for cache, warms in (("64", True), ("8", False)):
        n = Node("warm" + cache).start("shop", "--search-cache", cache)
        n.publish(*docs)
        used = n.status()["store_used_bytes"] // 1024
        assert warms == (used + used // 8 + 8192 <= int(cache) * 1024), used
        n.stop()
        n.start(None, "--search-cache", cache)  # a new process: unmapped
        base, got = proc_kib(n.pid, "RssFile"), 0
        for _ in range(60 if warms else 20):  # bounded: 6 s, or 4 ticks
            time.sleep(0.1)
            got = proc_kib(n.pid, "RssFile") - base
            if got >= used * 8 // 10:
                break
        print("  --search-cache %s: store %d KiB, %d KiB mapped in" % (
            cache, used, got))
        if warms:
            assert got >= used * 8 // 10, (
                "store of %d KiB, %d KiB more of files mapped" % (used, got))
        else:
            assert got < used // 2, (
                "store of %d KiB over the mark, %d KiB mapped" % (used, got))
        assert ids(n, "warm", "product", "1199") == [
            "shop/warm-product-1199"]
        n.stop()


if __name__ == "__main__":
    main(globals())
