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
#include <unistd.h>
#include "renew/journal.h"

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
    unsigned char cert[300];
    for (size_t i = 0; i < sizeof cert; i++)
        cert[i] = (unsigned char)i;
    memcpy(j.old_id, "\x01", 1);
    j.old_id_len = 1;
    memcpy(j.new_id, "\xaa\xbb\xcc", 3);
    j.new_id_len = 3;
    assert_int_equal(renew_journal_save("4082C10C1A222820", &j, &e), 0);
    j.state = RENEW_J_ISSUED;
    j.cert = cert;
    j.cert_len = sizeof cert;
    assert_int_equal(renew_journal_save("4082C10C1A222820", &j, &e), 0);
    assert_int_equal(renew_journal_load("4082C10C1A222820", &k, &e), 0);
    assert_int_equal(k.state, RENEW_J_ISSUED);
    assert_int_equal(k.new_id_len, 3);
    assert_memory_equal(k.new_id, "\xaa\xbb\xcc", 3);
    assert_int_equal(k.old_id_len, 1);
    assert_int_equal(k.cert_len, sizeof cert);
    assert_memory_equal(k.cert, cert, sizeof cert);
    renew_journal_clear(&k);

    /* No temporary file is left beside it. */
    char path[512], tmp[600];
    assert_int_equal(renew_journal_path("4082C10C1A222820", path, sizeof path, &e), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_stray_temp_file_is_ignored(void **state)
{
    (void)state;
    struct renew_journal j = { .state = RENEW_J_WRITTEN }, k;
    struct renew_err e;
    char path[512], tmp[600];
    assert_int_equal(renew_journal_save("S1", &j, &e), 0);
    assert_int_equal(renew_journal_path("S1", path, sizeof path, &e), 0);
    /* A save cut before its rename leaves only the temp file. */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("cardrenew-journal 1\nstate=do", f);
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
    assert_int_equal(renew_journal_path("S2", path, sizeof path, &e), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("cardrenew-journal 1\nstate=issued\ncert=zz\n", f);
    fclose(f);
    assert_int_equal(renew_journal_load("S2", &k, &e), RENEW_E_USAGE);
    assert_non_null(strstr(e.msg, "damaged"));
    assert_null(k.cert);
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
        cmocka_unit_test(test_damaged_journal_is_reported),
        cmocka_unit_test(test_serial_cannot_escape_the_directory),
        cmocka_unit_test(test_one_renewal_per_token),
        cmocka_unit_test(test_resume_decisions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
