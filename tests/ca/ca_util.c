/* ca_util.c: files, locking, names and serials for the test CA. */
#include "tests/ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

/* Write to a temporary file beside path, fsync, rename: readers see the
 * old content or the new, never a torn file. */
int ca_write_atomic(const char *path, const void *data, size_t len, int mode)
{
    char tmp[4096];
    const uint8_t *p = data;
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%lx", path, (long)getpid(),
                 (unsigned long)random()) >= (int)sizeof(tmp))
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int ca_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    size_t n = 0;

    *buf = NULL;
    *len = 0;
    if (f == NULL)
        return -1;
    b = malloc(max + 1);
    if (b == NULL) {
        fclose(f);
        return -1;
    }
    n = fread(b, 1, max + 1, f);
    if (ferror(f) || n > max) {
        fclose(f);
        free(b);
        return -1;
    }
    fclose(f);
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

/* flock() locks belong to the open file description, so a lock taken on a
 * fresh open() excludes other threads of this process too. */
int ca_lock(const char *dir)
{
    char path[4096];
    int fd;

    if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path))
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

void ca_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

int ca_mkdir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

/* OpenSSL's "/C=GB/O=NHS/CN=Name" form; "\/" escapes a slash. */
X509_NAME *ca_parse_name(const char *dn)
{
    X509_NAME *name = X509_NAME_new();
    size_t n = strlen(dn);
    char *buf = malloc(n + 1);
    size_t i = 0;

    if (name == NULL || buf == NULL || n == 0 || dn[0] != '/')
        goto fail;
    i = 1;
    while (i < n) {
        size_t k = 0;
        char *eq;

        while (i < n && dn[i] != '/') {
            if (dn[i] == '\\' && i + 1 < n)
                i++;
            buf[k++] = dn[i++];
        }
        buf[k] = 0;
        i++;
        eq = strchr(buf, '=');
        if (eq == NULL || eq == buf || eq[1] == 0)
            goto fail;
        *eq = 0;
        if (!X509_NAME_add_entry_by_txt(name, buf, MBSTRING_UTF8,
                                        (unsigned char *)eq + 1, -1, -1, 0))
            goto fail;
    }
    if (X509_NAME_entry_count(name) == 0)
        goto fail;
    free(buf);
    return name;
fail:
    free(buf);
    X509_NAME_free(name);
    return NULL;
}

char *ca_serial_hex(const ASN1_INTEGER *serial)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

    BN_free(bn);
    return hex;
}

/* Any hex spelling (leading zeros, lower case, "0x") -> the index form. */
int ca_serial_norm(const char *in, char *out, size_t outlen)
{
    BIGNUM *bn = NULL;
    char *hex;
    int rc = -1;
    size_t n;

    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
        in += 2;
    n = strlen(in);
    if (n == 0 || n > 64 || strspn(in, "0123456789abcdefABCDEF") != n)
        return -1;
    if (!BN_hex2bn(&bn, in))
        return -1;
    hex = BN_bn2hex(bn);
    if (hex != NULL && strlen(hex) < outlen) {
        strcpy(out, hex);
        rc = 0;
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

int ca_pem_cert(X509 *cert, char **pem, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    *pem = NULL;
    if (b == NULL || !PEM_write_bio_X509(b, cert)) {
        BIO_free(b);
        return -1;
    }
    n = BIO_get_mem_data(b, &p);
    *pem = malloc((size_t)n + 1);
    if (*pem == NULL) {
        BIO_free(b);
        return -1;
    }
    memcpy(*pem, p, (size_t)n);
    (*pem)[n] = 0;
    *len = (size_t)n;
    BIO_free(b);
    return 0;
}
