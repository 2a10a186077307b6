/*
 * codec.c: canonical msgpack. Encoding goes through msgpack-c's packer,
 * which already picks the shortest form of every integer, length and
 * header; this file adds sorted map keys. Decoding is our own strict
 * reader, because a canonical decoder must see the wire form (msgpack-c's
 * unpacker hides whether an integer was shortest) and must bound every
 * count by the bytes that remain before it allocates anything.
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ------------------------------------------------------- */

static int
buf_write(void *data, const char *p, size_t n)
{
    return weft_buf_append(data, p, n) == WEFT_OK ? 0 : -1;
}

static int
key_cmp(const void *x, const void *y)
{
    const pv *a = (*(const pv_kv *const *) x)->k;
    const pv *b = (*(const pv_kv *const *) y)->k;
    size_t    n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
    int       c = memcmp(a->u.s.p, b->u.s.p, n);

    if (c != 0)
        return c;
    return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
}

/*
 * sort_keys orders map entries by key. Maps are small (a descriptor's
 * are a dozen keys), where insertion sort beats qsort's set-up; wide
 * maps fall back to qsort.
 */
static void
sort_keys(const pv_kv **kv, uint32_t n)
{
    if (n > 24) {
        qsort(kv, n, sizeof(*kv), key_cmp);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        const pv_kv *x = kv[i];
        uint32_t     j = i;

        for (; j > 0 && key_cmp(&kv[j - 1], &x) > 0; j--)
            kv[j] = kv[j - 1];
        kv[j] = x;
    }
}

static weft_err encode(msgpack_packer *pk, const pv *v, int depth);

static weft_err
encode_map(msgpack_packer *pk, const pv *v, int depth)
{
    const pv_kv *small[32], **kv = small;
    uint32_t     i, n = v->u.m.n;
    weft_err     err = WEFT_OK;

    if (msgpack_pack_map(pk, n) != 0)
        return WEFT_ETOOBIG;
    if (n == 0)
        return WEFT_OK;
    if (n > 32 && (kv = malloc(n * sizeof(*kv))) == NULL)
        return WEFT_ENOMEM;
    for (i = 0; i < n; i++)
        kv[i] = &v->u.m.kv[i];
    sort_keys(kv, n);
    for (i = 0; i < n && err == WEFT_OK; i++) {
        if (i > 0 && key_cmp(&kv[i - 1], &kv[i]) == 0)
            err = WEFT_EINVAL; /* duplicate keys have no canonical form */
        else if ((err = encode(pk, kv[i]->k, depth + 1)) == WEFT_OK)
            err = encode(pk, kv[i]->v, depth + 1);
    }
    if (kv != small)
        free(kv);
    return err;
}

static weft_err
encode(msgpack_packer *pk, const pv *v, int depth)
{
    uint32_t i;
    int      rc = 0;

    if (depth > WEFT_DEPTH_MAX)
        return WEFT_ETOOBIG;
    switch (v->type) {
    case PV_NIL:
        rc = msgpack_pack_nil(pk);
        break;
    case PV_BOOL:
        rc = v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case PV_INT:
        rc = msgpack_pack_int64(pk, v->u.i);
        break;
    case PV_FLOAT:
        if (isnan(v->u.f))
            return WEFT_EINVAL;
        rc = msgpack_pack_double(pk, v->u.f);
        break;
    case PV_STR:
        rc = msgpack_pack_str_with_body(pk, v->u.s.p, v->u.s.len);
        break;
    case PV_BIN:
        rc = msgpack_pack_bin_with_body(pk, v->u.s.p, v->u.s.len);
        break;
    case PV_ARR:
        if (msgpack_pack_array(pk, v->u.a.n) != 0)
            return WEFT_ETOOBIG;
        for (i = 0; i < v->u.a.n; i++) {
            weft_err err = encode(pk, v->u.a.v[i], depth + 1);

            if (err != WEFT_OK)
                return err;
        }
        break;
    case PV_MAP:
        return encode_map(pk, v, depth);
    }
    return rc == 0 ? WEFT_OK : WEFT_ETOOBIG;
}

weft_err
proto_encode(const pv *v, weft_buf *out)
{
    msgpack_packer pk;
    size_t         len = out->len;
    weft_err       err;

    msgpack_packer_init(&pk, out, buf_write);
    if ((err = encode(&pk, v, 0)) != WEFT_OK)
        out->len = len; /* leave the buffer as it was */
    return err;
}

weft_err
proto_hash(const pv *v, uint8_t out[32])
{
    weft_buf b;
    weft_err err;

    weft_buf_init(&b, WEFT_MSG_MAX);
    if ((err = proto_encode(v, &b)) == WEFT_OK)
        crypto_blake2b(b.p, b.len, out);
    weft_buf_free(&b);
    return err;
}

/* ---- strict decoding ------------------------------------------------ */

typedef struct rd {
    const uint8_t *p;
    size_t         n, off;
    pv_arena      *a;
    weft_diag     *d;
} rd;

static weft_err
fail(rd *r, weft_err err, const char *what)
{
    return weft_diagf(r->d, err, "msgpack: byte %zu: %s", r->off, what);
}

static weft_err
take(rd *r, size_t k, uint64_t *out)
{
    uint64_t v = 0;
    size_t   i;

    if (r->n - r->off < k)
        return fail(r, WEFT_ETRUNC, "input ends inside a value");
    for (i = 0; i < k; i++)
        v = v << 8 | r->p[r->off + i];
    r->off += k;
    *out = v;
    return WEFT_OK;
}

/* utf8_ok reports whether n bytes at s are well-formed UTF-8. */
static bool
utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t  c = s[i];
        size_t   k;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07;
        else
            return false;
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static weft_err
rd_bytes(rd *r, pv_type t, uint64_t len, uint64_t minlen, pv **out)
{
    const uint8_t *s = r->p + r->off;

    if (len < minlen)
        return fail(r, WEFT_ENONCANON, "length not in its shortest form");
    if (len > r->n - r->off)
        return fail(r, WEFT_ETRUNC, "input ends inside a string");
    if (t == PV_STR && !utf8_ok(s, len))
        return fail(r, WEFT_ESYNTAX, "string is not valid UTF-8");
    *out = t == PV_STR ? pv_str(r->a, (const char *) s, len)
                       : pv_bin(r->a, s, len);
    r->off += len;
    return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
}

static weft_err rd_value(rd *r, int depth, pv **out);

static weft_err
rd_array(rd *r, uint64_t n, uint64_t minn, int depth, pv **out)
{
    pv      *arr;
    weft_err err;

    if (n < minn)
        return fail(r, WEFT_ENONCANON, "count not in its shortest form");
    if (n > r->n - r->off)
        return fail(r, WEFT_ETRUNC, "array count exceeds the input");
    if (n > WEFT_ITEMS_MAX)
        return fail(r, WEFT_ETOOBIG, "array has too many items");
    if ((arr = pv_arr(r->a)) == NULL)
        return fail(r, WEFT_ETOOBIG, "value too large");
    for (uint64_t i = 0; i < n; i++) {
        pv *item;

        if ((err = rd_value(r, depth + 1, &item)) != WEFT_OK)
            return err;
        if (pv_push(r->a, arr, item) != WEFT_OK)
            return fail(r, WEFT_ETOOBIG, "value too large");
    }
    *out = arr;
    return WEFT_OK;
}

static weft_err
rd_map(rd *r, uint64_t n, uint64_t minn, int depth, pv **out)
{
    pv      *m, *k = NULL, *v, *prev = NULL;
    weft_err err;

    if (n < minn)
        return fail(r, WEFT_ENONCANON, "count not in its shortest form");
    if (n > (r->n - r->off) / 2)
        return fail(r, WEFT_ETRUNC, "map count exceeds the input");
    if (n > WEFT_ITEMS_MAX)
        return fail(r, WEFT_ETOOBIG, "map has too many entries");
    if ((m = pv_map(r->a)) == NULL)
        return fail(r, WEFT_ETOOBIG, "value too large");
    for (uint64_t i = 0; i < n; i++) {
        size_t at = r->off;

        if ((err = rd_value(r, depth + 1, &k)) != WEFT_OK)
            return err;
        if (k->type != PV_STR) {
            r->off = at;
            return fail(r, WEFT_ESYNTAX, "map key is not a string");
        }
        if (prev != NULL) {
            const pv_kv  a = { prev, NULL }, b = { k, NULL };
            const pv_kv *pa = &a, *pb = &b;

            if (key_cmp(&pa, &pb) >= 0) {
                r->off = at;
                return fail(r, WEFT_ENONCANON,
                    "map keys not in strictly ascending order");
            }
        }
        if ((err = rd_value(r, depth + 1, &v)) != WEFT_OK)
            return err;
        if ((err = pv_append(r->a, m, k, v)) != WEFT_OK)
            return fail(r, err, "value too large");
        prev = k;
    }
    *out = m;
    return WEFT_OK;
}

static weft_err
rd_uint(rd *r, size_t k, uint64_t min, pv **out)
{
    uint64_t v = 0;
    weft_err err;

    if ((err = take(r, k, &v)) != WEFT_OK)
        return err;
    if (v < min)
        return fail(r, WEFT_ENONCANON, "integer not in its shortest form");
    if (v > INT64_MAX)
        return fail(r, WEFT_ETOOBIG, "integer out of range");
    *out = pv_int(r->a, (int64_t) v);
    return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
}

static weft_err
rd_sint(rd *r, size_t k, int64_t below, pv **out)
{
    uint64_t u = 0;
    int64_t  v;
    weft_err err;

    if ((err = take(r, k, &u)) != WEFT_OK)
        return err;
    /* Sign-extend the k-byte two's complement value. */
    if (k < 8 && (u >> (8 * k - 1)) & 1)
        u |= ~(uint64_t) 0 << (8 * k);
    memcpy(&v, &u, sizeof(v));
    if (v >= below)
        return fail(r, WEFT_ENONCANON, "integer not in its shortest form");
    *out = pv_int(r->a, v);
    return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
}

static weft_err
rd_float(rd *r, pv **out)
{
    uint64_t u = 0;
    double   f;
    weft_err err;

    if ((err = take(r, 8, &u)) != WEFT_OK)
        return err;
    memcpy(&f, &u, sizeof(f));
    if (isnan(f))
        return fail(r, WEFT_ENONCANON, "NaN has no canonical form");
    *out = pv_float(r->a, f);
    return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
}

static weft_err
rd_value(rd *r, int depth, pv **out)
{
    uint64_t n = 0;
    uint8_t  c;
    weft_err err;

    if (depth > WEFT_DEPTH_MAX)
        return fail(r, WEFT_ETOOBIG, "nested too deeply");
    if (r->off >= r->n)
        return fail(r, WEFT_ETRUNC, "input ends before a value");
    c = r->p[r->off++];
    if (c <= 0x7f || c >= 0xe0) {
        *out = pv_int(r->a, (int8_t) c);
        return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
    }
    if ((c & 0xf0) == 0x80)
        return rd_map(r, c & 0x0f, 0, depth, out);
    if ((c & 0xf0) == 0x90)
        return rd_array(r, c & 0x0f, 0, depth, out);
    if ((c & 0xe0) == 0xa0)
        return rd_bytes(r, PV_STR, c & 0x1f, 0, out);
    switch (c) {
    case 0xc0:
        *out = pv_nil(r->a);
        return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
    case 0xc2:
    case 0xc3:
        *out = pv_bool(r->a, c == 0xc3);
        return *out ? WEFT_OK : fail(r, WEFT_ETOOBIG, "value too large");
    case 0xc4:
    case 0xc5:
    case 0xc6: {
        static const uint64_t mins[] = { 0, 256, 65536 };
        size_t                k = (size_t) 1 << (c - 0xc4);

        if ((err = take(r, k, &n)) != WEFT_OK)
            return err;
        return rd_bytes(r, PV_BIN, n, mins[c - 0xc4], out);
    }
    case 0xcb:
        return rd_float(r, out);
    case 0xcc:
        return rd_uint(r, 1, 128, out);
    case 0xcd:
        return rd_uint(r, 2, 256, out);
    case 0xce:
        return rd_uint(r, 4, 65536, out);
    case 0xcf:
        return rd_uint(r, 8, (uint64_t) 1 << 32, out);
    case 0xd0:
        return rd_sint(r, 1, -32, out);
    case 0xd1:
        return rd_sint(r, 2, -128, out);
    case 0xd2:
        return rd_sint(r, 4, -32768, out);
    case 0xd3:
        return rd_sint(r, 8, -((int64_t) 1 << 31), out);
    case 0xd9:
    case 0xda:
    case 0xdb: {
        static const uint64_t mins[] = { 32, 256, 65536 };
        size_t                k = (size_t) 1 << (c - 0xd9);

        if ((err = take(r, k, &n)) != WEFT_OK)
            return err;
        return rd_bytes(r, PV_STR, n, mins[c - 0xd9], out);
    }
    case 0xdc:
    case 0xdd:
        if ((err = take(r, c == 0xdc ? 2 : 4, &n)) != WEFT_OK)
            return err;
        return rd_array(r, n, c == 0xdc ? 16 : 65536, depth, out);
    case 0xde:
    case 0xdf:
        if ((err = take(r, c == 0xde ? 2 : 4, &n)) != WEFT_OK)
            return err;
        return rd_map(r, n, c == 0xde ? 16 : 65536, depth, out);
    case 0xca:
        r->off--;
        return fail(r, WEFT_ENONCANON, "float32 (weft writes float64)");
    default:
        r->off--;
        return fail(r, WEFT_ESYNTAX, "unsupported type byte");
    }
}

weft_err
proto_decode(pv_arena *a, const uint8_t *p, size_t n, pv **out, weft_diag *d)
{
    rd       r = { p, n, 0, a, d };
    pv      *v;
    weft_err err;

    if ((err = rd_value(&r, 0, &v)) != WEFT_OK)
        return err;
    if (r.off != n)
        return fail(&r, WEFT_ETRAIL, "trailing bytes after the value");
    *out = v;
    return WEFT_OK;
}
