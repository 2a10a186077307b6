/*
 * query.c: the query language: a lexer and a recursive-descent parser
 * into a small tree, and matching a tree against a summary.
 *
 *   query  := or
 *   or     := and ("OR" and)*
 *   and    := unary+
 *   unary  := "-" unary | atom
 *   atom   := "(" or ")" | "\"" phrase "\"" | FILTER | CMP | WORD | WORD*
 */
#include "proto/query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct query {
    qnode  nodes[QUERY_NODES_MAX];
    qnode *kids[QUERY_NODES_MAX]; /* child lists, allocated in order */
    int    nnodes, nkids;
    char   text[QUERY_MAX * 2 + 16]; /* words and values, NUL-separated */
    size_t used;
    qnode *root;
};

static const char *const filters[] = { "domain", "owner", "class", "tag",
    "status", "interface", "format", "field" };
static const char *const metrics[]
    = { "completeness", "accuracy", "freshness" };

/* ---- words -------------------------------------------------------------- */

static bool
wordch(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

void
query_tokens(const char *s, void (*fn)(void *ctx, const char *w), void *ctx)
{
    char buf[QUERY_WORD_MAX + 1];

    while (s && *s) {
        size_t n = 0;

        while (*s && !wordch((unsigned char) *s))
            s++;
        while (*s && wordch((unsigned char) *s)) {
            if (n < QUERY_WORD_MAX)
                buf[n++] = (char) tolower((unsigned char) *s);
            s++;
        }
        if (n > 0) {
            buf[n] = 0;
            fn(ctx, buf);
        }
    }
}

/* ---- parsing --------------------------------------------------------------
 */

typedef struct parser {
    query      *q;
    const char *s; /* the query text */
    size_t      i; /* where the lexer is */
    int         depth;
    weft_diag  *d;
} parser;

static weft_err
fail(parser *p, size_t at, const char *fmt, const char *what)
{
    char msg[200];

    snprintf(msg, sizeof(msg), fmt, what);
    return weft_diagf(p->d, WEFT_EINVAL, "column %zu: %s", at + 1, msg);
}

static qnode *
node(parser *p, qkind k, size_t at)
{
    qnode *n;

    if (p->q->nnodes == QUERY_NODES_MAX)
        return NULL;
    n = &p->q->nodes[p->q->nnodes++];
    memset(n, 0, sizeof(*n));
    n->kind = k;
    n->col = (int) at + 1;
    return n;
}

/* keep copies n bytes of s, lowercased, into the query's text. */
static const char *
keep(query *q, const char *s, size_t n)
{
    char *out = q->text + q->used;

    if (q->used + n + 1 > sizeof(q->text))
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (char) tolower((unsigned char) s[i]);
    out[n] = 0;
    q->used += n + 1;
    return out;
}

typedef struct joined {
    char   buf[QUERY_MAX + 1];
    size_t n;
    int    words;
} joined;

static void
join_cb(void *ctx, const char *w)
{
    joined *j = ctx;
    size_t  wl = strlen(w);

    if (j->n + wl + 2 > sizeof(j->buf))
        return;
    if (j->n > 0)
        j->buf[j->n++] = ' ';
    memcpy(j->buf + j->n, w, wl);
    j->n += wl;
    j->buf[j->n] = 0;
    j->words++;
}

/* text_node makes a word or phrase node from free text s[0..n). */
static weft_err
text_node(
    parser *p, const char *s, size_t n, size_t at, bool phrase, qnode **out)
{
    joined j = { { 0 }, 0, 0 };
    char   raw[QUERY_MAX + 1];

    memcpy(raw, s, n);
    raw[n] = 0;
    query_tokens(raw, join_cb, &j);
    if (j.words == 0)
        return fail(
            p, at, "'%.40s' has no word in it (letters or digits)", raw);
    if ((*out = node(p, phrase || j.words > 1 ? Q_PHRASE : Q_WORD, at)) == NULL
        || ((*out)->text = keep(p->q, j.buf, j.n)) == NULL)
        return fail(p, at, "%s", "the query has too many parts");
    return WEFT_OK;
}

static int
index_of(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0)
            return (int) i;
    return -1;
}

/* comparison parses METRIC OP NUMBER[unit] in s[0..n), or returns 1 when
 * s is no comparison. */
static int
comparison(
    parser *p, const char *s, size_t n, size_t at, qnode **out, weft_err *err)
{
    size_t k = 0, o;
    int    m;
    char   num[64], *end;
    double v;

    while (k < n && isalpha((unsigned char) s[k]))
        k++;
    if (k == n || !strchr("<>=", s[k]))
        return 1;
    if ((m = index_of(metrics, 3, s, k)) < 0) {
        char name[64];

        snprintf(name, sizeof(name), "%.*s", (int) (k < 40 ? k : 40), s);
        *err = fail(p, at,
            "'%s' cannot be compared: use completeness, accuracy or "
            "freshness",
            name);
        return 0;
    }
    o = k;
    while (o < n && o < k + 2 && strchr("<>=", s[o]))
        o++;
    if (!((o - k == 1) || (o - k == 2 && s[k + 1] == '=' && s[k] != '='))) {
        *err = fail(p, at + k,
            "'%.2s' is not a comparison: use >=, <=, >, < "
            "or =",
            s + k);
        return 0;
    }
    if (n - o == 0 || n - o >= sizeof(num)) {
        *err = fail(p, at + o, "%s", "expected a number after the comparison");
        return 0;
    }
    memcpy(num, s + o, n - o);
    num[n - o] = 0;
    v = strtod(num, &end);
    if (end == num) {
        *err = fail(p, at + o, "'%.20s' is not a number", num);
        return 0;
    }
    if (m == 2) { /* freshness: a duration, seconds by default */
        static const struct {
            const char *u;
            double      mul;
        } units[] = { { "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
            { "d", 86400 } };
        size_t u;

        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
            if (strcasecmp(end, units[u].u) == 0)
                break;
        if (u == sizeof(units) / sizeof(units[0])) {
            *err = fail(p, at + o + (size_t) (end - num),
                "'%.10s' is not a unit: use s, m, h or d", end);
            return 0;
        }
        v *= units[u].mul;
    } else if (*end != 0 && strcmp(end, "%") != 0) {
        *err = fail(p, at + o, "'%.20s' is not a percentage", num);
        return 0;
    }
    if ((*out = node(p, Q_CMP, at)) == NULL) {
        *err = fail(p, at, "%s", "the query has too many parts");
        return 0;
    }
    snprintf((*out)->key, sizeof((*out)->key), "%s", metrics[m]);
    memcpy((*out)->op, s + k, o - k);
    (*out)->op[o - k] = 0;
    (*out)->num = v;
    *err = WEFT_OK;
    return 0;
}

static weft_err parse_or(parser *p, qnode **out);

/* atom parses one word, phrase, filter, comparison or group. */
static weft_err
atom(parser *p, qnode **out)
{
    const char *s = p->s;
    size_t      at = p->i, e;
    weft_err    err;

    if (s[at] == '(') {
        if (++p->depth > QUERY_DEPTH_MAX)
            return fail(p, at, "%s", "parentheses nested too deep");
        p->i++;
        if ((err = parse_or(p, out)))
            return err;
        while (s[p->i] == ' ')
            p->i++;
        if (s[p->i] != ')')
            return fail(p, at, "%s", "'(' is never closed");
        p->i++;
        p->depth--;
        return WEFT_OK;
    }
    if (s[at] == '"') {
        if ((e = (size_t) (strchr(s + at + 1, '"') ? strchr(s + at + 1, '"') - s
                                                   : 0))
            == 0)
            return fail(p, at, "%s", "this quote is never closed");
        p->i = e + 1;
        return text_node(p, s + at + 1, e - at - 1, at, true, out);
    }
    for (e = at;
         s[e] && s[e] != ' ' && s[e] != '(' && s[e] != ')' && s[e] != '"'; e++)
        ;
    p->i = e;
    if (e == at)
        return fail(
            p, at, "'%.1s' was not expected here", s[at] ? s + at : "?");
    if (comparison(p, s + at, e - at, at, out, &err) == 0)
        return err;
    {
        const char *colon = memchr(s + at, ':', e - at);

        if (colon != NULL) {
            size_t      kl = (size_t) (colon - (s + at));
            int         f = index_of(filters, 8, s + at, kl);
            const char *v = colon + 1;
            size_t      vl = (size_t) (s + e - v);
            char        key[48];

            snprintf(
                key, sizeof(key), "%.*s:", (int) (kl < 40 ? kl : 40), s + at);
            if (f < 0)
                return fail(p, at,
                    "unknown filter '%s' (use domain:, owner:, class:, tag:, "
                    "status:, interface:, format: or field:)",
                    key);
            if (vl == 0 && s[e] == '"') { /* key:"quoted value" */
                const char *close = strchr(s + e + 1, '"');

                if (close == NULL)
                    return fail(p, e, "%s", "this quote is never closed");
                v = s + e + 1;
                vl = (size_t) (close - v);
                p->i = (size_t) (close - s) + 1;
            }
            if (vl == 0)
                return fail(p, at, "'%s' needs a value", key);
            if ((*out = node(p, Q_FILTER, at)) == NULL
                || ((*out)->text = keep(p->q, v, vl)) == NULL)
                return fail(p, at, "%s", "the query has too many parts");
            snprintf((*out)->key, sizeof((*out)->key), "%s", filters[f]);
            return WEFT_OK;
        }
    }
    if (e - at > 1 && s[e - 1] == '*') {
        joined j = { { 0 }, 0, 0 };
        char   raw[QUERY_MAX + 1];

        memcpy(raw, s + at, e - at - 1);
        raw[e - at - 1] = 0;
        query_tokens(raw, join_cb, &j);
        if (j.words != 1)
            return fail(p, at, "'%.40s' is not one word before its *", raw);
        if ((*out = node(p, Q_PREFIX, at)) == NULL
            || ((*out)->text = keep(p->q, j.buf, j.n)) == NULL)
            return fail(p, at, "%s", "the query has too many parts");
        return WEFT_OK;
    }
    return text_node(p, s + at, e - at, at, false, out);
}

static weft_err
unary(parser *p, qnode **out)
{
    size_t   at = p->i;
    qnode   *n, *k;
    weft_err err;

    if (p->s[at] == '-' && p->s[at + 1] != 0 && p->s[at + 1] != ' ') {
        p->i++;
        if ((err = unary(p, &k)))
            return err;
        if ((n = node(p, Q_NOT, at)) == NULL || p->q->nkids == QUERY_NODES_MAX)
            return fail(p, at, "%s", "the query has too many parts");
        n->kids = &p->q->kids[p->q->nkids++];
        n->kids[0] = k;
        n->nkids = 1;
        *out = n;
        return WEFT_OK;
    }
    return atom(p, out);
}

static bool
at_or(const parser *p)
{
    return strncmp(p->s + p->i, "OR", 2) == 0
        && (p->s[p->i + 2] == ' ' || p->s[p->i + 2] == 0
            || p->s[p->i + 2] == '(');
}

/* group collects the children of an AND or OR node kind. */
static weft_err
group(parser *p, qkind kind, qnode **items, int n, size_t at, qnode **out)
{
    qnode *g;

    if (n == 1) {
        *out = items[0];
        return WEFT_OK;
    }
    if ((g = node(p, kind, at)) == NULL || p->q->nkids + n > QUERY_NODES_MAX)
        return fail(p, at, "%s", "the query has too many parts");
    g->kids = &p->q->kids[p->q->nkids];
    memcpy(g->kids, items, (size_t) n * sizeof(*items));
    p->q->nkids += n;
    g->nkids = n;
    *out = g;
    return WEFT_OK;
}

static weft_err
parse_and(parser *p, qnode **out)
{
    qnode   *items[QUERY_NODES_MAX];
    int      n = 0;
    size_t   at;
    weft_err err;

    while (p->s[p->i] == ' ')
        p->i++;
    at = p->i;
    for (;;) {
        while (p->s[p->i] == ' ')
            p->i++;
        if (p->s[p->i] == 0 || p->s[p->i] == ')' || at_or(p))
            break;
        if (n == QUERY_NODES_MAX)
            return fail(p, p->i, "%s", "the query has too many parts");
        if ((err = unary(p, &items[n++])))
            return err;
    }
    if (n == 0)
        return fail(p, at, "%s",
            p->s[at] == 0 ? "the query ends where a word was expected"
                          : "a word was expected here");
    return group(p, Q_AND, items, n, at, out);
}

static weft_err
parse_or(parser *p, qnode **out)
{
    qnode   *items[QUERY_NODES_MAX];
    int      n = 0;
    size_t   at = p->i;
    weft_err err;

    for (;;) {
        if (n == QUERY_NODES_MAX)
            return fail(p, p->i, "%s", "the query has too many parts");
        if ((err = parse_and(p, &items[n++])))
            return err;
        while (p->s[p->i] == ' ')
            p->i++;
        if (!at_or(p))
            break;
        p->i += 2;
    }
    return group(p, Q_OR, items, n, at, out);
}

weft_err
query_parse(const char *text, query **out, weft_diag *d)
{
    parser   p = { NULL, text, 0, 0, d };
    size_t   len = strlen(text);
    char     norm[QUERY_MAX + 1];
    weft_err err;

    *out = NULL;
    if (len > QUERY_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "the query is %zu bytes, over the %d-byte limit", len, QUERY_MAX);
    /* Tabs and newlines are spaces; other control bytes are refused. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        if (c == '\t' || c == '\n' || c == '\r')
            c = ' ';
        else if (c < 0x20 || c == 0x7f)
            return weft_diagf(
                d, WEFT_EINVAL, "column %zu: a control character", i + 1);
        norm[i] = (char) c;
    }
    norm[len] = 0;
    p.s = norm;
    if ((p.q = calloc(1, sizeof(*p.q))) == NULL)
        return WEFT_ENOMEM;
    while (norm[p.i] == ' ')
        p.i++;
    if (norm[p.i] != 0) {
        if ((err = parse_or(&p, &p.q->root)) != WEFT_OK) {
            free(p.q);
            return err;
        }
        while (norm[p.i] == ' ')
            p.i++;
        if (norm[p.i] != 0) {
            err = fail(&p, p.i, "%s",
                norm[p.i] == ')' ? "')' has no '(' before it"
                                 : "this was not expected here");
            free(p.q);
            return err;
        }
    }
    *out = p.q;
    return WEFT_OK;
}

void
query_free(query *q)
{
    free(q);
}

const qnode *
query_root(const query *q)
{
    return q ? q->root : NULL;
}

/* ---- matching --------------------------------------------------------------
 */

int
query_field_texts(const pv *sum, qfield f, const char **out, int max)
{
    static const char *const lists[] = {
        [QF_TAGS] = "tags", [QF_SCHEMAS] = "schemas", [QF_FIELDS] = "fields"
    };
    const pv *l;
    int       n = 0;

    if (f == QF_NAME || f == QF_DESC) {
        const char *s = pv_getstr(sum, f == QF_NAME ? "name" : "desc");

        if (s != NULL && max > 0)
            out[n++] = s;
        return n;
    }
    l = pv_get(sum, lists[f]);
    for (uint32_t i = 0; l && l->type == PV_ARR && i < l->u.a.n && n < max; i++)
        if (l->u.a.v[i]->type == PV_STR)
            out[n++] = l->u.a.v[i]->u.s.p;
    return n;
}

typedef struct seek {
    const char *want; /* word, prefix, or the phrase's words */
    size_t      wl;
    qkind       kind;
    bool        found;
    /* phrases: how many of the phrase's words matched in a row */
    const char *next;
} seek;

/* phrase_step matches word w as the phrase's next word; false if not. */
static bool
phrase_step(seek *k, const char *w)
{
    size_t wl = strlen(w);

    if (strncmp(k->next, w, wl) != 0
        || (k->next[wl] != ' ' && k->next[wl] != 0))
        return false;
    k->next += wl;
    if (*k->next == 0)
        k->found = true;
    else
        k->next++;
    return true;
}

static void
seek_cb(void *ctx, const char *w)
{
    seek *k = ctx;

    if (k->found)
        return;
    if (k->kind == Q_WORD)
        k->found = strcmp(w, k->want) == 0;
    else if (k->kind == Q_PREFIX)
        k->found = strncmp(w, k->want, k->wl) == 0;
    else if (!phrase_step(k, w)) { /* a phrase: words in a row */
        k->next = k->want;
        phrase_step(k, w); /* this word may start the phrase again */
    }
}

static bool
text_match(const qnode *n, const pv *sum)
{
    const char *texts[256];

    for (int f = 0; f < QF_COUNT; f++) {
        int c = query_field_texts(sum, (qfield) f, texts, 256);

        for (int i = 0; i < c; i++) {
            seek k = { n->text, strlen(n->text), n->kind, false, n->text };

            query_tokens(texts[i], seek_cb, &k);
            if (k.found)
                return true;
        }
    }
    /* The name part of the id too: products named by their id. */
    {
        const char *id = pv_getstr(sum, "id"), *slash;
        seek        k = { n->text, strlen(n->text), n->kind, false, n->text };

        if (id && (slash = strchr(id, '/')) != NULL) {
            query_tokens(slash + 1, seek_cb, &k);
            return k.found;
        }
    }
    return false;
}

static bool
list_has(const pv *l, const char *v)
{
    for (uint32_t i = 0; l && l->type == PV_ARR && i < l->u.a.n; i++)
        if (l->u.a.v[i]->type == PV_STR
            && strcasecmp(l->u.a.v[i]->u.s.p, v) == 0)
            return true;
    return false;
}

static bool
filter_match(const qnode *n, const pv *sum)
{
    const char *k = n->key, *v = n->text, *s;

    if (strcmp(k, "tag") == 0)
        return list_has(pv_get(sum, "tags"), v);
    if (strcmp(k, "interface") == 0)
        return list_has(pv_get(sum, "ifaces"), v);
    if (strcmp(k, "format") == 0)
        return list_has(pv_get(sum, "formats"), v);
    if (strcmp(k, "field") == 0)
        return list_has(pv_get(sum, "fields"), v);
    s = pv_getstr(sum, strcmp(k, "class") == 0 ? "class" : k);
    return s != NULL && strcasecmp(s, v) == 0;
}

static bool
cmp_match(const qnode *n, const pv *sum)
{
    const pv *q = pv_get(sum, "quality");
    const pv *m
        = pv_get(q, strcmp(n->key, "freshness") == 0 ? "freshness_s" : n->key);
    double x;

    if (m == NULL || (m->type != PV_INT && m->type != PV_FLOAT))
        return false; /* undeclared: no comparison holds */
    x = m->type == PV_INT ? (double) m->u.i : m->u.f;
    if (strcmp(n->op, ">=") == 0)
        return x >= n->num;
    if (strcmp(n->op, "<=") == 0)
        return x <= n->num;
    if (strcmp(n->op, ">") == 0)
        return x > n->num;
    if (strcmp(n->op, "<") == 0)
        return x < n->num;
    return x == n->num;
}

static bool
match(const qnode *n, const pv *sum)
{
    switch (n->kind) {
    case Q_AND:
        for (int i = 0; i < n->nkids; i++)
            if (!match(n->kids[i], sum))
                return false;
        return true;
    case Q_OR:
        for (int i = 0; i < n->nkids; i++)
            if (match(n->kids[i], sum))
                return true;
        return false;
    case Q_NOT:
        return !match(n->kids[0], sum);
    case Q_FILTER:
        return filter_match(n, sum);
    case Q_CMP:
        return cmp_match(n, sum);
    default:
        return text_match(n, sum);
    }
}

bool
query_node_match(const qnode *n, const pv *sum)
{
    return n == NULL || match(n, sum);
}

bool
query_match(const query *q, const pv *sum)
{
    return q == NULL || q->root == NULL || match(q->root, sum);
}
