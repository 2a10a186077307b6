/*
 * json.c: value trees as JSON, for `--json` output. jansson does the
 * escaping; binary values (keys, hashes) become lowercase hex strings,
 * and floats JSON cannot hold (a peer's descriptor may carry infinities)
 * the strings "inf", "-inf" and "nan".
 */
#include "crypto/crypto.h"
#include "proto/proto.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *
to_json(const pv *v)
{
    json_t  *j;
    char    *hex;
    uint32_t i;

    if (v == NULL)
        return json_null();
    switch (v->type) {
    case PV_NIL:
        return json_null();
    case PV_BOOL:
        return json_boolean(v->u.b);
    case PV_INT:
        return json_integer(v->u.i);
    case PV_FLOAT:
        /* json_real refuses them, which would fail the whole dump. */
        if (isnan(v->u.f))
            return json_string("nan");
        if (isinf(v->u.f))
            return json_string(v->u.f > 0 ? "inf" : "-inf");
        return json_real(v->u.f);
    case PV_STR:
        return json_stringn(v->u.s.p, v->u.s.len);
    case PV_BIN:
        if ((hex = malloc((size_t) v->u.s.len * 2 + 1)) == NULL)
            return NULL;
        crypto_hex((const uint8_t *) v->u.s.p, v->u.s.len, hex);
        j = json_string(hex);
        free(hex);
        return j;
    case PV_ARR:
        if ((j = json_array()) == NULL)
            return NULL;
        for (i = 0; i < v->u.a.n; i++)
            if (json_array_append_new(j, to_json(v->u.a.v[i])) != 0)
                goto fail;
        return j;
    case PV_MAP:
        if ((j = json_object()) == NULL)
            return NULL;
        for (i = 0; i < v->u.m.n; i++)
            if (json_object_setn_new(j, v->u.m.kv[i].k->u.s.p,
                    v->u.m.kv[i].k->u.s.len, to_json(v->u.m.kv[i].v))
                != 0)
                goto fail;
        return j;
    }
    return NULL;
fail:
    json_decref(j);
    return NULL;
}

weft_err
proto_json_dump(const pv *v, bool pretty, weft_buf *out)
{
    json_t  *j = to_json(v);
    char    *s;
    weft_err err;
    /* ENCODE_ANY: a value need not be a map or an array. */
    size_t flags = JSON_REAL_PRECISION(15) | JSON_SORT_KEYS | JSON_ENCODE_ANY;

    if (j == NULL)
        return WEFT_ENOMEM;
    flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
    s = json_dumps(j, flags);
    json_decref(j);
    if (s == NULL)
        return WEFT_ENOMEM;
    err = weft_buf_append(out, s, strlen(s));
    free(s);
    return err;
}
