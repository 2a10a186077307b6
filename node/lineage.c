/*
 * lineage.c: the mesh-wide graph of what feeds what. A product's inputs
 * (the article's `inputs`, ODPS `inputPorts`) name other products: by id
 * (`domain/name`), or by name within the product's own domain. Upstream
 * is a walk of those names; downstream is the reverse, found by one pass
 * over every current summary. Deprecated, retired and quarantined
 * products on the way are marked, and a product with such an upstream
 * says so in `get` and in search results.
 */
#include "node/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* resolve turns input name in of a product of domain dom into the id of
 * a current product held (into id), or returns false. */
static bool
resolve(store_txn *t, const char *dom, const char *in, char *id, size_t sz)
{
    store_val v;
    char      slug[WEFT_ID_MAX + 1];

    if (strchr(in, '/') != NULL) {
        snprintf(id, sz, "%s", in);
        return strlen(in) < sz
            && store_get(t, STORE_CUR, in, strlen(in), &v) == WEFT_OK;
    }
    if (proto_slug(in, slug, sizeof(slug)) != WEFT_OK)
        return false;
    if ((size_t) snprintf(id, sz, "%s/%s", dom, slug) >= sz)
        return false;
    return store_get(t, STORE_CUR, id, strlen(id), &v) == WEFT_OK;
}

/* summary_of reads the current summary of id (in a), or NULL. */
static pv *
summary_of(store_txn *t, pv_arena *a, const char *id)
{
    store_val v;
    pv       *sum;

    if (catalog_cur_get(t, id, &v) != WEFT_OK
        || proto_envelope_read(a, v.p, v.n, &sum, NULL) != WEFT_OK)
        return NULL;
    return sum;
}

/* flagged names why an upstream product deserves a mark, or NULL. */
static const char *
flagged(store_txn *t, const pv *sum)
{
    const char *st = pv_getstr(sum, "status");
    int         sev = gov_stored(t, pv_getstr(sum, "id"), NULL);

    if (st && strcmp(st, "deprecated") == 0)
        return "deprecated";
    if (st && strcmp(st, "retired") == 0)
        return "retired";
    if (sev >= 2)
        return sev == 2 ? "quarantined" : "rejected";
    return NULL;
}

/* A set of ids seen, for walks that must not loop. */
typedef struct seen {
    char **id;
    size_t n, cap;
} seen;

static bool
seen_add(seen *s, const char *id)
{
    char **grown;

    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->id[i], id) == 0)
            return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        if ((grown = realloc(s->id, s->cap * sizeof(*grown))) == NULL)
            return false;
        s->id = grown;
    }
    return (s->id[s->n] = strdup(id)) != NULL && ++s->n > 0;
}

static void
seen_free(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->id[i]);
    free(s->id);
}

weft_err
lineage_flags(node *n, store_txn *t, pv_arena *a, const pv *sum, pv *out)
{
    /* Breadth first up to LINEAGE_DEPTH_MAX, marking flagged ancestors. */
    seen      s = { NULL, 0, 0 };
    char      queue[LINEAGE_NODES_MAX][WEFT_ID_MAX + 1];
    int       depth[LINEAGE_NODES_MAX], head = 0, tail = 0;
    pv_arena *w = NULL; /* made when an upstream is read */
    weft_err  err = WEFT_OK;
    const pv *ins0 = pv_get(sum, "inputs");

    (void) n;
    /* Most products have no inputs: nothing to read. */
    if (ins0 == NULL || ins0->type != PV_ARR || ins0->u.a.n == 0)
        return WEFT_OK;
    if ((w = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL)
        return WEFT_ENOMEM;
    snprintf(queue[tail], sizeof(queue[0]), "%s", pv_getstr(sum, "id"));
    depth[tail++] = 0;
    seen_add(&s, queue[0]);
    while (head < tail && err == WEFT_OK) {
        int         d = depth[head];
        const char *id = queue[head++];
        pv         *cur, *ins;
        char        dom[WEFT_DOMAIN_MAX + 1];

        if (head == 1) /* the product itself: already read */
            cur = (pv *) sum;
        else {
            pv_arena_reset(w);
            if ((cur = summary_of(t, w, id)) == NULL)
                continue;
        }
        snprintf(dom, sizeof(dom), "%s", pv_getstr(cur, "domain"));
        if (d > 0 && flagged(t, cur) != NULL) {
            pv *m = pv_map(a);

            if (m == NULL || pv_setstr(a, m, "id", id)
                || pv_setstr(a, m, "why", flagged(t, cur))
                || pv_setint(a, m, "depth", d) || pv_push(a, out, m))
                err = WEFT_ENOMEM;
        }
        ins = pv_get(cur, "inputs");
        for (uint32_t i = 0; d < LINEAGE_DEPTH_MAX && ins && ins->type == PV_ARR
             && i < ins->u.a.n && tail < LINEAGE_NODES_MAX;
             i++) {
            char up[WEFT_ID_MAX + 1];

            if (ins->u.a.v[i]->type == PV_STR
                && resolve(t, dom, ins->u.a.v[i]->u.s.p, up, sizeof(up))
                && seen_add(&s, up)) {
                snprintf(queue[tail], sizeof(queue[0]), "%s", up);
                depth[tail++] = d + 1;
            }
        }
    }
    seen_free(&s);
    pv_arena_free(w);
    return err;
}

/* An edge of the graph: child takes input from parent. */
typedef struct edge {
    char *child, *parent;
} edge;

typedef struct edges {
    edge      *e;
    size_t     n, cap;
    store_txn *t;
    pv_arena  *w;
    weft_err   err;
} edges;

static int
edges_cb(void *ctx, store_val k, store_val v)
{
    edges *g = ctx;
    pv    *sum, *ins;
    char   dom[WEFT_DOMAIN_MAX + 1], up[WEFT_ID_MAX + 1];

    pv_arena_reset(g->w);
    if (catalog_cur_env(g->t, k, v, &v) != WEFT_OK
        || proto_envelope_read(g->w, v.p, v.n, &sum, NULL) != WEFT_OK)
        return 0;
    snprintf(dom, sizeof(dom), "%s", pv_getstr(sum, "domain"));
    ins = pv_get(sum, "inputs");
    for (uint32_t i = 0; ins && ins->type == PV_ARR && i < ins->u.a.n; i++) {
        if (ins->u.a.v[i]->type != PV_STR
            || !resolve(g->t, dom, ins->u.a.v[i]->u.s.p, up, sizeof(up)))
            continue;
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 256;
            edge  *e = realloc(g->e, cap * sizeof(*e));

            if (e == NULL)
                return g->err = WEFT_ENOMEM;
            g->e = e;
            g->cap = cap;
        }
        g->e[g->n].child = strdup(pv_getstr(sum, "id"));
        g->e[g->n].parent = strdup(up);
        if (g->e[g->n].child == NULL || g->e[g->n].parent == NULL)
            return g->err = WEFT_ENOMEM;
        g->n++;
    }
    return 0;
}

/* add_node appends {id, name, status, verdict, depth, dir, flag} to list. */
static weft_err
add_node(store_txn *t, pv_arena *a, pv *list, const char *id, int depth,
    const char *dir, const char *via)
{
    pv_arena                *w = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64);
    pv                      *sum, *m = pv_map(a);
    static const char *const verdicts[]
        = { "accepted", "warned", "quarantined", "rejected" };
    weft_err err = WEFT_ENOMEM;

    if (w != NULL && m != NULL && (sum = summary_of(t, w, id)) != NULL
        && !pv_setstr(a, m, "id", id)
        && !pv_setstr(a, m, "name", pv_getstr(sum, "name"))
        && !pv_setstr(a, m, "status", pv_getstr(sum, "status"))
        && !pv_setstr(a, m, "verdict", verdicts[gov_stored(t, id, NULL)])
        && !pv_setstr(a, m, "flag", flagged(t, sum))
        && !pv_setint(a, m, "depth", depth) && !pv_setstr(a, m, "dir", dir)
        && !pv_setstr(a, m, "via", via) && !pv_push(a, list, m))
        err = WEFT_OK;
    pv_arena_free(w);
    return err;
}

weft_err
lineage_walk(node *n, pv_arena *a, const char *id, bool up, bool down,
    int maxdepth, pv *out, weft_diag *d)
{
    store_txn *t;
    edges      g = { NULL, 0, 0, NULL, NULL, WEFT_OK };
    pv        *nodes = pv_arr(a), *unresolved = pv_arr(a);
    seen       s = { NULL, 0, 0 };
    weft_err   err;
    int        dirs[2] = { up, down };

    if (nodes == NULL || unresolved == NULL)
        return WEFT_ENOMEM;
    if ((err = store_begin(n->st, false, &t)) != WEFT_OK)
        return err;
    g.t = t;
    if ((g.w = pv_arena_new((size_t) WEFT_SUMMARY_MAX * 64)) == NULL) {
        store_abort(t);
        return WEFT_ENOMEM;
    }
    if (summary_of(t, g.w, id) == NULL) {
        err = weft_diagf(d, WEFT_ENOTFOUND, "%s: no such product", id);
        goto done;
    }
    /* Every edge of the mesh's graph, in one pass (downstream needs the
     * reverse of what summaries say). */
    if ((err = store_each(t, STORE_CUR, NULL, 0, false, edges_cb, &g))
        || (err = g.err))
        goto done;
    if ((err = add_node(t, a, nodes, id, 0, "root", NULL)))
        goto done;
    for (int dir = 0; dir < 2; dir++) {
        /* breadth first, each id once per direction */
        char **level = NULL, **next = NULL;
        size_t nl = 0, nn = 0;

        if (!dirs[dir])
            continue;
        seen_free(&s);
        memset(&s, 0, sizeof(s));
        seen_add(&s, id);
        if ((level = malloc(sizeof(*level))) == NULL) {
            err = WEFT_ENOMEM;
            goto done;
        }
        level[nl++] = strdup(id);
        for (int depth = 1; depth <= maxdepth && nl > 0 && !err; depth++) {
            nn = 0;
            free(next);
            next = NULL;
            for (size_t i = 0; i < nl && !err; i++)
                for (size_t e = 0; e < g.n && !err; e++) {
                    const char *from = dir == 0 ? g.e[e].child : g.e[e].parent;
                    const char *to = dir == 0 ? g.e[e].parent : g.e[e].child;
                    char      **grown;

                    if (strcmp(from, level[i]) != 0 || !seen_add(&s, to))
                        continue;
                    if ((grown = realloc(next, (nn + 1) * sizeof(*next)))
                        == NULL) {
                        err = WEFT_ENOMEM;
                        break;
                    }
                    next = grown;
                    next[nn++] = strdup(to);
                    err = add_node(t, a, nodes, to, depth,
                        dir == 0 ? "up" : "down", level[i]);
                }
            for (size_t i = 0; i < nl; i++)
                free(level[i]);
            free(level);
            level = next;
            nl = nn;
            next = NULL;
        }
        for (size_t i = 0; i < nl; i++)
            free(level[i]);
        free(level);
        free(next);
    }
    /* Inputs of the root that name nothing held. */
    {
        pv  *sum = summary_of(t, g.w, id), *ins = pv_get(sum, "inputs");
        char to[WEFT_ID_MAX + 1];

        for (uint32_t i = 0; ins && ins->type == PV_ARR && i < ins->u.a.n; i++)
            if (ins->u.a.v[i]->type == PV_STR
                && !resolve(t, pv_getstr(sum, "domain"), ins->u.a.v[i]->u.s.p,
                    to, sizeof(to)))
                pv_push(a, unresolved, pv_strz(a, ins->u.a.v[i]->u.s.p));
    }
    if (pv_setstr(a, out, "id", id) || pv_set(a, out, "nodes", nodes)
        || pv_set(a, out, "unresolved", unresolved))
        err = WEFT_ENOMEM;
done:
    for (size_t e = 0; e < g.n; e++) {
        free(g.e[e].child);
        free(g.e[e].parent);
    }
    free(g.e);
    seen_free(&s);
    pv_arena_free(g.w);
    store_abort(t);
    return err;
}
