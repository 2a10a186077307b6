/*
 * crypto.h: domain identities and what is done with them: Ed25519 key
 * pairs (libsodium), signing and verifying with a domain-separation prefix,
 * BLAKE2b-256 hashing, key fingerprints, and minisign-style key files.
 *
 * Thread use: call crypto_init once before anything else; after that every
 * function is reentrant. Lifetime: a crypto_key holds its secret half in
 * sodium_malloc memory (guarded, locked, wiped on free) and is released
 * with crypto_key_free. This module does no I/O but key files.
 */
#ifndef WEFT_CRYPTO_H
#define WEFT_CRYPTO_H

#include "util/weft.h"

#include <stdint.h>

#define CRYPTO_PK_BYTES   32
#define CRYPTO_SK_BYTES   64
#define CRYPTO_SIG_BYTES  64
#define CRYPTO_HASH_BYTES 32
#define CRYPTO_FP_CHARS   16 /* hex characters in a fingerprint */

typedef struct crypto_key crypto_key;

/* crypto_init initializes libsodium; WEFT_EINVAL if it cannot. */
weft_err crypto_init(void);

/* crypto_key_generate makes a new random Ed25519 key pair. */
weft_err crypto_key_generate(crypto_key **out);

/* crypto_key_free wipes and frees k; NULL is a no-op. */
void crypto_key_free(crypto_key *k);

/* crypto_key_public returns k's 32-byte public key, valid while k lives. */
const uint8_t *crypto_key_public(const crypto_key *k);

/*
 * crypto_sign signs the NUL-terminated prefix, one 0x00 byte, then n bytes
 * of msg, writing a 64-byte detached signature to sig.
 */
weft_err crypto_sign_msg(const crypto_key *k, const char *prefix,
    const uint8_t *msg, size_t n, uint8_t sig[CRYPTO_SIG_BYTES]);

/* crypto_verify checks a crypto_sign signature; WEFT_EBADSIG if it fails. */
weft_err crypto_verify_msg(const uint8_t pk[CRYPTO_PK_BYTES],
    const char *prefix, const uint8_t *msg, size_t n,
    const uint8_t sig[CRYPTO_SIG_BYTES]);

/* crypto_hash writes the BLAKE2b-256 hash of n bytes at p to out. */
void crypto_blake2b(const uint8_t *p, size_t n, uint8_t out[CRYPTO_HASH_BYTES]);

/* crypto_blake2b512 writes the 64-byte BLAKE2b of n bytes at p. */
void crypto_blake2b512(const uint8_t *p, size_t n, uint8_t out[64]);

/* crypto_random fills n bytes at p with random bytes. */
void crypto_random(uint8_t *p, size_t n);

/* crypto_uniform returns a uniform random number below upper (> 0). */
uint32_t crypto_uniform(uint32_t upper);

/* crypto_fingerprint writes the 16 hex characters (plus NUL) naming pk. */
void crypto_fingerprint(
    const uint8_t pk[CRYPTO_PK_BYTES], char out[CRYPTO_FP_CHARS + 1]);

/* crypto_hex writes n bytes as 2n lowercase hex characters plus a NUL. */
void crypto_hex(const uint8_t *p, size_t n, char *out);

/* crypto_unhex parses exactly 2n hex characters of s into n bytes. */
weft_err crypto_unhex(const char *s, uint8_t *out, size_t n);

/*
 * crypto_key_save writes k as two minisign-style files: the secret key to
 * sk_path (created exclusively, mode 0600) and the public key to pk_path
 * (mode 0644). Each is an "untrusted comment: " line plus one base64 line
 * of "Ed" + 8-byte key id + key bytes. comment goes on the first line.
 */
weft_err crypto_key_save(const crypto_key *k, const char *sk_path,
    const char *pk_path, const char *comment, weft_diag *d);

/*
 * crypto_key_load reads a secret key file. It refuses a file readable or
 * writable by group or others (WEFT_EPERM), a malformed file (WEFT_EKEY)
 * and a secret key whose public half does not match (WEFT_EKEY).
 */
weft_err crypto_key_load(const char *sk_path, crypto_key **out, weft_diag *d);

/* crypto_pubkey_load reads a public key file written by crypto_key_save. */
weft_err crypto_pubkey_load(
    const char *pk_path, uint8_t pk[CRYPTO_PK_BYTES], weft_diag *d);

#endif
