/*
 * oldstore: rewrites a stopped node's store to schema 1, the layout of
 * weft before schema 2, for the upgrade test (test_node.py): each
 * current summary's envelope was kept in STORE_CUR as well as in its
 * domain's log, and META "schema" said "1". Schema 2 keeps only the seq
 * in STORE_CUR; weftd upgrades a schema 1 store when it starts.
 *
 *   oldstore DIR               prints how many entries it rewrote
 *   oldstore --schema S DIR    only sets META "schema" to S (a store of
 *                              a layout this weft does not know)
 *   oldstore --seq D N DIR     only sets domain D's seq to N (a damaged
 *                              store whose seq is behind its log)
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ent {
    char    *id;
    uint64_t seq;
} ent;

typedef struct walk {
    ent   *e;
    size_t n, cap;
    int    bad;
} walk;

static int
cur_cb(void *ctx, store_val k, store_val v)
{
    walk *w = ctx;

    if (v.n != 8) {
        w->bad = 1; /* not schema 2 */
        return 1;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        ent   *e = realloc(w->e, cap * sizeof(*e));

        if (e == NULL)
            return 1;
        w->e = e;
        w->cap = cap;
    }
    if ((w->e[w->n].id = malloc(k.n + 1)) == NULL)
        return 1;
    memcpy(w->e[w->n].id, k.p, k.n);
    w->e[w->n].id[k.n] = 0;
    w->e[w->n++].seq = store_be_u64(v.p);
    return 0;
}

int
main(int argc, char **argv)
{
    store      *s;
    store_txn  *t;
    weft_diag   d = { "" };
    walk        w = { NULL, 0, 0, 0 };
    weft_err    err;
    size_t      done = 0;
    const char *schema = NULL, *dom = NULL;
    uint8_t     seq[8];

    if (argc == 4 && strcmp(argv[1], "--schema") == 0) {
        schema = argv[2];
        argv += 2;
        argc -= 2;
    } else if (argc == 5 && strcmp(argv[1], "--seq") == 0) {
        dom = argv[2];
        store_u64_be(seq, strtoull(argv[3], NULL, 10));
        argv += 3;
        argc -= 3;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: oldstore [--schema S | --seq D N] DIR\n");
        return 2;
    }
    if (store_open(argv[1], STORE_MAPSIZE_DEFAULT, false, &s, &d) != WEFT_OK) {
        fprintf(stderr, "oldstore: %s\n", d.msg);
        return 1;
    }
    if (store_begin(s, true, &t) != WEFT_OK) {
        store_close(s);
        return 1;
    }
    if (schema != NULL || dom != NULL) {
        err = schema != NULL
            ? store_put(t, STORE_META, "schema", 6, schema, strlen(schema))
            : store_put(t, STORE_SEQ, dom, strlen(dom), seq, 8);
        if (err != WEFT_OK)
            store_abort(t);
        else
            err = store_commit(t);
        if (err != WEFT_OK)
            fprintf(stderr, "oldstore: %s\n", weft_strerror(err));
        store_close(s);
        return err != WEFT_OK;
    }
    err = store_each(t, STORE_CUR, NULL, 0, false, cur_cb, &w);
    for (size_t i = 0; err == WEFT_OK && !w.bad && i < w.n; i++) {
        char     *slash = strchr(w.e[i].id, '/');
        uint8_t   k[600], *copy;
        size_t    dl = slash ? (size_t) (slash - w.e[i].id) : 0;
        store_val env;

        if (dl == 0 || dl + 9 > sizeof(k)) {
            w.bad = 1;
            break;
        }
        memcpy(k, w.e[i].id, dl);
        k[dl] = 0;
        store_u64_be(k + dl + 1, w.e[i].seq);
        if ((err = store_get(t, STORE_LOG, k, dl + 9, &env)) != WEFT_OK)
            break;
        if ((copy = malloc(env.n)) == NULL) {
            err = WEFT_ENOMEM;
            break;
        }
        memcpy(copy, env.p, env.n);
        err = store_put(
            t, STORE_CUR, w.e[i].id, strlen(w.e[i].id), copy, env.n);
        free(copy);
        done++;
    }
    if (err == WEFT_OK && !w.bad)
        err = store_put(t, STORE_META, "schema", 6, "1", 1);
    for (size_t i = 0; i < w.n; i++)
        free(w.e[i].id);
    free(w.e);
    if (err != WEFT_OK || w.bad) {
        fprintf(stderr, "oldstore: %s\n",
            w.bad ? "not a schema 2 store" : weft_strerror(err));
        store_abort(t);
        store_close(s);
        return 1;
    }
    err = store_commit(t);
    store_close(s);
    if (err != WEFT_OK) {
        fprintf(stderr, "oldstore: commit: %s\n", weft_strerror(err));
        return 1;
    }
    printf("%zu\n", done);
    return 0;
}
