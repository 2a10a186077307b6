/*
 * query.c: discovery over the node's current summaries. For now this is
 * a plain case-insensitive match: every word must appear in the name, id,
 * description, tags, schema names or field names. Ranked search (an
 * inverted index in LMDB) replaces the body of query_search later; its
 * contract (words in, ordered list items out) stays.
 */
#include "node/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hit {
    pv *item;
    int score;
} hit;

static const char *const verdicts[]
    = { "accepted", "warned", "quarantined", "rejected" };

typedef struct scan {
    pv_arena  *a;
    store_txn *t;
    bool       all; /* quarantined ones too */
    const pv  *words;
    hit       *hits;
    size_t     n, cap;
    weft_err   err;
} scan;

static bool
has_word(const char *s, const char *w)
{
    return s != NULL && strcasestr(s, w) != NULL;
}

static bool
list_has(const pv *l, const char *w)
{
    for (uint32_t i = 0; l != NULL && i < l->u.a.n; i++)
        if (has_word(l->u.a.v[i]->u.s.p, w))
            return true;
    return false;
}

/*
 * score returns 0 when some word does not match, else a rank: a word in
 * the name counts most, then tags, then the rest. Deprecated and retired
 * products rank below active ones.
 */
static int
score(const pv *sum, const pv *words)
{
    const char *name = pv_getstr(sum, "name"), *st = pv_getstr(sum, "status");
    const char *id = pv_getstr(sum, "id");
    int         total = 1;

    for (uint32_t i = 0; i < words->u.a.n; i++) {
        const char *w = words->u.a.v[i]->u.s.p;

        /* The id's name part only: every id starts with its domain. */
        if (has_word(name, w) || has_word(strchr(id, '/') + 1, w))
            total += strcasecmp(name, w) == 0 ? 1000 : 100;
        else if (list_has(pv_get(sum, "tags"), w))
            total += 10;
        else if (has_word(pv_getstr(sum, "desc"), w)
            || has_word(pv_getstr(sum, "class"), w)
            || list_has(pv_get(sum, "schemas"), w)
            || list_has(pv_get(sum, "fields"), w))
            total += 1;
        else
            return 0;
    }
    if (strcmp(st, "deprecated") == 0 || strcmp(st, "retired") == 0)
        total = total / 2 > 0 ? total / 2 : 1;
    return total;
}

static int
scan_cb(void *ctx, store_val k, store_val v)
{
    scan   *s = ctx;
    pv     *sum, *item;
    int     sc, sev;
    int64_t version = 0;
    char    id[WEFT_ID_MAX + 1];

    if (k.n > WEFT_ID_MAX)
        return 0;
    memcpy(id, k.p, k.n);
    id[k.n] = 0;
    /* Governance: a rejected product is served to no query; a
     * quarantined one only when asked for (--all). */
    sev = gov_stored(s->t, id, &version);
    if (sev == 3 || (sev == 2 && !s->all))
        return 0;
    if ((s->err = proto_envelope_read(s->a, v.p, v.n, &sum, NULL)))
        return s->err;
    if ((sc = score(sum, s->words)) == 0)
        return 0;
    if ((item = catalog_item(s->a, sum)) == NULL
        || pv_setstr(s->a, item, "verdict", verdicts[sev]))
        return s->err = WEFT_ENOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        hit   *h = realloc(s->hits, cap * sizeof(*h));

        if (h == NULL)
            return s->err = WEFT_ENOMEM;
        s->hits = h;
        s->cap = cap;
    }
    s->hits[s->n++] = (hit) { item, sc };
    return 0;
}

static int
hit_cmp(const void *x, const void *y)
{
    const hit *a = x, *b = y;

    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp(pv_getstr(a->item, "id"), pv_getstr(b->item, "id"));
}

weft_err
query_search(node *n, pv_arena *a, const pv *words, const char *domain,
    bool all, pv *items)
{
    store_txn *t;
    scan       s = { a, NULL, all, words, NULL, 0, 0, WEFT_OK };
    char       prefix[WEFT_DOMAIN_MAX + 2];
    size_t     plen = 0;
    weft_err   err;

    if (domain != NULL) {
        plen = (size_t) snprintf(prefix, sizeof(prefix), "%s/", domain);
        if (plen >= sizeof(prefix))
            return WEFT_OK; /* no domain has such a long name */
    }
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    s.t = t;
    err = store_each(t, STORE_CUR, prefix, plen, false, scan_cb, &s);
    store_abort(t);
    if (err == WEFT_OK)
        err = s.err;
    if (err == WEFT_OK && words->u.a.n > 0 && s.n > 1)
        qsort(s.hits, s.n, sizeof(*s.hits), hit_cmp);
    for (size_t i = 0; err == WEFT_OK && i < s.n; i++)
        err = pv_push(a, items, s.hits[i].item);
    free(s.hits);
    return err;
}
