/*
 * hex.c: one hex digit's value, for the key and hash parsers (crypto)
 * and the HTTP API's percent-decoding.
 */
#include "util/weft.h"

int
weft_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
