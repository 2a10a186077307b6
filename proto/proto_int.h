/*
 * proto_int.h: helpers shared between the files of proto/ and nothing
 * else (double-underscore names): field access with path-naming errors
 * and the per-form normalizers (model.c, model_norm.c), and the string
 * set that finds duplicates in linear time (yaml.c).
 */
#ifndef WEFT_PROTO_INT_H
#define WEFT_PROTO_INT_H

#include "proto/proto.h"

/* proto__sub writes "parent.key" or, with key NULL, "parent[i]" into buf
 * (PROTO_PATH bytes), for error messages; returns buf. */
#define PROTO_PATH 256
const char *proto__sub(
    char *buf, const char *parent, const char *key, uint32_t i);

/* proto__fail formats "path (line L, column C): what" into d. */
weft_err proto__fail(weft_diag *d, weft_err err, const char *path, const pv *at,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* proto__missing reports that key is required in the map at mpath. */
weft_err proto__missing(
    weft_diag *d, const char *mpath, const char *key, const pv *m);
weft_err proto__field(const pv *m, const char *mpath, const char *key,
    unsigned types, const pv **out, weft_diag *d);
weft_err proto__text(pv_arena *a, const pv *v, const char **out);
weft_err proto__version(
    pv_arena *a, const pv *v, const char *path, pv **out, weft_diag *d);
weft_err proto__slugpv(
    pv_arena *a, const pv *v, const char *path, pv **out, weft_diag *d);
weft_err proto__norm_article(
    pv_arena *a, const pv *body, pv *out, weft_diag *d);
weft_err proto__norm_odps(pv_arena *a, const pv *doc, pv *out, weft_diag *d);
weft_err proto__norm_odcs(pv_arena *a, const pv *doc, pv *out, weft_diag *d);

/* proto__strset is a hash set of (scope, string) pairs; see yaml.c. */
typedef struct proto__strset proto__strset;
proto__strset               *proto__strset_new(void);
void                         proto__strset_free(proto__strset *s);
weft_err proto__strset_put(proto__strset *s, uint32_t scope, const char *p,
    size_t n, const void *tag, const void **old);

#endif
