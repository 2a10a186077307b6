/*
 * weft.h: what every module of weft shares: the error enum, the diagnostic
 * buffer that carries "file:line:col: what" detail next to an error, the
 * named input limits, and a growable byte buffer with a hard maximum.
 *
 * Thread use: everything here is reentrant; no global state.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * weft_err is the project's one error enum. Values cross the CLI socket, so
 * they are explicit and append-only: a retired code keeps its slot.
 */
typedef enum weft_err {
    WEFT_OK = 0,
    WEFT_ENOMEM = 1,    /* out of memory */
    WEFT_EINVAL = 2,    /* bad argument or request */
    WEFT_ETOOBIG = 3,   /* over a size, count, depth or length limit */
    WEFT_ETRUNC = 4,    /* input ends early */
    WEFT_ENONCANON = 5, /* encoding is valid but not canonical */
    WEFT_ESYNTAX = 6,   /* malformed YAML or msgpack */
    WEFT_ESCHEMA = 7,   /* a field is missing or has the wrong type */
    WEFT_EBADSIG = 8,   /* signature does not verify */
    WEFT_ENOTFOUND = 9, /* no such product, version or key */
    WEFT_EEXIST = 10,   /* already exists */
    WEFT_EDOMAIN = 11,  /* not this node's domain, or domain/key mismatch */
    WEFT_EVERSION = 12, /* version lower than the current one */
    WEFT_EIO = 13,      /* file or socket I/O failed */
    WEFT_ESTORE = 14,   /* the LMDB store failed */
    WEFT_EPERM = 15,    /* file permissions are unsafe */
    WEFT_ELOCKED = 16,  /* the data directory is in use */
    WEFT_ETRAIL = 17,   /* trailing bytes after a complete value */
    WEFT_EKEY = 18,     /* malformed key or key file */
    WEFT_ESTATE = 19,   /* operation not allowed in the current state */
    WEFT_EHASH = 20,    /* content does not match its signed hash */
    WEFT_EFULL = 21,    /* the store is full (LMDB map size reached) */
    WEFT_EPOLICY = 22,  /* the governance policy rejects it */
    WEFT_ELIMIT = 23    /* a domain has signed all the summaries it may */
} weft_err;

/* weft_strerror returns a static description of err. */
const char *weft_strerror(weft_err err);

/* weft_hexval is the value of one hex digit, either case, or -1
 * (util/hex.c). */
int weft_hexval(int c);

/* weft_now_us is a monotonic clock in microseconds (util/clock.c). */
uint64_t weft_now_us(void);

/* weft_helpers is how many helper threads suit this machine beside the
 * loop thread: one fewer than its online cores (0 on one core), at most
 * max. */
int weft_helpers(int max);

/* weft_errname returns the stable symbolic name of err ("ENOTFOUND"). */
const char *weft_errname(weft_err err);

/*
 * weft_diag carries the human detail of an error: where and what, e.g.
 * "line 12, column 3: 'owner' must be a string". Callers own it, usually on
 * the stack; functions that take one write it only when they fail.
 */
typedef struct weft_diag {
    char msg[512];
} weft_diag;

/* weft_diagf formats into d (if d is not NULL) and returns err. */
weft_err weft_diagf(weft_diag *d, weft_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Input limits. Every one is enforced where input enters, tested at the
 * limit and one past it, and listed in docs/formats.md.
 */
#define WEFT_DOC_MAX      (4u << 20)  /* bytes in one YAML document */
#define WEFT_DEPTH_MAX    64          /* nesting of maps and arrays */
#define WEFT_STR_MAX      (64u << 10) /* bytes in one YAML scalar */
#define WEFT_ITEMS_MAX    65536       /* entries in one map or array */
#define WEFT_NODES_MAX    (1u << 20)  /* values in one document */
#define WEFT_SUMMARY_MAX  4096        /* bytes in one encoded summary */
#define WEFT_DESC_MAX     (8u << 20)  /* bytes in one encoded descriptor */
#define WEFT_MSG_MAX      (64u << 20) /* bytes in one CLI socket message */
#define WEFT_BATCH_MAX    (2u << 20)  /* the CLI closes a publish batch here */
#define WEFT_DOMAIN_MAX   64          /* bytes in a domain name */
#define WEFT_ID_MAX       200         /* bytes in a product id */
#define WEFT_SUMMARY_TEXT 480         /* description bytes kept in a summary */
#define WEFT_REASON_MAX   1024        /* bytes in a deprecation reason */

/*
 * weft_buf is a growable byte buffer created with a hard maximum; growth
 * past max fails with WEFT_ETOOBIG. weft_buf_free releases p.
 */
typedef struct weft_buf {
    uint8_t *p;
    size_t   len;
    size_t   cap;
    size_t   max;
} weft_buf;

/* weft_buf_init prepares an empty buffer that may grow to max bytes. */
void weft_buf_init(weft_buf *b, size_t max);

/* weft_buf_free releases the buffer's memory; the buffer is empty after. */
void weft_buf_free(weft_buf *b);

/* weft_buf_reserve makes room for n more bytes. */
weft_err weft_buf_reserve(weft_buf *b, size_t n);

/* weft_buf_append copies n bytes to the end of b. */
weft_err weft_buf_append(weft_buf *b, const void *p, size_t n);

/* weft_buf_printf appends formatted text (without the NUL) to b. */
weft_err weft_buf_printf(weft_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
