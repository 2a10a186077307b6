/*
 * crypto_int.h: shared between crypto.c (which defines struct crypto_key)
 * and keyfile.c, which needs the secret half to save a key and a way to
 * build a key from a loaded secret.
 */
#ifndef WEFT_CRYPTO_INT_H
#define WEFT_CRYPTO_INT_H

#include "crypto/crypto.h"

/* crypto__key_from_secret makes a key from a 64-byte libsodium secret. */
weft_err crypto__key_from_secret(
    const uint8_t sk[CRYPTO_SK_BYTES], crypto_key **out);

/* crypto__key_secret lends k's secret half, valid while k lives. */
const uint8_t *crypto__key_secret(const crypto_key *k);

#endif
