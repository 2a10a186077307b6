/*
 * crypto.c: a domain's identity is one Ed25519 key pair. This file holds
 * the pair in memory, signs and verifies with it, and names things by
 * their BLAKE2b-256 hash. Key files live in keyfile.c.
 *
 * Every signature covers a domain-separation prefix, one 0x00 byte, then
 * the message, so a signature made for one purpose ("weft-summary") can
 * never be replayed as another. The prefix is a C string, so it holds no
 * 0x00 and the framing is unambiguous.
 *
 * The secret half lives in sodium_malloc memory (guard pages, locked,
 * wiped by sodium_free) and is made read-only once written, so a stray
 * write faults instead of corrupting the key. Nothing toggles the
 * protection afterwards, which keeps every function reentrant.
 */
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/*
 * Not <sodium.h>: it declares libsodium's own crypto_sign and crypto_hash,
 * whose names crypto.h reuses with other types. These headers declare
 * only what is used, under its algorithm-specific name.
 */
#include <sodium/core.h>
#include <sodium/crypto_generichash_blake2b.h>
#include <sodium/crypto_sign_ed25519.h>
#include <sodium/randombytes.h>
#include <sodium/utils.h>

/* Signed messages up to this size are framed on the stack, not the heap. */
#define FRAME_STACK_MAX 8192

struct crypto_key {
    uint8_t  pk[CRYPTO_PK_BYTES];
    uint8_t *sk; /* sodium_malloc, read-only; libsodium's seed || pk */
};

weft_err
crypto_init(void)
{
    /* 0 is first success, 1 is "already done"; only -1 is failure. */
    if (sodium_init() < 0)
        return WEFT_EINVAL;
    return WEFT_OK;
}

/*
 * key_new allocates a key whose secret half comes from sk, or from a fresh
 * random key pair when sk is NULL.
 */
static weft_err
key_new(const uint8_t *sk, crypto_key **out)
{
    crypto_key *k;

    k = calloc(1, sizeof *k);
    if (k == NULL)
        return WEFT_ENOMEM;
    k->sk = sodium_malloc(CRYPTO_SK_BYTES);
    if (k->sk == NULL) {
        free(k);
        return WEFT_ENOMEM;
    }
    if (sk == NULL) {
        crypto_sign_ed25519_keypair(k->pk, k->sk);
    } else {
        memcpy(k->sk, sk, CRYPTO_SK_BYTES);
        crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
    }
    sodium_mprotect_readonly(k->sk);
    *out = k;
    return WEFT_OK;
}

weft_err
crypto__key_from_secret(const uint8_t sk[CRYPTO_SK_BYTES], crypto_key **out)
{
    assert(sk != NULL && out != NULL);
    return key_new(sk, out);
}

const uint8_t *
crypto__key_secret(const crypto_key *k)
{
    assert(k != NULL);
    return k->sk;
}

weft_err
crypto_key_generate(crypto_key **out)
{
    assert(out != NULL);
    return key_new(NULL, out);
}

void
crypto_key_free(crypto_key *k)
{
    if (k == NULL)
        return;
    sodium_free(k->sk); /* lifts the protection, wipes, unmaps */
    free(k);
}

const uint8_t *
crypto_key_public(const crypto_key *k)
{
    assert(k != NULL);
    return k->pk;
}

/*
 * frame lays out prefix, 0x00, msg in stack (FRAME_STACK_MAX bytes) when it
 * fits, else in malloc memory; *out is stack or must be freed.
 */
static weft_err
frame(const char *prefix, const uint8_t *msg, size_t n, uint8_t *stack,
    uint8_t **out, size_t *outlen)
{
    size_t   plen = strlen(prefix);
    size_t   total;
    uint8_t *m;

    if (n > SIZE_MAX - plen - 1)
        return WEFT_ETOOBIG;
    total = plen + 1 + n;
    m = total <= FRAME_STACK_MAX ? stack : malloc(total);
    if (m == NULL)
        return WEFT_ENOMEM;
    memcpy(m, prefix, plen);
    m[plen] = 0x00;
    if (n > 0) /* msg may be NULL when n is 0 */
        memcpy(m + plen + 1, msg, n);
    *out = m;
    *outlen = total;
    return WEFT_OK;
}

weft_err
crypto_sign_msg(const crypto_key *k, const char *prefix, const uint8_t *msg,
    size_t n, uint8_t sig[CRYPTO_SIG_BYTES])
{
    uint8_t  stack[FRAME_STACK_MAX];
    uint8_t  s[CRYPTO_SIG_BYTES];
    uint8_t *m;
    size_t   mlen;
    weft_err err;

    assert(k != NULL && prefix != NULL && sig != NULL);
    assert(msg != NULL || n == 0);
    err = frame(prefix, msg, n, stack, &m, &mlen);
    if (err != WEFT_OK)
        return err;
    crypto_sign_ed25519_detached(s, NULL, m, mlen, k->sk);
    if (m != stack)
        free(m);
    memcpy(sig, s, sizeof s);
    return WEFT_OK;
}

weft_err
crypto_verify_msg(const uint8_t pk[CRYPTO_PK_BYTES], const char *prefix,
    const uint8_t *msg, size_t n, const uint8_t sig[CRYPTO_SIG_BYTES])
{
    uint8_t  stack[FRAME_STACK_MAX];
    uint8_t *m;
    size_t   mlen;
    weft_err err;

    assert(pk != NULL && prefix != NULL && sig != NULL);
    assert(msg != NULL || n == 0);
    err = frame(prefix, msg, n, stack, &m, &mlen);
    if (err != WEFT_OK)
        return err;
    if (crypto_sign_ed25519_verify_detached(sig, m, mlen, pk) != 0)
        err = WEFT_EBADSIG;
    if (m != stack)
        free(m);
    return err;
}

void
crypto_blake2b(const uint8_t *p, size_t n, uint8_t out[CRYPTO_HASH_BYTES])
{
    assert(out != NULL && (p != NULL || n == 0));
    crypto_generichash_blake2b(out, CRYPTO_HASH_BYTES, p, n, NULL, 0);
}

void
crypto_blake2b512(const uint8_t *p, size_t n, uint8_t out[64])
{
    assert(out != NULL && (p != NULL || n == 0));
    crypto_generichash_blake2b(out, 64, p, n, NULL, 0);
}

void
crypto_fingerprint(
    const uint8_t pk[CRYPTO_PK_BYTES], char out[CRYPTO_FP_CHARS + 1])
{
    uint8_t h[CRYPTO_HASH_BYTES];

    assert(pk != NULL && out != NULL);
    crypto_blake2b(pk, CRYPTO_PK_BYTES, h);
    crypto_hex(h, CRYPTO_FP_CHARS / 2, out);
}

void
crypto_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t            i;

    assert(out != NULL && (p != NULL || n == 0));
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

weft_err
crypto_unhex(const char *s, uint8_t *out, size_t n)
{
    size_t i;

    assert(s != NULL && (out != NULL || n == 0));
    if (n > (SIZE_MAX - 1) / 2 || strnlen(s, 2 * n + 1) != 2 * n)
        return WEFT_EINVAL;
    /* Check everything first: out is written only on success. */
    for (i = 0; i < 2 * n; i++)
        if (weft_hexval((unsigned char) s[i]) < 0)
            return WEFT_EINVAL;
    for (i = 0; i < n; i++)
        out[i] = (uint8_t) (weft_hexval((unsigned char) s[2 * i]) << 4
            | weft_hexval((unsigned char) s[2 * i + 1]));
    return WEFT_OK;
}

void
crypto_random(uint8_t *p, size_t n)
{
    randombytes_buf(p, n);
}

uint32_t
crypto_uniform(uint32_t upper)
{
    return randombytes_uniform(upper);
}
