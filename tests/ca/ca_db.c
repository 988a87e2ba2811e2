/* ca_db.c: the index of issued certificates.
 * index.txt, one line each: STATUS \t NOTAFTER \t REVOKED_AT \t SERIAL \t SUBJECT
 * Callers that change it hold ca_lock(); it is always rewritten whole and
 * atomically, so a reader never sees half a line. */
#include "tests/ca/ca.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>

#define INDEX_MAX (16u << 20)

static int parse_line(char *line, struct ca_rec *r)
{
    char *f[5];
    char *save = NULL, *end;
    int i;

    for (i = 0; i < 4; i++) {
        f[i] = strtok_r(i == 0 ? line : NULL, "\t", &save);
        if (f[i] == NULL)
            return -1;
    }
    f[4] = strtok_r(NULL, "", &save);
    memset(r, 0, sizeof(*r));
    if ((f[0][0] != 'V' && f[0][0] != 'R') || f[0][1] != 0)
        return -1;
    r->status = f[0][0];
    errno = 0;
    r->not_after = strtoll(f[1], &end, 10);
    if (errno || *end)
        return -1;
    r->revoked_at = strtoll(f[2], &end, 10);
    if (errno || *end)
        return -1;
    if (ca_serial_norm(f[3], r->serial, sizeof(r->serial)) != 0)
        return -1;
    snprintf(r->subject, sizeof(r->subject), "%s", f[4] != NULL ? f[4] : "");
    return 0;
}

int ca_db_load(const char *dir, struct ca_rec **recs, size_t *n)
{
    char path[4096];
    uint8_t *buf;
    size_t len, cap = 0;
    char *line, *save = NULL;

    *recs = NULL;
    *n = 0;
    snprintf(path, sizeof(path), "%s/index.txt", dir);
    if (ca_read_file(path, INDEX_MAX, &buf, &len) != 0)
        return errno == ENOENT ? 0 : -1;
    for (line = strtok_r((char *)buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        struct ca_rec r;

        if (parse_line(line, &r) != 0) {
            fprintf(stderr, "cmp-test-ca: %s: malformed line skipped\n", path);
            continue;
        }
        if (*n == cap) {
            struct ca_rec *m;

            cap = cap ? cap * 2 : 32;
            m = realloc(*recs, cap * sizeof(*m));
            if (m == NULL) {
                free(buf);
                free(*recs);
                *recs = NULL;
                *n = 0;
                return -1;
            }
            *recs = m;
        }
        (*recs)[(*n)++] = r;
    }
    free(buf);
    return 0;
}

int ca_db_save(const char *dir, const struct ca_rec *recs, size_t n)
{
    char path[4096];
    size_t cap = 64 + n * (sizeof(struct ca_rec) + 64), off = 0, i;
    char *buf = malloc(cap);
    int rc;

    if (buf == NULL)
        return -1;
    buf[0] = 0;
    for (i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%c\t%lld\t%lld\t%s\t%s\n",
                                recs[i].status, recs[i].not_after,
                                recs[i].revoked_at, recs[i].serial,
                                recs[i].subject);
    snprintf(path, sizeof(path), "%s/index.txt", dir);
    rc = ca_write_atomic(path, buf, off, 0644);
    free(buf);
    return rc;
}

long ca_db_find(const struct ca_rec *recs, size_t n, const char *serial)
{
    char norm[80];
    size_t i;

    if (ca_serial_norm(serial, norm, sizeof(norm)) != 0)
        return -1;
    for (i = 0; i < n; i++)
        if (strcmp(recs[i].serial, norm) == 0)
            return (long)i;
    return -1;
}

int ca_db_lookup(const char *dir, const char *serial, struct ca_rec *out)
{
    struct ca_rec *recs;
    size_t n;
    long i;
    int lk = ca_lock(dir), rc;

    if (lk < 0)
        return -1;
    rc = ca_db_load(dir, &recs, &n);
    ca_unlock(lk);
    if (rc != 0)
        return -1;
    i = ca_db_find(recs, n, serial);
    if (i >= 0 && out != NULL)
        *out = recs[i];
    free(recs);
    return i >= 0 ? 0 : 1;
}

int ca_db_revoke(const char *dir, const char *serial, time_t when)
{
    struct ca_rec *recs = NULL;
    size_t n;
    long i;
    int lk = ca_lock(dir), rc = -1;

    if (lk < 0)
        return -1;
    if (ca_db_load(dir, &recs, &n) != 0)
        goto out;
    i = ca_db_find(recs, n, serial);
    if (i < 0) {
        rc = 1;
    } else if (recs[i].status == 'R') {
        rc = 2;
    } else {
        recs[i].status = 'R';
        recs[i].revoked_at = (long long)when;
        rc = ca_db_save(dir, recs, n) == 0 ? 0 : -1;
    }
out:
    ca_unlock(lk);
    free(recs);
    return rc;
}

X509 *ca_db_cert(const char *dir, const char *serial)
{
    char norm[80], path[4096];
    FILE *f;
    X509 *cert;

    if (ca_serial_norm(serial, norm, sizeof(norm)) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s/certs/%s.pem", dir, norm);
    f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return cert;
}
