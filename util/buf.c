/*
 * buf.c: a growable byte buffer with a hard maximum (curl's dynbuf idea):
 * every buffer fed from the outside says up front how big it may get.
 */
#include "util/weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
weft_buf_init(weft_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
weft_buf_free(weft_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

weft_err
weft_buf_reserve(weft_buf *b, size_t n)
{
    size_t   cap;
    uint8_t *p;

    if (n > b->max || b->len > b->max - n)
        return WEFT_ETOOBIG;
    if (b->len + n <= b->cap)
        return WEFT_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > b->max)
        cap = b->max;
    p = realloc(b->p, cap);
    if (p == NULL)
        return WEFT_ENOMEM;
    b->p = p;
    b->cap = cap;
    return WEFT_OK;
}

weft_err
weft_buf_append(weft_buf *b, const void *p, size_t n)
{
    weft_err err;

    if (n == 0)
        return WEFT_OK;
    if ((err = weft_buf_reserve(b, n)) != WEFT_OK)
        return err;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return WEFT_OK;
}

weft_err
weft_buf_printf(weft_buf *b, const char *fmt, ...)
{
    va_list  ap;
    int      n;
    weft_err err;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WEFT_EINVAL;
    if ((err = weft_buf_reserve(b, (size_t) n + 1)) != WEFT_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf((char *) b->p + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
    return WEFT_OK;
}
