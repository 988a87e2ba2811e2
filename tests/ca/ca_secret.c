/* ca_secret.c: one-time reference + secret pairs, as an RA hands out for an
 * initial request. Kept in plain text (the CA must compute the MAC with
 * it) in secrets/REF, mode 0600; consuming one deletes it under the lock.
 * A wrong secret does not use the reference up (the RA may type it again);
 * the wrong tries are counted in secrets/REF.fails and the reference is
 * locked after CA_SECRET_TRIES of them. */
#include "tests/ca/ca.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

int ca_ref_valid(const char *ref)
{
    size_t n = strlen(ref);

    return n > 0 && n < CA_REF_MAX && strspn(ref, "0123456789abcdef") == n;
}

static int hex_rand(char *out, size_t nbytes)
{
    static const char hx[] = "0123456789abcdef";
    uint8_t b[64];
    size_t i;

    if (nbytes > sizeof(b) || RAND_bytes(b, (int)nbytes) != 1)
        return -1;
    for (i = 0; i < nbytes; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * nbytes] = 0;
    OPENSSL_cleanse(b, sizeof(b));
    return 0;
}

int ca_secret_new(const char *dir, char *ref, size_t reflen,
                  char *secret, size_t secretlen)
{
    char path[4096];

    if (reflen < 17 || secretlen < 33 || hex_rand(ref, 8) != 0
        || hex_rand(secret, 16) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/secrets/%s", dir, ref);
    return ca_write_atomic(path, secret, strlen(secret), 0600);
}

static int fails_of(const char *dir, const char *ref)
{
    char path[4096];
    uint8_t *buf;
    size_t n;
    int k;

    snprintf(path, sizeof(path), "%s/secrets/%s.fails", dir, ref);
    if (ca_read_file(path, 16, &buf, &n) != 0)
        return errno == ENOENT ? 0 : CA_SECRET_TRIES;
    k = atoi((char *)buf);
    free(buf);
    return k;
}

int ca_secret_fail(const char *dir, const char *ref)
{
    char path[4096], num[16];
    int lk, k;

    if (!ca_ref_valid(ref))
        return -1;
    lk = ca_lock(dir);
    if (lk < 0)
        return -1;
    k = fails_of(dir, ref) + 1;
    snprintf(path, sizeof(path), "%s/secrets/%s.fails", dir, ref);
    snprintf(num, sizeof(num), "%d\n", k);
    if (ca_write_atomic(path, num, strlen(num), 0600) != 0)
        k = -1;
    ca_unlock(lk);
    return k;
}

int ca_secret_get(const char *dir, const char *ref, char *secret, size_t len)
{
    char path[4096];
    uint8_t *buf;
    size_t n;

    if (!ca_ref_valid(ref))
        return 1;
    if (fails_of(dir, ref) >= CA_SECRET_TRIES)
        return 2;
    snprintf(path, sizeof(path), "%s/secrets/%s", dir, ref);
    if (ca_read_file(path, CA_SECRET_MAX, &buf, &n) != 0)
        return errno == ENOENT ? 1 : -1;
    if (n == 0 || n >= len) {
        OPENSSL_clear_free(buf, n + 1);
        return -1;
    }
    memcpy(secret, buf, n + 1);
    OPENSSL_clear_free(buf, n + 1);
    return 0;
}

int ca_secret_consume(const char *dir, const char *ref)
{
    char path[4096];
    int lk, rc;

    if (!ca_ref_valid(ref))
        return 1;
    snprintf(path, sizeof(path), "%s/secrets/%s", dir, ref);
    lk = ca_lock(dir);
    if (lk < 0)
        return -1;
    rc = unlink(path) == 0 ? 0 : (errno == ENOENT ? 1 : -1);
    ca_unlock(lk);
    return rc;
}
