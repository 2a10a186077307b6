/*
 * fuzz_query.c: libFuzzer target for the query language (proto/query.c).
 * Each input is a query text, cut at its first NUL as query_parse reads a
 * C string (a CLI request carries it as a msgpack string). Checks:
 *   - a refused query's message names a column inside the text (1 to its
 *     length + 1), unless it is refused whole for its size, and holds no
 *     byte that is not printable ASCII or from the query;
 *   - an accepted query is printed back from its tree and parsed again:
 *     the second tree must equal the first (kinds, filter keys, operators,
 *     texts, numbers) and match the same sample summaries;
 *   - matching runs on every tree against the samples (ASan/UBSan).
 */
#include "proto/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MAX (1u << 20)

/* ---- printing a tree back as a query -------------------------------- */

typedef struct out {
    char   s[8 * QUERY_MAX];
    size_t n;
    bool   over;
} out;

static void
put(out *o, const char *s)
{
    size_t n = strlen(s);

    if (o->n + n + 1 > sizeof(o->s)) {
        o->over = true;
        return;
    }
    memcpy(o->s + o->n, s, n + 1);
    o->n += n;
}

/* num writes the shortest text strtod reads back as x. */
static void
num(double x, char *buf, size_t sz)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sz, "%.*g", p, x);
        if (isnan(x) || strtod(buf, NULL) == x)
            return;
    }
}

static bool
composite(const qnode *n)
{
    return n->kind == Q_AND || n->kind == Q_OR;
}

static void print(out *o, const qnode *n);

/* print_kid prints kid of a node of kind parent, in parentheses where
 * the grammar needs them to rebuild the same tree. */
static void
print_kid(out *o, qkind parent, const qnode *kid)
{
    bool paren = parent == Q_OR ? kid->kind == Q_OR : composite(kid);

    if (paren)
        put(o, "(");
    print(o, kid);
    if (paren)
        put(o, ")");
}

static void
print(out *o, const qnode *n)
{
    char buf[64];

    switch (n->kind) {
    case Q_AND:
    case Q_OR:
        for (int i = 0; i < n->nkids; i++) {
            if (i > 0)
                put(o, n->kind == Q_AND ? " " : " OR ");
            print_kid(o, n->kind, n->kids[i]);
        }
        break;
    case Q_NOT:
        put(o, "-");
        print_kid(o, Q_NOT, n->kids[0]);
        break;
    case Q_WORD:
        put(o, n->text);
        break;
    case Q_PREFIX:
        put(o, n->text);
        put(o, "*");
        break;
    case Q_PHRASE:
        put(o, "\"");
        put(o, n->text);
        put(o, "\"");
        break;
    case Q_FILTER:
        put(o, n->key);
        put(o, ":\"");
        put(o, n->text);
        put(o, "\"");
        break;
    case Q_CMP:
        put(o, n->key);
        put(o, n->op);
        num(n->num, buf, sizeof(buf));
        put(o, buf);
        break;
    }
}

/* same reports whether two trees are equal but for columns. */
static bool
same(const qnode *x, const qnode *y)
{
    if (x == NULL || y == NULL)
        return x == y;
    if (x->kind != y->kind || strcmp(x->key, y->key) != 0
        || strcmp(x->op, y->op) != 0 || (x->text == NULL) != (y->text == NULL)
        || (x->text != NULL && strcmp(x->text, y->text) != 0)
        || x->nkids != y->nkids)
        return false;
    if (x->kind == Q_CMP && x->num != y->num
        && !(isnan(x->num) && isnan(y->num)))
        return false;
    for (int i = 0; i < x->nkids; i++)
        if (!same(x->kids[i], y->kids[i]))
            return false;
    return true;
}

/* ---- sample summaries ------------------------------------------------ */

static pv *
list(pv_arena *a, const char *const *items)
{
    pv *l = pv_arr(a);

    for (; l != NULL && *items != NULL; items++)
        if (pv_push(a, l, pv_strz(a, *items)) != WEFT_OK)
            return NULL;
    return l;
}

/* samples fills s[0..3): a full summary, one with odd values, an empty
 * map (every field absent). */
static bool
samples(pv_arena *a, pv *s[3])
{
    static const char *const tags[] = { "pii", "gold", "Ünïcode", NULL };
    static const char *const ifaces[] = { "rest-api", "graphql", NULL };
    static const char *const names[] = { "email", "rcvr_id", "", NULL };
    pv                      *q = pv_map(a), *q2 = pv_map(a), *mixed = pv_arr(a);

    s[0] = pv_map(a);
    s[1] = pv_map(a);
    s[2] = pv_map(a);
    if (q == NULL || q2 == NULL || mixed == NULL || s[0] == NULL || s[1] == NULL
        || s[2] == NULL || pv_push(a, mixed, pv_int(a, 1))
        || pv_push(a, mixed, pv_nil(a)) || pv_push(a, mixed, pv_strz(a, "x")))
        return false;
    return !pv_setstr(a, s[0], "id", "sales/customer-360")
        && !pv_setstr(a, s[0], "domain", "sales")
        && !pv_setstr(a, s[0], "name", "Customer 360")
        && !pv_setstr(a, s[0], "desc",
            "Profile, preferences and interactions of every "
            "customer_account")
        && !pv_setstr(a, s[0], "owner", "Team-A")
        && !pv_setstr(a, s[0], "class", "confidential")
        && !pv_setstr(a, s[0], "status", "active")
        && !pv_set(a, s[0], "tags", list(a, tags))
        && !pv_set(a, s[0], "ifaces", list(a, ifaces))
        && !pv_set(a, s[0], "formats", list(a, ifaces))
        && !pv_set(a, s[0], "schemas", list(a, names))
        && !pv_set(a, s[0], "fields", list(a, names))
        && !pv_set(a, q, "completeness", pv_float(a, 99.5))
        && !pv_set(a, q, "accuracy", pv_float(a, 98.0))
        && !pv_setint(a, q, "freshness_s", 300)
        && !pv_set(a, s[0], "quality", q)
        /* Odd but possible in a peer's summary: no slash in the id,
         * wrong types, lists holding non-strings. */
        && !pv_setstr(a, s[1], "id", "noslash")
        && !pv_setint(a, s[1], "name", 7) && !pv_setstr(a, s[1], "desc", "")
        && !pv_set(a, s[1], "tags", pv_arr(a))
        && !pv_set(a, s[1], "fields", mixed)
        && !pv_set(a, s[1], "schemas", pv_map(a))
        && !pv_set(a, q2, "completeness", pv_float(a, INFINITY))
        && !pv_setstr(a, q2, "accuracy", "high")
        && !pv_setint(a, q2, "freshness_s", INT64_MIN)
        && !pv_set(a, s[1], "quality", q2);
}

static void
matches(const query *q, pv *const s[3], bool got[3])
{
    for (int i = 0; i < 3; i++) {
        got[i] = query_match(q, s[i]);
        if (query_node_match(query_root(q), s[i]) != got[i]) {
            fprintf(stderr,
                "fuzz_query: query_match and query_node_match differ\n");
            abort();
        }
    }
}

/* ---- the target ------------------------------------------------------ */

/* column_ok checks that an error message names a column in 1..len+1
 * and holds no byte that is neither printable ASCII nor from the query
 * (it is shown to the user as it is). */
static void
column_ok(const weft_diag *d, const char *text, size_t len)
{
    unsigned long col;
    char          rest;

    for (const unsigned char *m = (const unsigned char *) d->msg; *m; m++)
        if (*m < 0x20 || *m == 0x7f
            || (*m >= 0x80 && memchr(text, *m, len) == NULL)) {
            fprintf(stderr,
                "fuzz_query: error message holds byte 0x%02x, not from the "
                "query: %s\n",
                *m, d->msg);
            abort();
        }

    if (sscanf(d->msg, "column %lu:%c", &col, &rest) != 2 || col < 1
        || col > len + 1) {
        fprintf(stderr,
            "fuzz_query: error without a column inside the query (%zu "
            "bytes): %s\n",
            len, d->msg);
        abort();
    }
}

static void
count_words(void *ctx, const char *w)
{
    if (strlen(w) > QUERY_WORD_MAX) {
        fprintf(stderr, "fuzz_query: a token longer than QUERY_WORD_MAX\n");
        abort();
    }
    ++*(size_t *) ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_arena *a = pv_arena_new(ARENA_MAX);
    char     *text = malloc(size + 1);
    query    *q = NULL, *q2 = NULL;
    weft_diag d = { { 0 } };
    pv       *s[3];
    bool      m1[3], m2[3];
    size_t    len, words = 0;
    out       o = { { 0 }, 0, false };
    weft_err  err;

    if (a == NULL || text == NULL || !samples(a, s))
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    len = strlen(text);
    query_tokens(text, count_words, &words);
    err = query_parse(text, &q, &d);
    if (err == WEFT_EINVAL)
        column_ok(&d, text, len);
    if (err != WEFT_OK)
        goto done;
    matches(q, s, m1);
    if (query_root(q) == NULL)
        goto done;
    print(&o, query_root(q));
    if (o.over || o.n > QUERY_MAX)
        goto done; /* printing can be longer: "tag:x" is tag:"x" */
    if ((err = query_parse(o.s, &q2, &d)) != WEFT_OK) {
        fprintf(stderr, "fuzz_query: printed query does not parse: %s: %s\n",
            o.s, d.msg);
        abort();
    }
    if (!same(query_root(q), query_root(q2))) {
        fprintf(stderr,
            "fuzz_query: printed query parses to another tree: "
            "%s\n",
            o.s);
        abort();
    }
    matches(q2, s, m2);
    if (memcmp(m1, m2, sizeof(m1)) != 0) {
        fprintf(
            stderr, "fuzz_query: printed query matches otherwise: %s\n", o.s);
        abort();
    }
done:
    query_free(q);
    query_free(q2);
    free(text);
    pv_arena_free(a);
    return 0;
}
