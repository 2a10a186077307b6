/*
 * yaml.c: YAML text to a pv tree, with libyaml's event parser. The tree is
 * built with an explicit stack (never recursion), so a hostile document
 * cannot exhaust the C stack; every limit in util/weft.h that concerns a
 * document is checked as the events arrive, before anything is stored.
 *
 * Only the parts of YAML a descriptor needs are accepted: one document,
 * scalar keys, the core schema's tags. Anchors and aliases are refused
 * outright (they are how "billion laughs" documents work, and a descriptor
 * has no use for them). Plain scalars resolve as in the YAML 1.2 core
 * schema; quoted, literal and folded scalars are always strings.
 *
 * The bottom of the file holds a small hash set of strings that yaml.c uses
 * to find duplicate keys and model.c uses to keep lists unique.
 */
#include "proto/proto.h"
#include "proto/proto_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* frame is one open collection: a map waiting for a key or a value, or a
 * list. scope tells the maps apart in the shared duplicate-key set. */
typedef struct frame {
    pv      *coll;
    pv      *key; /* maps: the key waiting for its value, or NULL */
    uint32_t scope;
} frame;

typedef struct yp {
    pv_arena      *a;
    weft_diag     *d;
    const uint8_t *text;
    size_t         n;
    frame          stack[WEFT_DEPTH_MAX];
    int            depth;
    uint32_t       nodes;
    uint32_t       scopes;
    int            docs;
    bool           done;
    pv            *root;
    proto__strset *keys;
} yp;

static uint32_t
clamp32(size_t v)
{
    return v >= UINT32_MAX ? UINT32_MAX : (uint32_t) v + 1;
}

/* fail reports problem at libyaml mark m (0-based) as 1-based "line, col". */
static weft_err fail(yp *p, weft_err err, const yaml_mark_t *m, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static weft_err
fail(yp *p, weft_err err, const yaml_mark_t *m, const char *fmt, ...)
{
    char    what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return weft_diagf(p->d, err, "line %lu, column %lu: %s",
        (unsigned long) clamp32(m->line), (unsigned long) clamp32(m->column),
        what);
}

/* offset_mark turns a byte offset into a mark, counting characters (not
 * bytes) in the column as libyaml does. Used for reader errors, which
 * libyaml reports by offset only. */
static yaml_mark_t
offset_mark(const yp *p, size_t off)
{
    yaml_mark_t m = { 0, 0, 0 };
    size_t      i;

    for (i = 0; i < off && i < p->n; i++) {
        if (p->text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if ((p->text[i] & 0xC0) != 0x80) {
            m.column++;
        }
    }
    m.index = off;
    return m;
}

/* parser_error translates libyaml's error state at the module boundary. */
static weft_err
parser_error(yp *p, const yaml_parser_t *ps)
{
    const char *problem = ps->problem ? ps->problem : "malformed YAML";
    yaml_mark_t m;

    switch (ps->error) {
    case YAML_MEMORY_ERROR:
        return weft_diagf(p->d, WEFT_ENOMEM, "out of memory parsing YAML");
    case YAML_READER_ERROR:
        m = offset_mark(p, ps->problem_offset);
        if (ps->problem_value != -1)
            return fail(p, WEFT_ESYNTAX, &m, "%s (byte 0x%02x)", problem,
                (unsigned) ps->problem_value & 0xFFu);
        return fail(p, WEFT_ESYNTAX, &m, "%s", problem);
    default:
        if (ps->context != NULL)
            return fail(p, WEFT_ESYNTAX, &ps->problem_mark,
                "%s (%s at line %lu, column %lu)", problem, ps->context,
                (unsigned long) clamp32(ps->context_mark.line),
                (unsigned long) clamp32(ps->context_mark.column));
        return fail(p, WEFT_ESYNTAX, &ps->problem_mark, "%s", problem);
    }
}

/* ---- scalar resolution (YAML 1.2 core schema) ------------------------- */

static bool
is_one_of(const char *s, size_t n, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strlen(*words) == n && memcmp(s, *words, n) == 0)
            return true;
    return false;
}

static bool
all_in(const char *s, size_t n, const char *set)
{
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] == 0 || strchr(set, s[i]) == NULL)
            return false;
    return true;
}

/* parse_int resolves the core schema's int forms. It returns false if s
 * is not one, and sets *big (the scalar then stays a string) when s is one
 * but does not fit int64. */
static bool
parse_int(const char *s, size_t n, int64_t *out, bool *big)
{
    const char *digits = "0123456789";
    uint64_t    v = 0, lim = INT64_MAX;
    unsigned    base = 10;
    bool        neg = false;
    size_t      i = 0;

    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        digits = base == 16 ? "0123456789abcdefABCDEF" : "01234567";
        i = 2;
    } else if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        lim = neg ? (uint64_t) INT64_MAX + 1 : INT64_MAX;
        i = 1;
    }
    if (!all_in(s + i, n - i, digits))
        return false;
    for (; i < n; i++) {
        unsigned c = (unsigned char) s[i];
        unsigned dv = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

        if (v > (lim - dv) / base) {
            *big = true;
            return false;
        }
        v = v * base + dv;
    }
    *out = neg ? (int64_t) (0 - v) : (int64_t) v;
    return true;
}

/* float_syntax matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool
float_syntax(const char *s, size_t n)
{
    size_t i = 0, intd = 0, fracd = 0, expd = 0;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        intd++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            fracd++;
    if (intd == 0 && fracd == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            expd++;
        if (expd == 0)
            return false;
    }
    return i == n;
}

/* parse_float resolves a finite core-schema float. .inf and .nan are kept
 * as strings: NaN has no canonical encoding, and neither makes sense in a
 * descriptor. Overflow to infinity also stays a string. */
static bool
parse_float(const char *s, size_t n, double *out)
{
    char  *end;
    double f;

    if (!float_syntax(s, n))
        return false;
    errno = 0;
    f = strtod(s, &end);
    if (end != s + n || (errno == ERANGE && (f > 1.0 || f < -1.0)))
        return false;
    *out = f;
    return true;
}

/* resolve_plain makes the core-schema value of plain scalar s[0..n). */
static pv *
resolve_plain(pv_arena *a, const char *s, size_t n)
{
    static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
    static const char *const trues[] = { "true", "True", "TRUE", NULL };
    static const char *const falses[] = { "false", "False", "FALSE", NULL };
    int64_t                  i;
    double                   f;
    bool                     big = false;

    if (n == 0 || is_one_of(s, n, nulls))
        return pv_nil(a);
    if (is_one_of(s, n, trues))
        return pv_bool(a, true);
    if (is_one_of(s, n, falses))
        return pv_bool(a, false);
    if (parse_int(s, n, &i, &big))
        return pv_int(a, i);
    if (!big && parse_float(s, n, &f))
        return pv_float(a, f);
    return pv_str(a, s, n);
}

#define CORE "tag:yaml.org,2002:"

/* tagged applies an explicit core tag to a scalar; *ok is false when the
 * tag is not a core scalar tag or the scalar does not fit it. */
static pv *
tagged(pv_arena *a, const char *tag, const char *s, size_t n, bool *ok)
{
    static const struct {
        const char *name;
        pv_type     type;
    } tags[] = { { CORE "null", PV_NIL }, { CORE "bool", PV_BOOL },
        { CORE "int", PV_INT }, { CORE "float", PV_FLOAT } };
    pv    *v;
    size_t i;

    *ok = true;
    if (strcmp(tag, "!") == 0 || strcmp(tag, CORE "str") == 0)
        return pv_str(a, s, n);
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (strcmp(tag, tags[i].name) != 0)
            continue;
        v = resolve_plain(a, s, n);
        if (v != NULL && v->type == PV_INT && tags[i].type == PV_FLOAT)
            return pv_float(a, (double) v->u.i);
        *ok = v == NULL || v->type == tags[i].type;
        return v;
    }
    *ok = false;
    return NULL;
}

/* ---- building the tree ------------------------------------------------ */

static weft_err
full(yp *p, const yaml_mark_t *m)
{
    return fail(
        p, WEFT_ETOOBIG, m, "the document needs more memory than allowed");
}

/* add_key takes scalar key k for the map on top of the stack. */
static weft_err
add_key(yp *p, frame *f, pv *k, const yaml_mark_t *m)
{
    const void *old = NULL;
    weft_err    err;

    if (f->coll->u.m.n >= WEFT_ITEMS_MAX)
        return fail(p, WEFT_ETOOBIG, m, "more than %d entries in one map",
            WEFT_ITEMS_MAX);
    err = proto__strset_put(p->keys, f->scope, k->u.s.p, k->u.s.len, k, &old);
    if (err != WEFT_OK)
        return err == WEFT_ENOMEM ? full(p, m) : err;
    if (old != NULL)
        return fail(p, WEFT_ESYNTAX, m,
            "duplicate key '%.80s' (first at line %lu)", k->u.s.p,
            (unsigned long) ((const pv *) old)->line);
    f->key = k;
    return WEFT_OK;
}

/* add_value places v (already counted) under the collection on top. */
static weft_err
add_value(yp *p, pv *v, const yaml_mark_t *m)
{
    frame   *f;
    weft_err err;

    if (p->depth == 0) {
        p->root = v;
        return WEFT_OK;
    }
    f = &p->stack[p->depth - 1];
    if (f->coll->type == PV_ARR) {
        if (f->coll->u.a.n >= WEFT_ITEMS_MAX)
            return fail(p, WEFT_ETOOBIG, m, "more than %d entries in one list",
                WEFT_ITEMS_MAX);
        err = pv_push(p->a, f->coll, v);
    } else {
        err = pv_append(p->a, f->coll, f->key, v);
        f->key = NULL;
    }
    return err == WEFT_OK ? WEFT_OK : full(p, m);
}

/* count charges one value against WEFT_NODES_MAX. */
static weft_err
count(yp *p, const yaml_mark_t *m)
{
    if (p->nodes >= WEFT_NODES_MAX)
        return fail(p, WEFT_ETOOBIG, m, "more than %u values in the document",
            (unsigned) WEFT_NODES_MAX);
    p->nodes++;
    return WEFT_OK;
}

static bool
expecting_key(const yp *p)
{
    const frame *f;

    if (p->depth == 0)
        return false;
    f = &p->stack[p->depth - 1];
    return f->coll->type == PV_MAP && f->key == NULL;
}

static weft_err
on_scalar(yp *p, const yaml_event_t *ev)
{
    const char        *s = (const char *) ev->data.scalar.value;
    size_t             n = ev->data.scalar.length;
    const yaml_mark_t *m = &ev->start_mark;
    const char        *tag = (const char *) ev->data.scalar.tag;
    bool               ok = true;
    weft_err           err;
    pv                *v;

    if (n > WEFT_STR_MAX)
        return fail(p, WEFT_ETOOBIG, m, "a scalar of %zu bytes, more than %u",
            n, (unsigned) WEFT_STR_MAX);
    if (memchr(s, 0, n) != NULL)
        return fail(p, WEFT_ESYNTAX, m, "NUL characters are not allowed");
    if ((err = count(p, m)) != WEFT_OK)
        return err;
    if (expecting_key(p) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        v = tag == NULL ? pv_str(p->a, s, n) : tagged(p->a, tag, s, n, &ok);
    else
        v = tag == NULL ? resolve_plain(p->a, s, n)
                        : tagged(p->a, tag, s, n, &ok);
    if (!ok)
        return fail(
            p, WEFT_ESYNTAX, m, "tag '%.80s' does not fit '%.80s'", tag, s);
    if (v == NULL)
        return full(p, m);
    if (expecting_key(p) && v->type != PV_STR)
        return fail(p, WEFT_ESYNTAX, m, "a map key must be a string");
    v->line = clamp32(m->line);
    v->col = clamp32(m->column);
    if (expecting_key(p))
        return add_key(p, &p->stack[p->depth - 1], v, m);
    return add_value(p, v, m);
}

/* on_start opens a map or list. */
static weft_err
on_start(yp *p, const yaml_event_t *ev, bool map)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char        *tag = (const char *) (map ? ev->data.mapping_start.tag
                                                 : ev->data.sequence_start.tag);
    weft_err           err;
    pv                *v;

    if (tag != NULL && strcmp(tag, map ? CORE "map" : CORE "seq") != 0)
        return fail(p, WEFT_ESYNTAX, m, "tag '%.80s' is not supported", tag);
    if (expecting_key(p))
        return fail(p, WEFT_ESYNTAX, m, "a map key must be a scalar");
    if (p->depth >= WEFT_DEPTH_MAX)
        return fail(
            p, WEFT_ETOOBIG, m, "nesting deeper than %d", WEFT_DEPTH_MAX);
    if ((err = count(p, m)) != WEFT_OK)
        return err;
    if ((v = map ? pv_map(p->a) : pv_arr(p->a)) == NULL)
        return full(p, m);
    v->line = clamp32(m->line);
    v->col = clamp32(m->column);
    if ((err = add_value(p, v, m)) != WEFT_OK)
        return err;
    p->stack[p->depth].coll = v;
    p->stack[p->depth].key = NULL;
    p->stack[p->depth].scope = p->scopes++;
    p->depth++;
    return WEFT_OK;
}

static const char *
anchor_of(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return (const char *) ev->data.scalar.anchor;
    case YAML_MAPPING_START_EVENT:
        return (const char *) ev->data.mapping_start.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return (const char *) ev->data.sequence_start.anchor;
    default:
        return NULL;
    }
}

/* on_event advances the tree builder by one libyaml event. */
static weft_err
on_event(yp *p, const yaml_event_t *ev)
{
    if (ev->type == YAML_ALIAS_EVENT || anchor_of(ev) != NULL)
        return fail(p, WEFT_ESYNTAX, &ev->start_mark,
            "anchors and aliases are not supported");
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (p->docs++ > 0)
            return fail(p, WEFT_ESYNTAX, &ev->start_mark,
                "only one document is allowed, found a second");
        return WEFT_OK;
    case YAML_SCALAR_EVENT:
        return on_scalar(p, ev);
    case YAML_MAPPING_START_EVENT:
        return on_start(p, ev, true);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(p, ev, false);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        p->depth--; /* libyaml pairs every end with its start */
        return WEFT_OK;
    case YAML_STREAM_END_EVENT:
        p->done = true;
        if (p->docs == 0)
            return weft_diagf(p->d, WEFT_ESCHEMA, "empty document");
        return WEFT_OK;
    default:
        return WEFT_OK;
    }
}

weft_err
proto_yaml_parse(
    pv_arena *a, const uint8_t *text, size_t n, pv **out, weft_diag *d)
{
    yaml_parser_t ps;
    yaml_event_t  ev;
    yp           *p;
    weft_err      err = WEFT_OK;

    if (n > WEFT_DOC_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "line 1, column 1: the document is %zu bytes, "
            "more than %u",
            n, (unsigned) WEFT_DOC_MAX);
    if ((p = calloc(1, sizeof(*p))) == NULL
        || (p->keys = proto__strset_new()) == NULL
        || !yaml_parser_initialize(&ps)) {
        if (p != NULL)
            proto__strset_free(p->keys);
        free(p);
        return weft_diagf(d, WEFT_ENOMEM, "out of memory");
    }
    p->a = a;
    p->d = d;
    p->text = text;
    p->n = n;
    yaml_parser_set_input_string(&ps, n ? text : (const uint8_t *) "", n);
    yaml_parser_set_encoding(&ps, YAML_UTF8_ENCODING);
    while (err == WEFT_OK && !p->done) {
        if (!yaml_parser_parse(&ps, &ev)) {
            err = parser_error(p, &ps);
            break;
        }
        err = on_event(p, &ev);
        yaml_event_delete(&ev);
    }
    if (err == WEFT_OK)
        *out = p->root;
    yaml_parser_delete(&ps);
    proto__strset_free(p->keys);
    free(p);
    return err;
}

/* ---- string sets ------------------------------------------------------ */

/*
 * proto__strset is an open-addressing hash set of (scope, bytes) pairs with
 * a tag per entry. It stores the caller's pointer, not a copy: the strings
 * live in an arena that outlives the set. Scope lets one set serve many
 * maps at once (yaml.c numbers its maps).
 */
typedef struct slot {
    const char *p;
    const void *tag;
    uint32_t    n;
    uint32_t    scope;
} slot;

struct proto__strset {
    slot  *slots;
    size_t used, cap; /* cap is a power of two */
};

proto__strset *
proto__strset_new(void)
{
    return calloc(1, sizeof(proto__strset));
}

void
proto__strset_free(proto__strset *s)
{
    if (s == NULL)
        return;
    free(s->slots);
    free(s);
}

static uint64_t
hash(uint32_t scope, const char *p, size_t n)
{
    uint64_t h
        = 14695981039346656037ull ^ ((uint64_t) scope * 0x9E3779B97F4A7C15ull);
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char) p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static slot *
lookup(const proto__strset *s, uint32_t scope, const char *p, size_t n)
{
    size_t i = (size_t) hash(scope, p, n) & (s->cap - 1);

    for (;; i = (i + 1) & (s->cap - 1)) {
        slot *e = &s->slots[i];

        if (e->p == NULL
            || (e->scope == scope && e->n == n && memcmp(e->p, p, n) == 0))
            return e;
    }
}

static weft_err
rehash(proto__strset *s)
{
    size_t i, ncap = s->cap ? s->cap * 2 : 64;
    slot  *old = s->slots, *e;
    size_t ocap = s->cap;

    if ((s->slots = calloc(ncap, sizeof(slot))) == NULL) {
        s->slots = old;
        return WEFT_ENOMEM;
    }
    s->cap = ncap;
    for (i = 0; i < ocap; i++) {
        if (old[i].p == NULL)
            continue;
        e = lookup(s, old[i].scope, old[i].p, old[i].n);
        *e = old[i];
    }
    free(old);
    return WEFT_OK;
}

/*
 * proto__strset_put adds (scope, p[0..n)) with tag. When the pair is already
 * there, *old is the first tag and the set is unchanged; else *old is NULL.
 */
weft_err
proto__strset_put(proto__strset *s, uint32_t scope, const char *p, size_t n,
    const void *tag, const void **old)
{
    slot *e;

    if (n >= UINT32_MAX)
        return WEFT_ETOOBIG;
    if ((s->used + 1) * 2 > s->cap && rehash(s) != WEFT_OK)
        return WEFT_ENOMEM;
    e = lookup(s, scope, p, n);
    if (e->p != NULL) {
        *old = e->tag;
        return WEFT_OK;
    }
    e->p = p;
    e->n = (uint32_t) n;
    e->scope = scope;
    e->tag = tag;
    s->used++;
    *old = NULL;
    return WEFT_OK;
}
