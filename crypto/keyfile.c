/*
 * keyfile.c: a domain key on disk, in minisign's shape. Each file is two
 * lines:
 *
 *     untrusted comment: <free text, never trusted>
 *     <base64 of "Ed" || key id || key>
 *
 * where the key id is the first 8 bytes of BLAKE2b-256(public key) and the
 * key is libsodium's 64-byte secret (seed || public key) or the 32-byte
 * public key. The tag and id let a mixed-up or damaged file be refused
 * with a reason instead of producing a key that signs for nobody.
 *
 * The secret file is created exclusively with mode 0600 and never
 * overwritten; loading it refuses any group or other permission bit, as
 * ssh does. The public file is replaced atomically (temporary + rename).
 * Everything a secret passes through (the file text, the decoded bytes,
 * the rederived key) lives in one sodium_malloc scratch area, so
 * sodium_free wipes it on every path.
 */
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Not <sodium.h>, whose crypto_sign and crypto_hash clash with ours. */
#include <sodium/crypto_sign_ed25519.h>
#include <sodium/utils.h>

#define KEYFILE_MAX   4096 /* bytes in a key file */
#define KEYID_BYTES   8
#define TAG_BYTES     2
#define HEAD_BYTES    (TAG_BYTES + KEYID_BYTES)
#define SK_BLOB_BYTES (HEAD_BYTES + CRYPTO_SK_BYTES)
#define PK_BLOB_BYTES (HEAD_BYTES + CRYPTO_PK_BYTES)
#define COMMENT_LINE  "untrusted comment: "
#define B64_VARIANT   sodium_base64_VARIANT_ORIGINAL
#define SK_PUBLIC(sk) ((sk) + crypto_sign_ed25519_SEEDBYTES)

static const uint8_t alg_tag[TAG_BYTES] = { 'E', 'd' };

/* scratch holds every temporary a key passes through; see the top. */
typedef struct scratch {
    char    text[KEYFILE_MAX + 1]; /* the file, read or to be written */
    uint8_t blob[KEYFILE_MAX];     /* line 2 decoded: tag, id, key */
    uint8_t sk[CRYPTO_SK_BYTES];   /* the secret rederived from its seed */
    char    b64[KEYFILE_MAX];      /* line 2 being encoded */
} scratch;

static weft_err
io_error(weft_diag *d, const char *path, int errnum)
{
    return weft_diagf(d, WEFT_EIO, "%s: %s", path, strerror(errnum));
}

static weft_err
scratch_new(scratch **out, weft_diag *d)
{
    *out = sodium_malloc(sizeof(scratch));
    if (*out == NULL)
        return weft_diagf(
            d, WEFT_ENOMEM, "no memory for a key (sodium_malloc failed)");
    return WEFT_OK;
}

static void
key_id(const uint8_t pk[CRYPTO_PK_BYTES], uint8_t id[KEYID_BYTES])
{
    uint8_t h[CRYPTO_HASH_BYTES];

    crypto_blake2b(pk, CRYPTO_PK_BYTES, h);
    memcpy(id, h, KEYID_BYTES);
}

/* ---- Writing ---------------------------------------------------------- */

/*
 * keyfile_text fills s->text with the two lines for key (n bytes, whose
 * public half is pk) and sets *len.
 */
static weft_err
keyfile_text(scratch *s, const char *comment, const uint8_t *key, size_t n,
    const uint8_t pk[CRYPTO_PK_BYTES], size_t *len, weft_diag *d)
{
    size_t b64len = sodium_base64_ENCODED_LEN(HEAD_BYTES + n, B64_VARIANT);
    int    head;

    memcpy(s->blob, alg_tag, TAG_BYTES);
    key_id(pk, s->blob + TAG_BYTES);
    memcpy(s->blob + HEAD_BYTES, key, n);
    sodium_bin2base64(
        s->b64, sizeof s->b64, s->blob, HEAD_BYTES + n, B64_VARIANT);
    head = snprintf(s->text, sizeof s->text, COMMENT_LINE "%s\n", comment);
    if (head < 0 || (size_t) head + b64len > KEYFILE_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "key comment is %zu bytes; a key file must fit in %d bytes",
            strlen(comment), KEYFILE_MAX);
    /* b64len counts the NUL, which becomes the final newline. */
    memcpy(s->text + head, s->b64, b64len - 1);
    s->text[head + b64len - 1] = '\n';
    *len = (size_t) head + b64len;
    return WEFT_OK;
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/*
 * sync_dir makes a new or renamed entry in path's directory durable, so
 * a crash cannot leave a node believing it has a key that is gone.
 */
static weft_err
sync_dir(const char *path, weft_diag *d)
{
    char        dir[4096];
    const char *slash = strrchr(path, '/');
    int         fd, rc;

    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t) (slash - path) >= sizeof dir)
        return weft_diagf(d, WEFT_EINVAL, "%s: path too long", path);
    else
        snprintf(dir, sizeof dir, "%.*s", (int) (slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error(d, dir, errno);
    rc = fsync(fd);
    if (rc != 0 && errno != EINVAL) /* some filesystems cannot */
        rc = errno;
    else
        rc = 0;
    close(fd);
    return rc ? io_error(d, dir, rc) : WEFT_OK;
}

/* write_secret creates path (which must not exist) holding n bytes. */
static weft_err
write_secret(const char *path, const char *text, size_t n, weft_diag *d)
{
    weft_err err;
    int      fd, errnum;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return weft_diagf(d, WEFT_EEXIST,
            "%s: already exists; refusing to overwrite a secret key", path);
    if (fd < 0)
        return io_error(d, path, errno);
    /* The umask can only remove bits; fchmod makes the mode exact. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, n) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    if ((err = sync_dir(path, d)) != WEFT_OK)
        unlink(path);
    return err;

fail:
    errnum = errno;
    if (fd >= 0)
        close(fd);
    unlink(path);
    return io_error(d, path, errnum);
}

/* write_public atomically replaces path with n bytes, mode 0644. */
static weft_err
write_public(const char *path, const char *text, size_t n, weft_diag *d)
{
    char tmp[4096];
    int  fd, len, errnum;

    len = snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    if (len < 0 || (size_t) len >= sizeof tmp)
        return weft_diagf(d, WEFT_EINVAL, "%s: path too long", path);
    fd = mkstemp(tmp);
    if (fd < 0)
        return io_error(d, path, errno);
    if (fchmod(fd, 0644) != 0 || write_all(fd, text, n) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        errnum = errno;
        unlink(tmp);
        return io_error(d, path, errnum);
    }
    return sync_dir(path, d);

fail:
    errnum = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return io_error(d, path, errnum);
}

weft_err
crypto_key_save(const crypto_key *k, const char *sk_path, const char *pk_path,
    const char *comment, weft_diag *d)
{
    const uint8_t *pk = crypto_key_public(k);
    scratch       *s = NULL;
    size_t         len;
    weft_err       err;

    assert(k != NULL && sk_path != NULL && pk_path != NULL);
    if (comment == NULL)
        comment = "weft domain key";
    if (strpbrk(comment, "\r\n") != NULL)
        return weft_diagf(d, WEFT_EINVAL, "key comment must be a single line");
    if ((err = scratch_new(&s, d)) != WEFT_OK)
        return err;
    err = keyfile_text(
        s, comment, crypto__key_secret(k), CRYPTO_SK_BYTES, pk, &len, d);
    if (err != WEFT_OK)
        goto done;
    /* The secret goes first: if it exists, nothing is touched. */
    if ((err = write_secret(sk_path, s->text, len, d)) != WEFT_OK)
        goto done;
    err = keyfile_text(s, comment, pk, CRYPTO_PK_BYTES, pk, &len, d);
    if (err == WEFT_OK)
        err = write_public(pk_path, s->text, len, d);
    /* Half a pair is worse than none: a retry would hit EEXIST. */
    if (err != WEFT_OK)
        unlink(sk_path);

done:
    sodium_free(s);
    return err;
}

/* ---- Reading ---------------------------------------------------------- */

/* check_mode refuses a secret key file any group or other bit lets in. */
static weft_err
check_mode(const char *path, mode_t mode, weft_diag *d)
{
    const char *what = (mode & 044) ? "read" : (mode & 022) ? "write" : "use";

    if ((mode & 077) == 0)
        return WEFT_OK;
    return weft_diagf(d, WEFT_EPERM,
        "%s: mode %04o lets group or others %s the secret key; "
        "run chmod 600 %s",
        path, (unsigned) (mode & 07777), what, path);
}

/* read_all reads until EOF or max bytes, setting *n; -1 and errno on error. */
static int
read_all(int fd, char *p, size_t max, size_t *n)
{
    ssize_t r;

    *n = 0;
    while (*n < max) {
        r = read(fd, p + *n, max - *n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *n += (size_t) r;
    }
    return 0;
}

/*
 * keyfile_read reads path into s->text (NUL-terminated) and sets *len; a
 * secret key file must also pass check_mode. The mode is checked on the
 * open descriptor, so it is the mode of the file actually read.
 */
static weft_err
keyfile_read(
    const char *path, int secret, scratch *s, size_t *len, weft_diag *d)
{
    struct stat st;
    size_t      n;
    weft_err    err = WEFT_OK;
    int         fd;

    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        return weft_diagf(d, WEFT_ENOTFOUND, "%s: no such file", path);
    if (fd < 0)
        return io_error(d, path, errno);
    if (fstat(fd, &st) != 0) {
        err = io_error(d, path, errno);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        err = weft_diagf(d, WEFT_EKEY, "%s: not a regular file", path);
        goto done;
    }
    if (secret && (err = check_mode(path, st.st_mode, d)) != WEFT_OK)
        goto done;
    /* Ask for one byte past the limit: getting it means too big. */
    if (read_all(fd, s->text, KEYFILE_MAX + 1, &n) != 0)
        err = io_error(d, path, errno);
    else if (n > KEYFILE_MAX)
        err = weft_diagf(d, WEFT_EKEY,
            "%s: over the %d-byte limit of a key file", path, KEYFILE_MAX);
    if (err != WEFT_OK)
        goto done;
    s->text[n] = '\0';
    *len = n;

done:
    close(fd);
    return err;
}

/* key_line finds line 2 of s->text: *p, *n exclude the line ending. */
static weft_err
key_line(const char *path, scratch *s, size_t len, const char **p, size_t *n,
    weft_diag *d)
{
    const char *nl;
    size_t      off, end = len;

    if (strlen(s->text) != len)
        return weft_diagf(d, WEFT_EKEY, "%s: contains a NUL byte", path);
    if (strncmp(s->text, COMMENT_LINE, strlen(COMMENT_LINE)) != 0)
        return weft_diagf(d, WEFT_EKEY, "%s: line 1 must start with \"%s\"",
            path, COMMENT_LINE);
    nl = memchr(s->text, '\n', len);
    if (nl == NULL || (size_t) (nl - s->text) + 1 == len)
        return weft_diagf(
            d, WEFT_EKEY, "%s: the key line (line 2) is missing", path);
    off = (size_t) (nl - s->text) + 1;
    /* One final "\n" or "\r\n" is allowed and nothing after it. */
    if (s->text[end - 1] == '\n')
        end--;
    if (end > off && s->text[end - 1] == '\r')
        end--;
    if (memchr(s->text + off, '\n', end - off) != NULL)
        return weft_diagf(
            d, WEFT_EKEY, "%s: unexpected text after line 2", path);
    *p = s->text + off;
    *n = end - off;
    return WEFT_OK;
}

/*
 * keyfile_decode checks s->text's shape and decodes line 2 into s->blob,
 * which must then hold want bytes starting with the algorithm tag.
 */
static weft_err
keyfile_decode(
    const char *path, scratch *s, size_t len, size_t want, weft_diag *d)
{
    const char *kind = want == SK_BLOB_BYTES ? "secret" : "public";
    const char *b64 = NULL, *end;
    size_t      b64len = 0, n;
    weft_err    err;

    if ((err = key_line(path, s, len, &b64, &b64len, d)) != WEFT_OK)
        return err;
    if (sodium_base642bin(
            s->blob, sizeof s->blob, b64, b64len, NULL, &n, &end, B64_VARIANT)
            != 0
        || end != b64 + b64len)
        return weft_diagf(d, WEFT_EKEY, "%s: line 2 is not valid base64", path);
    if (n != want)
        return weft_diagf(d, WEFT_EKEY,
            "%s: line 2 holds %zu bytes; a %s key file holds %zu", path, n,
            kind, want);
    if (memcmp(s->blob, alg_tag, TAG_BYTES) != 0)
        return weft_diagf(d, WEFT_EKEY,
            "%s: algorithm tag is 0x%02x%02x; expected \"Ed\" (Ed25519)", path,
            s->blob[0], s->blob[1]);
    return WEFT_OK;
}

/* check_key_id compares the key id in s->blob with the one pk implies. */
static weft_err
check_key_id(const char *path, const scratch *s,
    const uint8_t pk[CRYPTO_PK_BYTES], weft_diag *d)
{
    uint8_t id[KEYID_BYTES];
    char    got[2 * KEYID_BYTES + 1], want[2 * KEYID_BYTES + 1];

    key_id(pk, id);
    if (memcmp(id, s->blob + TAG_BYTES, KEYID_BYTES) == 0)
        return WEFT_OK;
    crypto_hex(s->blob + TAG_BYTES, KEYID_BYTES, got);
    crypto_hex(id, KEYID_BYTES, want);
    return weft_diagf(d, WEFT_EKEY,
        "%s: key id %s does not match the key, whose id is %s", path, got,
        want);
}

/*
 * check_halves rederives the public key from the secret's seed and
 * compares it with the stored half. crypto_sign_ed25519_sk_to_pk would not
 * do: it only copies the stored half back out.
 */
static weft_err
check_halves(const char *path, scratch *s, weft_diag *d)
{
    const uint8_t *sk = s->blob + HEAD_BYTES;
    uint8_t        pk[CRYPTO_PK_BYTES];

    /* libsodium's secret key is seed || public key. */
    crypto_sign_ed25519_seed_keypair(pk, s->sk, sk);
    if (sodium_memcmp(pk, SK_PUBLIC(sk), CRYPTO_PK_BYTES) != 0)
        return weft_diagf(d, WEFT_EKEY,
            "%s: the public half of the secret key does not match its "
            "private half",
            path);
    return WEFT_OK;
}

weft_err
crypto_key_load(const char *sk_path, crypto_key **out, weft_diag *d)
{
    const uint8_t *sk;
    scratch       *s;
    size_t         len;
    weft_err       err;

    assert(sk_path != NULL && out != NULL);
    if ((err = scratch_new(&s, d)) != WEFT_OK)
        return err;
    sk = s->blob + HEAD_BYTES;
    err = keyfile_read(sk_path, 1, s, &len, d);
    if (err == WEFT_OK)
        err = keyfile_decode(sk_path, s, len, SK_BLOB_BYTES, d);
    if (err == WEFT_OK)
        err = check_key_id(sk_path, s, SK_PUBLIC(sk), d);
    if (err == WEFT_OK)
        err = check_halves(sk_path, s, d);
    if (err == WEFT_OK && (err = crypto__key_from_secret(sk, out)) != WEFT_OK)
        weft_diagf(d, err, "%s: no memory for the key", sk_path);
    sodium_free(s);
    return err;
}

weft_err
crypto_pubkey_load(
    const char *pk_path, uint8_t pk[CRYPTO_PK_BYTES], weft_diag *d)
{
    scratch *s;
    size_t   len;
    weft_err err;

    assert(pk_path != NULL && pk != NULL);
    if ((err = scratch_new(&s, d)) != WEFT_OK)
        return err;
    err = keyfile_read(pk_path, 0, s, &len, d);
    if (err == WEFT_OK)
        err = keyfile_decode(pk_path, s, len, PK_BLOB_BYTES, d);
    if (err == WEFT_OK)
        err = check_key_id(pk_path, s, s->blob + HEAD_BYTES, d);
    if (err == WEFT_OK)
        memcpy(pk, s->blob + HEAD_BYTES, CRYPTO_PK_BYTES);
    sodium_free(s);
    return err;
}
