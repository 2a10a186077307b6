/*
 * vpool.h: signature checks on every core. A bulk copy brings summaries
 * a thousand at a time, and checking their Ed25519 signatures is most of
 * the work of taking them in: the loop thread and a few helper threads
 * share each batch, and the loop thread then stores what passed, in
 * order. Small batches are checked on the calling thread alone (waking a
 * helper costs more than it saves).
 */
#ifndef WEFT_VPOOL_H
#define WEFT_VPOOL_H

#include "util/weft.h"

#include <stddef.h>
#include <stdint.h>

#define VPOOL_HELPERS_MAX 3  /* helper threads, at most */
#define VPOOL_MIN_BATCH   32 /* fewer envelopes are checked inline */

typedef struct vpool vpool;

/* vpool_new starts helpers threads (0: every check runs on the caller);
 * NULL when out of memory or threads. */
vpool *vpool_new(int helpers);

/* vpool_helpers is how many helpers suit this machine: one fewer than
 * its online cores, at most VPOOL_HELPERS_MAX. */
int vpool_helpers(void);

/* vpool_free stops the helpers and frees p (NULL is fine). */
void vpool_free(vpool *p);

/*
 * vpool_open opens (proto_envelope_open: strict decoding, shape and
 * signature) each of the n envelopes p[i] of len[i] bytes and sets err[i]
 * to the result. Blocks until all are done; p may be NULL (all inline).
 */
void vpool_open(vpool *p, const uint8_t *const *env, const size_t *len,
    size_t n, weft_err *err);

#endif
