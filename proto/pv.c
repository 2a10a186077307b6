/*
 * pv.c: value trees and the arena they live in. Every document, summary
 * and message is decoded into a pv tree held by one arena; freeing the
 * arena frees the tree at once, so error paths never leak half a tree.
 * The arena has a hard maximum, which bounds what hostile input can cost.
 */
#include "proto/proto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (16u << 10)

typedef struct chunk {
    struct chunk *next;
    size_t        used, size;
    /* Data follows, aligned for any value. */
    max_align_t data[];
} chunk;

struct pv_arena {
    chunk *first, *cur, *last; /* chunks in the order they were made */
    size_t total, max;
};

pv_arena *
pv_arena_new(size_t max)
{
    pv_arena *a = calloc(1, sizeof(*a));

    if (a != NULL)
        a->max = max;
    return a;
}

void
pv_arena_free(pv_arena *a)
{
    chunk *c, *next;

    if (a == NULL)
        return;
    for (c = a->first; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void
pv_arena_reset(pv_arena *a)
{
    /* Keep every chunk: a loop that resets its arena per item then reuses
     * warm memory instead of faulting in fresh pages each time. */
    for (chunk *c = a->first; c != NULL; c = c->next)
        c->used = 0;
    a->cur = a->first;
}

/* grow_chunk appends a chunk with room for n bytes; NULL past the max. */
static chunk *
grow_chunk(pv_arena *a, size_t n)
{
    size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
    chunk *c;

    if (a->last != NULL && a->last->size < (1u << 20)
        && a->last->size * 2 > size)
        size = a->last->size * 2;
    if (a->total > a->max || n > a->max - a->total)
        return NULL;
    if (size > a->max - a->total)
        size = a->max - a->total; /* a small arena's last chunk */
    if ((c = malloc(sizeof(*c) + size)) == NULL)
        return NULL;
    c->next = NULL;
    c->used = 0;
    c->size = size;
    if (a->last != NULL)
        a->last->next = c;
    else
        a->first = c;
    a->last = c;
    a->total += size;
    return c;
}

void *
pv_alloc(pv_arena *a, size_t n)
{
    chunk *c = a->cur;
    void  *p;

    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n == 0)
        n = sizeof(max_align_t);
    /* Move on through kept chunks (after a reset) before making one. */
    while (c != NULL && c->size - c->used < n)
        c = c->next;
    if (c == NULL && (c = grow_chunk(a, n)) == NULL)
        return NULL;
    a->cur = c;
    p = (char *) c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *
pv_strdup(pv_arena *a, const char *s, size_t n)
{
    char *p;

    if (n >= UINT32_MAX || (p = pv_alloc(a, n + 1)) == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static pv *
mk(pv_arena *a, pv_type t)
{
    pv *v = pv_alloc(a, sizeof(*v));

    if (v != NULL)
        v->type = t;
    return v;
}

pv *
pv_nil(pv_arena *a)
{
    return mk(a, PV_NIL);
}

pv *
pv_bool(pv_arena *a, bool b)
{
    pv *v = mk(a, PV_BOOL);

    if (v != NULL)
        v->u.b = b;
    return v;
}

pv *
pv_int(pv_arena *a, int64_t i)
{
    pv *v = mk(a, PV_INT);

    if (v != NULL)
        v->u.i = i;
    return v;
}

pv *
pv_float(pv_arena *a, double f)
{
    pv *v = mk(a, PV_FLOAT);

    if (v != NULL)
        v->u.f = f;
    return v;
}

static pv *
mkbytes(pv_arena *a, pv_type t, const void *p, size_t n)
{
    pv   *v = mk(a, t);
    char *s;

    if (v == NULL || (s = pv_strdup(a, p, n)) == NULL)
        return NULL;
    v->u.s.p = s;
    v->u.s.len = (uint32_t) n;
    return v;
}

pv *
pv_str(pv_arena *a, const char *s, size_t n)
{
    return mkbytes(a, PV_STR, s, n);
}

pv *
pv_strz(pv_arena *a, const char *s)
{
    return s == NULL ? pv_nil(a) : mkbytes(a, PV_STR, s, strlen(s));
}

pv *
pv_bin(pv_arena *a, const void *p, size_t n)
{
    return mkbytes(a, PV_BIN, p, n);
}

pv *
pv_arr(pv_arena *a)
{
    return mk(a, PV_ARR);
}

pv *
pv_map(pv_arena *a)
{
    return mk(a, PV_MAP);
}

/* grow makes room for one more slot of size sz in *slots (n used, *cap). */
static weft_err
grow(pv_arena *a, void **slots, uint32_t n, uint32_t *cap, size_t sz)
{
    uint32_t ncap;
    void    *p;

    if (n < *cap)
        return WEFT_OK;
    if (n >= WEFT_ITEMS_MAX * 4u)
        return WEFT_ETOOBIG;
    ncap = *cap ? *cap * 2 : 4;
    if ((p = pv_alloc(a, (size_t) ncap * sz)) == NULL)
        return WEFT_ENOMEM;
    if (n > 0)
        memcpy(p, *slots, (size_t) n * sz);
    *slots = p;
    *cap = ncap;
    return WEFT_OK;
}

weft_err
pv_push(pv_arena *a, pv *arr, pv *item)
{
    weft_err err;
    void    *slots;

    if (arr == NULL || item == NULL || arr->type != PV_ARR)
        return item == NULL ? WEFT_ENOMEM : WEFT_EINVAL;
    slots = arr->u.a.v;
    err = grow(a, &slots, arr->u.a.n, &arr->u.a.cap, sizeof(pv *));
    if (err != WEFT_OK)
        return err;
    arr->u.a.v = slots;
    arr->u.a.v[arr->u.a.n++] = item;
    return WEFT_OK;
}

static pv_kv *
find(const pv *m, const char *key, size_t klen)
{
    uint32_t i;

    if (m == NULL || m->type != PV_MAP)
        return NULL;
    for (i = 0; i < m->u.m.n; i++) {
        const pv *k = m->u.m.kv[i].k;

        if (k->u.s.len == klen && memcmp(k->u.s.p, key, klen) == 0)
            return &m->u.m.kv[i];
    }
    return NULL;
}

weft_err
pv_set(pv_arena *a, pv *m, const char *key, pv *val)
{
    size_t   klen = strlen(key);
    pv_kv   *kv;
    pv      *k;
    void    *slots;
    weft_err err;

    if (val == NULL)
        return WEFT_ENOMEM;
    if (m == NULL || m->type != PV_MAP)
        return WEFT_EINVAL;
    if ((kv = find(m, key, klen)) != NULL) {
        kv->v = val;
        return WEFT_OK;
    }
    if ((k = pv_str(a, key, klen)) == NULL)
        return WEFT_ENOMEM;
    slots = m->u.m.kv;
    err = grow(a, &slots, m->u.m.n, &m->u.m.cap, sizeof(pv_kv));
    if (err != WEFT_OK)
        return err;
    m->u.m.kv = slots;
    m->u.m.kv[m->u.m.n].k = k;
    m->u.m.kv[m->u.m.n++].v = val;
    return WEFT_OK;
}

weft_err
pv_append(pv_arena *a, pv *m, pv *k, pv *v)
{
    pv_kv   *kv;
    uint32_t cap;

    if (m->u.m.n == m->u.m.cap) {
        cap = m->u.m.cap ? m->u.m.cap * 2 : 8;
        if ((kv = pv_alloc(a, (size_t) cap * sizeof(*kv))) == NULL)
            return WEFT_ETOOBIG;
        if (m->u.m.n > 0)
            memcpy(kv, m->u.m.kv, (size_t) m->u.m.n * sizeof(*kv));
        m->u.m.kv = kv;
        m->u.m.cap = cap;
    }
    m->u.m.kv[m->u.m.n].k = k;
    m->u.m.kv[m->u.m.n++].v = v;
    return WEFT_OK;
}

weft_err
pv_setstr(pv_arena *a, pv *m, const char *key, const char *s)
{
    return pv_set(a, m, key, pv_strz(a, s));
}

weft_err
pv_setint(pv_arena *a, pv *m, const char *key, int64_t i)
{
    return pv_set(a, m, key, pv_int(a, i));
}

pv *
pv_get(const pv *m, const char *key)
{
    pv_kv *kv = find(m, key, strlen(key));

    return kv ? kv->v : NULL;
}

const char *
pv_getstr(const pv *m, const char *key)
{
    const pv *v = pv_get(m, key);

    return v != NULL && v->type == PV_STR ? v->u.s.p : NULL;
}

int64_t
pv_getint(const pv *m, const char *key, int64_t def)
{
    const pv *v = pv_get(m, key);

    return v != NULL && v->type == PV_INT ? v->u.i : def;
}

bool
pv_getbool(const pv *m, const char *key)
{
    const pv *v = pv_get(m, key);

    return v != NULL && v->type == PV_BOOL && v->u.b;
}

pv *
pv_copy(pv_arena *a, const pv *v)
{
    pv      *c;
    uint32_t i;

    switch (v->type) {
    case PV_STR:
    case PV_BIN:
        c = mkbytes(a, v->type, v->u.s.p, v->u.s.len);
        break;
    case PV_ARR:
        if ((c = pv_arr(a)) == NULL)
            return NULL;
        for (i = 0; i < v->u.a.n; i++)
            if (pv_push(a, c, pv_copy(a, v->u.a.v[i])) != WEFT_OK)
                return NULL;
        break;
    case PV_MAP:
        if ((c = pv_map(a)) == NULL)
            return NULL;
        /* Fill the entries directly: keys are already unique, and pv_set's
         * lookup would make wide maps quadratic. */
        if (v->u.m.n > 0
            && (c->u.m.kv = pv_alloc(a, v->u.m.n * sizeof(pv_kv))) == NULL)
            return NULL;
        c->u.m.cap = v->u.m.n;
        for (i = 0; i < v->u.m.n; i++) {
            pv_kv *kv = &c->u.m.kv[i];

            if ((kv->k = pv_copy(a, v->u.m.kv[i].k)) == NULL
                || (kv->v = pv_copy(a, v->u.m.kv[i].v)) == NULL)
                return NULL;
            c->u.m.n++;
        }
        break;
    default:
        if ((c = mk(a, v->type)) == NULL)
            return NULL;
        c->u = v->u;
        break;
    }
    if (c != NULL) {
        c->line = v->line;
        c->col = v->col;
    }
    return c;
}

bool
pv_equal(const pv *x, const pv *y)
{
    uint32_t i;

    if (x->type != y->type)
        return false;
    switch (x->type) {
    case PV_NIL:
        return true;
    case PV_BOOL:
        return x->u.b == y->u.b;
    case PV_INT:
        return x->u.i == y->u.i;
    case PV_FLOAT:
        return memcmp(&x->u.f, &y->u.f, sizeof(double)) == 0;
    case PV_STR:
    case PV_BIN:
        return x->u.s.len == y->u.s.len
            && memcmp(x->u.s.p, y->u.s.p, x->u.s.len) == 0;
    case PV_ARR:
        if (x->u.a.n != y->u.a.n)
            return false;
        for (i = 0; i < x->u.a.n; i++)
            if (!pv_equal(x->u.a.v[i], y->u.a.v[i]))
                return false;
        return true;
    case PV_MAP:
        if (x->u.m.n != y->u.m.n)
            return false;
        for (i = 0; i < x->u.m.n; i++) {
            const pv_kv *kv = &x->u.m.kv[i];
            pv_kv       *o = find(y, kv->k->u.s.p, kv->k->u.s.len);

            if (o == NULL || !pv_equal(kv->v, o->v))
                return false;
        }
        return true;
    }
    return false;
}
