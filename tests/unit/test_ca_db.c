/* The test CA's directory: atomic files, unique serials under concurrent
 * issuing, revoke, lookup, one-time secrets, validity arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/x509.h>

#include "tests/ca/ca.h"

struct fx {
    char dir[64];
    struct ca ca;
    EVP_PKEY *pub;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/test_ca_db.XXXXXX");
    if (mkdtemp(f->dir) == NULL || ca_open(&f->ca, f->dir, NULL) != 0)
        return -1;
    f->pub = EVP_EC_gen("P-256");
    *state = f;
    return f->pub != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    ca_close(&f->ca);
    EVP_PKEY_free(f->pub);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static X509 *issue(struct fx *f, const char *dn)
{
    X509_NAME *name = ca_parse_name(dn);
    char err[256];
    time_t nb, na;
    X509 *c;

    ca_validity(&f->ca, 0, 0, 0, time(NULL), &nb, &na);
    c = ca_issue(&f->ca, f->pub, name, nb, na, 0, err, sizeof(err));
    X509_NAME_free(name);
    return c;
}

static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.") != NULL)
            n++;
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_atomic_write(void **state)
{
    struct fx *f = *state;
    char path[128];
    uint8_t *buf;
    size_t len;

    snprintf(path, sizeof(path), "%s/file", f->dir);
    assert_int_equal(ca_write_atomic(path, "first", 5, 0600), 0);
    assert_int_equal(ca_write_atomic(path, "second!", 7, 0600), 0);
    assert_int_equal(ca_read_file(path, 100, &buf, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "second!", 7);
    free(buf);
    assert_int_equal(count_tmp(f->dir), 0);
    /* a file larger than the cap is refused, not truncated */
    assert_int_equal(ca_read_file(path, 3, &buf, &len), -1);
    assert_null(buf);
    /* a directory that does not exist: an error, nothing left behind */
    assert_int_equal(ca_write_atomic("/nonexistent/dir/x", "a", 1, 0600), -1);
}

static void test_reopen_keeps_ca(void **state)
{
    struct fx *f = *state;
    struct ca again;

    assert_int_equal(ca_open(&again, f->dir, NULL), 0);
    assert_int_equal(X509_cmp(again.cert, f->ca.cert), 0);
    ca_close(&again);
}

static void test_issue_and_lookup(void **state)
{
    struct fx *f = *state;
    X509 *c = issue(f, "/C=GB/O=NHS/CN=Alice");
    struct ca_rec rec;
    char *hex, lower[80];
    X509 *stored;
    size_t i;

    assert_non_null(c);
    hex = ca_serial_hex(X509_get0_serialNumber(c));
    assert_int_equal(ca_db_lookup(f->dir, hex, &rec), 0);
    assert_int_equal(rec.status, 'V');
    assert_string_equal(rec.subject, "/C=GB/O=NHS/CN=Alice");
    /* any hex spelling finds it */
    for (i = 0; hex[i]; i++)
        lower[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 : hex[i]);
    lower[i] = 0;
    assert_int_equal(ca_db_lookup(f->dir, lower, NULL), 0);
    stored = ca_db_cert(f->dir, hex);
    assert_non_null(stored);
    assert_int_equal(X509_cmp(stored, c), 0);
    assert_int_equal(ca_db_lookup(f->dir, "1234", NULL), 1);
    assert_int_equal(ca_db_lookup(f->dir, "not hex", NULL), 1);
    X509_free(stored);
    OPENSSL_free(hex);
    X509_free(c);
}

static void test_revoke(void **state)
{
    struct fx *f = *state;
    X509 *c = issue(f, "/CN=Bob");
    char *hex = ca_serial_hex(X509_get0_serialNumber(c));
    struct ca_rec rec;

    assert_int_equal(ca_db_revoke(f->dir, hex, 1000), 0);
    assert_int_equal(ca_db_lookup(f->dir, hex, &rec), 0);
    assert_int_equal(rec.status, 'R');
    assert_int_equal(rec.revoked_at, 1000);
    assert_int_equal(ca_db_revoke(f->dir, hex, 2000), 2);
    assert_int_equal(ca_db_revoke(f->dir, "ABCDEF", 2000), 1);
    OPENSSL_free(hex);
    X509_free(c);
}

#define THREADS 4
#define PER_THREAD 10

static void *issuer_thread(void *arg)
{
    struct fx *f = arg;
    int i, ok = 0;

    for (i = 0; i < PER_THREAD; i++) {
        X509 *c = issue(f, "/CN=Concurrent");

        ok += c != NULL;
        X509_free(c);
    }
    return (void *)(intptr_t)ok;
}

static void test_concurrent_unique_serials(void **state)
{
    struct fx *f = *state;
    pthread_t th[THREADS];
    struct ca_rec *recs;
    size_t n, i, j;
    void *ret;
    int total = 0;

    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, issuer_thread, f), 0);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], &ret);
        total += (int)(intptr_t)ret;
    }
    assert_int_equal(total, THREADS * PER_THREAD);
    assert_int_equal(ca_db_load(f->dir, &recs, &n), 0);
    assert_int_equal(n, THREADS * PER_THREAD);  /* no update lost */
    for (i = 0; i < n; i++) {
        assert_int_equal(strlen(recs[i].serial), 32);
        for (j = i + 1; j < n; j++)
            assert_string_not_equal(recs[i].serial, recs[j].serial);
    }
    free(recs);
    assert_int_equal(count_tmp(f->dir), 0);
}

static void test_malformed_index_lines_skipped(void **state)
{
    struct fx *f = *state;
    static const char idx[] = "V\t100\t0\tABCD\t/CN=ok\ngarbage line\n"
                              "X\t1\t0\t12\t/CN=bad status\nR\t5\t6\t0ff\t/CN=r\n";
    char path[128];
    struct ca_rec *recs;
    size_t n;

    snprintf(path, sizeof(path), "%s/index.txt", f->dir);
    assert_int_equal(ca_write_atomic(path, idx, sizeof(idx) - 1, 0644), 0);
    assert_int_equal(ca_db_load(f->dir, &recs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0].serial, "ABCD");
    assert_string_equal(recs[1].serial, "FF");
    assert_int_equal(recs[1].status, 'R');
    free(recs);
}

static void test_secret_one_time(void **state)
{
    struct fx *f = *state;
    char ref[CA_REF_MAX], sec[CA_SECRET_MAX], got[CA_SECRET_MAX];

    assert_int_equal(ca_secret_new(f->dir, ref, sizeof(ref), sec, sizeof(sec)), 0);
    assert_true(ca_ref_valid(ref));
    assert_int_equal(ca_secret_get(f->dir, ref, got, sizeof(got)), 0);
    assert_string_equal(got, sec);
    assert_int_equal(ca_secret_consume(f->dir, ref), 0);
    assert_int_equal(ca_secret_consume(f->dir, ref), 1);
    assert_int_equal(ca_secret_get(f->dir, ref, got, sizeof(got)), 1);
    /* references are plain hex: no path can be smuggled in */
    assert_false(ca_ref_valid("../ca.key"));
    assert_false(ca_ref_valid(""));
    assert_int_equal(ca_secret_get(f->dir, "../ca.key", got, sizeof(got)), 1);
}

static void test_validity(void **state)
{
    struct fx *f = *state;
    time_t now = time(NULL), nb, na;

    ca_validity(&f->ca, 0, 0, 0, now, &nb, &na);
    assert_int_equal(nb, now);
    assert_int_equal(na - nb, 730 * CA_DAY);
    ca_validity(&f->ca, 0, 1, 20, now, &nb, &na);
    assert_int_equal(na, now + 20 * CA_DAY);
    assert_int_equal(na - nb, 730 * CA_DAY);
    ca_validity(&f->ca, 0, 1, -1, now, &nb, &na);
    assert_true(na < now);
    /* never before the CA's own notBefore (3 years ago) */
    ca_validity(&f->ca, 730, 1, -800, now, &nb, &na);
    assert_true(nb >= now - (3 * 365 + 2) * CA_DAY);
    assert_true(na > nb);
}

static void test_names_and_serials(void **state)
{
    X509_NAME *n;
    char out[80];

    (void)state;
    n = ca_parse_name("/C=GB/O=NHS/OU=Test/CN=Test User 1234");
    assert_non_null(n);
    assert_int_equal(X509_NAME_entry_count(n), 4);
    X509_NAME_free(n);
    assert_null(ca_parse_name("CN=no slash"));
    assert_null(ca_parse_name("/CN"));
    assert_null(ca_parse_name("/NOPE=x"));
    assert_null(ca_parse_name("/"));
    assert_int_equal(ca_serial_norm("0x00ab", out, sizeof(out)), 0);
    assert_string_equal(out, "AB");
    assert_int_equal(ca_serial_norm("xyz", out, sizeof(out)), -1);
    assert_int_equal(ca_serial_norm("", out, sizeof(out)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_unique_serials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_index_lines_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_one_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validity, setup, teardown),
        cmocka_unit_test(test_names_and_serials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
