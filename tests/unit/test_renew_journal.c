/* The renewal journal: atomic save/load, damage detection, and the
 * resume decision a rerun takes from the journal and the token. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "renew/journal.h"

/* The journal's durability order, seen from inside the process: these
 * stand in for libc's and record each call before making it. */
static char calls[4096];
static int fail_fsync;

static void record(const char *what, int fd, const char *path)
{
    char name[300] = "";
    if (fd >= 0) {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, name, sizeof name - 1);
        name[n > 0 ? n : 0] = '\0';
    } else {
        snprintf(name, sizeof name, "%s", path);
    }
    const char *base = strrchr(name, '/');
    size_t k = strlen(calls);
    snprintf(calls + k, sizeof calls - k, "%s(%s) ", what, base ? base + 1 : name);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    record("fsync", fd, NULL);
    if (fail_fsync) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "rename");
    record("rename", -1, from);
    return real(from, to);
}

/* A real certificate: the journal keeps only whole ones. */
static unsigned char *make_cert(size_t *len)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Jane", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    unsigned char *der = NULL;
    int l = i2d_X509(x, &der);
    unsigned char *out = malloc((size_t)l);
    memcpy(out, der, (size_t)l);
    *len = (size_t)l;
    OPENSSL_free(der);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
    return out;
}

static void journal_file(const char *serial, char *path, size_t n)
{
    struct renew_err e;
    assert_int_equal(renew_journal_path(serial, path, n, &e), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_journal.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char sub[96];
    snprintf(sub, sizeof sub, "%s/state", dir);
    setenv("XDG_STATE_HOME", sub, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_missing_is_not_an_error(void **state)
{
    (void)state;
    struct renew_journal j;
    struct renew_err e;
    assert_int_equal(renew_journal_load("NOPE", &j, &e), 1);
    assert_null(j.cert);
}

static void test_roundtrip_and_replace(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_KEYGEN }, k;
    struct renew_err e;
    size_t cert_len;
    unsigned char *cert = make_cert(&cert_len);
    memcpy(j.old_id, "\x01", 1);
    j.old_id_len = 1;
    memcpy(j.new_id, "\xaa\xbb\xcc", 3);
    j.new_id_len = 3;
    assert_int_equal(renew_journal_save("4082C10C1A222820", &j, &e), 0);
    j.state = RENEW_J_ISSUED;
    j.cert = cert;
    j.cert_len = cert_len;
    assert_int_equal(renew_journal_save("4082C10C1A222820", &j, &e), 0);
    assert_int_equal(renew_journal_load("4082C10C1A222820", &k, &e), 0);
    assert_int_equal(k.state, RENEW_J_ISSUED);
    assert_int_equal(k.new_id_len, 3);
    assert_memory_equal(k.new_id, "\xaa\xbb\xcc", 3);
    assert_int_equal(k.old_id_len, 1);
    assert_int_equal(k.cert_len, cert_len);
    assert_memory_equal(k.cert, cert, cert_len);
    renew_journal_clear(&k);
    free(cert);

    /* No temporary file is left beside it. */
    char path[512], tmp[600];
    journal_file("4082C10C1A222820", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* Temp file written and fsynced, renamed, then the directory fsynced. */
static void test_save_order_is_durable(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_DONE };
    struct renew_err e;
    assert_int_equal(renew_journal_save("ORDER", &j, &e), 0);
    calls[0] = '\0';
    assert_int_equal(renew_journal_save("ORDER", &j, &e), 0);
    assert_string_equal(calls, "fsync(ORDER.journal.tmp) rename(ORDER.journal.tmp) fsync(cardrenew) ");
}

/* A save whose fsync fails reports it and leaves the last journal. */
static void test_failed_fsync_keeps_the_old_journal(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_KEYGEN, .old_id = { 1 }, .old_id_len = 1,
                               .new_id = { 2 }, .new_id_len = 1 }, k;
    struct renew_err e;
    char path[512], tmp[600];
    assert_int_equal(renew_journal_save("FSYNC", &j, &e), 0);
    j.state = RENEW_J_DONE;
    fail_fsync = 1;
    int rc = renew_journal_save("FSYNC", &j, &e);
    fail_fsync = 0;
    assert_int_equal(rc, RENEW_E_USAGE);
    assert_non_null(strstr(e.msg, "Input/output error"));
    assert_int_equal(renew_journal_load("FSYNC", &k, &e), 0);
    assert_int_equal(k.state, RENEW_J_KEYGEN);
    journal_file("FSYNC", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_stray_temp_file_is_ignored(void **state)
{
    (void)state;
    size_t cert_len;
    unsigned char *cert = make_cert(&cert_len);
    struct renew_journal j = { .state = RENEW_J_WRITTEN, .old_id = { 1 }, .old_id_len = 1,
                               .new_id = { 2 }, .new_id_len = 1, .cert = cert,
                               .cert_len = cert_len }, k;
    struct renew_err e;
    char path[512], tmp[600];
    assert_int_equal(renew_journal_save("S1", &j, &e), 0);
    free(cert);
    assert_int_equal(renew_journal_path("S1", path, sizeof path, &e), 0);
    /* A save cut before its rename leaves only the temp file. */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("cardrenew-journal 2\nstate=do", f);
    fclose(f);
    assert_int_equal(renew_journal_load("S1", &k, &e), 0);
    assert_int_equal(k.state, RENEW_J_WRITTEN);
    renew_journal_clear(&k);
}

static void test_damaged_journal_is_reported(void **state)
{
    (void)state;
    struct renew_journal j = { 0 }, k;
    struct renew_err e;
    char path[512];
    assert_int_equal(renew_journal_save("S2", &j, &e), 0);
    journal_file("S2", path, sizeof path);
    spit(path, "cardrenew-journal 2\nstate=issued\ncert=zz\n");
    assert_int_equal(renew_journal_load("S2", &k, &e), RENEW_E_JOURNAL);
    assert_non_null(strstr(e.msg, "damaged"));
    assert_null(k.cert);
}

/* One changed byte anywhere: the checksum no longer matches. */
static void test_checksum_catches_a_changed_byte(void **state)
{
    (void)state;
    size_t cert_len;
    unsigned char *cert = make_cert(&cert_len);
    struct renew_journal j = { .state = RENEW_J_ISSUED, .old_id = { 1 }, .old_id_len = 1,
                               .new_id = { 2 }, .new_id_len = 1, .cert = cert,
                               .cert_len = cert_len }, k;
    struct renew_err e;
    char path[512];
    assert_int_equal(renew_journal_save("SUM", &j, &e), 0);
    free(cert);
    journal_file("SUM", path, sizeof path);
    char *text = slurp(path);
    char *c = strstr(text, "cert=") + 40;
    *c = *c == '0' ? '1' : '0';
    spit(path, text);
    free(text);
    assert_int_equal(renew_journal_load("SUM", &k, &e), RENEW_E_JOURNAL);
    assert_non_null(strstr(e.msg, "checksum"));
    assert_null(k.cert);
}

/* A journal must name two different keys; a real save refuses nothing,
 * so the file is written by hand with a valid checksum. */
/* An RA's enrollment names no old key but keeps its subject; without the
 * subject it cannot be finished and is damaged. A renewal's journal still
 * needs both keys. */
static void test_enrollment_journal(void **state)
{
    (void)state;
    unsigned char subject[] = { 0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04,
                                0x03, 0x0c, 0x04, 'J', 'a', 'n', 'e' };
    struct renew_journal j = { .state = RENEW_J_KEYGEN, .new_id = { 9 }, .new_id_len = 1,
                               .enroll = true, .subject = subject,
                               .subject_len = sizeof subject }, k;
    struct renew_err e;
    assert_int_equal(renew_journal_save("ENROLL", &j, &e), 0);
    assert_int_equal(renew_journal_load("ENROLL", &k, &e), 0);
    assert_true(k.enroll);
    assert_int_equal(k.old_id_len, 0);
    assert_int_equal(k.subject_len, sizeof subject);
    assert_memory_equal(k.subject, subject, sizeof subject);
    renew_journal_clear(&k);
    j.subject = NULL;
    j.subject_len = 0;
    assert_int_equal(renew_journal_save("ENROLL", &j, &e), 0);
    assert_int_equal(renew_journal_load("ENROLL", &k, &e), RENEW_E_JOURNAL);
    assert_non_null(strstr(e.msg, "subject"));
    j.enroll = false;
    assert_int_equal(renew_journal_save("ENROLL", &j, &e), 0);
    assert_int_equal(renew_journal_load("ENROLL", &k, &e), RENEW_E_JOURNAL);
    assert_non_null(strstr(e.msg, "both keys"));
}

static void test_same_old_and_new_id_is_damaged(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_KEYGEN, .old_id = { 7 }, .old_id_len = 1,
                               .new_id = { 8 }, .new_id_len = 1 }, k;
    struct renew_err e;
    char path[512];
    assert_int_equal(renew_journal_save("SAME", &j, &e), 0);
    assert_int_equal(renew_journal_load("SAME", &k, &e), 0);
    j.new_id[0] = 7;
    assert_int_equal(renew_journal_save("SAME", &j, &e), 0);
    assert_int_equal(renew_journal_load("SAME", &k, &e), RENEW_E_JOURNAL);
    assert_non_null(strstr(e.msg, "both the old and the new"));
    (void)path;
}

static void test_damaged_journal_is_set_aside_whole(void **state)
{
    (void)state;
    struct renew_journal j = { 0 };
    struct renew_err e;
    char path[512], to[600];
    assert_int_equal(renew_journal_save("ASIDE", &j, &e), 0);
    journal_file("ASIDE", path, sizeof path);
    spit(path, "cardrenew-journal 2\nstate=written\nsomething the RA needs\n");
    assert_int_equal(renew_journal_set_aside("ASIDE", to, sizeof to, &e), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    char *text = slurp(to);
    assert_string_equal(text, "cardrenew-journal 2\nstate=written\nsomething the RA needs\n");
    free(text);
    assert_non_null(strstr(to, ".damaged-"));
}

/* Neither the journal nor its lock is ever read or written through a
 * symbolic link: it could point anywhere. */
static void test_links_are_refused(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_DONE }, k;
    struct renew_err e;
    char path[512], victim[600], lock[600];
    assert_int_equal(renew_journal_save("LINK", &j, &e), 0);
    journal_file("LINK", path, sizeof path);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    spit(victim, "precious\n");
    unlink(path);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(renew_journal_load("LINK", &k, &e), RENEW_E_JOURNAL);
    assert_non_null(strstr(e.msg, "link"));
    /* A save replaces the link itself; the file it pointed at is untouched. */
    assert_int_equal(renew_journal_save("LINK", &j, &e), 0);
    char *text = slurp(victim);
    assert_string_equal(text, "precious\n");
    free(text);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    snprintf(lock, sizeof lock, "%s.lock", path);
    unlink(lock);
    assert_int_equal(symlink(victim, lock), 0);
    assert_int_equal(renew_journal_lock("LINK", &e), -1);
    assert_int_equal(e.code, RENEW_E_USAGE);
}

static void test_state_directory_must_be_private(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_DONE };
    struct renew_err e;
    char path[512], d[512];
    assert_int_equal(renew_journal_save("MODE", &j, &e), 0);
    journal_file("MODE", path, sizeof path);
    snprintf(d, sizeof d, "%s", path);
    *strrchr(d, '/') = '\0';
    assert_int_equal(chmod(d, 0777), 0);
    assert_int_equal(renew_journal_save("MODE", &j, &e), RENEW_E_USAGE);
    assert_non_null(strstr(e.msg, "others may write"));
    assert_int_equal(renew_journal_lock("MODE", &e), -1);
    assert_int_equal(chmod(d, 0700), 0);
    assert_int_equal(renew_journal_save("MODE", &j, &e), 0);
}

static void test_serial_cannot_escape_the_directory(void **state)
{
    (void)state;
    char path[512];
    struct renew_err e;
    assert_int_equal(renew_journal_path("../../etc/x", path, sizeof path, &e), 0);
    assert_null(strstr(path, ".."));
    assert_non_null(strstr(path, "/cardrenew/"));
}

static void test_one_renewal_per_token(void **state)
{
    (void)state;
    struct renew_err e;
    int a = renew_journal_lock("S3", &e);
    assert_true(a >= 0);
    assert_int_equal(renew_journal_lock("S3", &e), -1);
    assert_int_equal(e.code, RENEW_E_TOKEN);
    assert_non_null(strstr(e.msg, "already renewing"));
    int b = renew_journal_lock("S4", &e);
    assert_true(b >= 0);
    renew_journal_unlock(a);
    renew_journal_unlock(b);
    a = renew_journal_lock("S3", &e);
    assert_true(a >= 0);
    renew_journal_unlock(a);
}

static void test_resume_decisions(void **state)
{
    (void)state;
    struct { struct renew_seen s; enum renew_action want; } cases[] = {
        { { .journal = false }, RENEW_DO_FRESH },
        { { .journal = false, .other_pending = true }, RENEW_DO_REMOVE_PENDING },
        { { .journal = true, .jstate = RENEW_J_KEYGEN, .new_key = true, .old_cred = true },
          RENEW_DO_REUSE_KEY },
        { { .journal = true, .jstate = RENEW_J_KEYGEN, .new_key = false, .old_cred = true },
          RENEW_DO_FRESH },
        { { .journal = true, .jstate = RENEW_J_ISSUED, .new_key = true, .old_cred = true },
          RENEW_DO_WRITE_CERT },
        { { .journal = true, .jstate = RENEW_J_WRITTEN, .new_key = true, .new_cert = true,
            .old_cred = true }, RENEW_DO_RETIRE_OLD },
        { { .journal = true, .jstate = RENEW_J_WRITTEN, .new_key = true, .new_cert = true,
            .old_cred = false }, RENEW_DO_FINISH },
        { { .journal = true, .jstate = RENEW_J_DONE, .new_key = true, .new_cert = true },
          RENEW_DO_FRESH },
        { { .journal = true, .jstate = RENEW_J_ISSUED, .new_key = true, .old_cred = true,
            .other_pending = true }, RENEW_DO_REMOVE_PENDING },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum renew_action a = renew_resume_decide(&cases[i].s);
        if (a != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, renew_action_name(a),
                     renew_action_name(cases[i].want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_is_not_an_error),
        cmocka_unit_test(test_roundtrip_and_replace),
        cmocka_unit_test(test_stray_temp_file_is_ignored),
        cmocka_unit_test(test_save_order_is_durable),
        cmocka_unit_test(test_failed_fsync_keeps_the_old_journal),
        cmocka_unit_test(test_damaged_journal_is_reported),
        cmocka_unit_test(test_checksum_catches_a_changed_byte),
        cmocka_unit_test(test_same_old_and_new_id_is_damaged),
        cmocka_unit_test(test_enrollment_journal),
        cmocka_unit_test(test_damaged_journal_is_set_aside_whole),
        cmocka_unit_test(test_links_are_refused),
        cmocka_unit_test(test_state_directory_must_be_private),
        cmocka_unit_test(test_serial_cannot_escape_the_directory),
        cmocka_unit_test(test_one_renewal_per_token),
        cmocka_unit_test(test_resume_decisions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
