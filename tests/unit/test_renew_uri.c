/* --token pkcs11: URIs (RFC 7512) against token info, and module names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "renew/p11.h"

static void pad(unsigned char *dst, size_t n, const char *s)
{
    memset(dst, ' ', n);
    memcpy(dst, s, strlen(s));
}

static CK_TOKEN_INFO token(void)
{
    CK_TOKEN_INFO ti;
    memset(&ti, 0, sizeof ti);
    pad(ti.label, sizeof ti.label, "Jane Doe");
    pad(ti.manufacturerID, sizeof ti.manufacturerID, "Oberthur");
    pad(ti.model, sizeof ti.model, "Series 8");
    pad(ti.serialNumber, sizeof ti.serialNumber, "5124000004254900");
    return ti;
}

static void test_matches(void **state)
{
    (void)state;
    CK_TOKEN_INFO ti = token();
    struct renew_err e;
    assert_int_equal(renew_uri_match(NULL, &ti, &e), 1);
    assert_int_equal(renew_uri_match("pkcs11:", &ti, &e), 1);
    assert_int_equal(renew_uri_match("pkcs11:token=Jane%20Doe", &ti, &e), 1);
    assert_int_equal(renew_uri_match("pkcs11:serial=5124000004254900", &ti, &e), 1);
    assert_int_equal(renew_uri_match("pkcs11:model=Series%208;manufacturer=Oberthur", &ti, &e), 1);
    /* Object attributes do not stop a token from matching. */
    assert_int_equal(renew_uri_match("pkcs11:token=Jane%20Doe;type=private", &ti, &e), 1);
}

static void test_mismatches(void **state)
{
    (void)state;
    CK_TOKEN_INFO ti = token();
    struct renew_err e;
    assert_int_equal(renew_uri_match("pkcs11:token=John", &ti, &e), 0);
    assert_int_equal(renew_uri_match("pkcs11:serial=4082C10C1A222820", &ti, &e), 0);
    assert_int_equal(renew_uri_match("pkcs11:token=Jane%20Doe;serial=1", &ti, &e), 0);
}

static void test_slot_and_module(void **state)
{
    (void)state;
    CK_TOKEN_INFO ti = token();
    CK_SLOT_INFO si;
    CK_INFO mi;
    struct renew_err e;
    memset(&si, 0, sizeof si);
    memset(&mi, 0, sizeof mi);
    pad(si.slotDescription, sizeof si.slotDescription, "Virtual PCD 00 00");
    pad(si.manufacturerID, sizeof si.manufacturerID, "vpcd");
    pad(mi.libraryDescription, sizeof mi.libraryDescription, "cardrenew");
    pad(mi.manufacturerID, sizeof mi.manufacturerID, "cardrenew project");
    assert_int_equal(renew_uri_match_slot("pkcs11:slot-id=7", &mi, 7, &si, &ti, &e), 1);
    assert_int_equal(renew_uri_match_slot("pkcs11:slot-id=8", &mi, 7, &si, &ti, &e), 0);
    assert_int_equal(renew_uri_match_slot("pkcs11:slot-description=Virtual%20PCD%2000%2000",
                                          &mi, 7, &si, &ti, &e), 1);
    assert_int_equal(renew_uri_match_slot("pkcs11:library-description=cardrenew;token=Jane%20Doe",
                                          &mi, 7, &si, &ti, &e), 1);
    assert_int_equal(renew_uri_match_slot("pkcs11:library-description=softhsm",
                                          &mi, 7, &si, &ti, &e), 0);
}

static void test_bad_uri_is_a_usage_error(void **state)
{
    (void)state;
    CK_TOKEN_INFO ti = token();
    struct renew_err e;
    assert_int_equal(renew_uri_match("token=Jane", &ti, &e), -1);
    assert_int_equal(e.code, RENEW_E_USAGE);
    assert_non_null(strstr(e.msg, "pkcs11: URI"));
}

static void test_module_paths(void **state)
{
    (void)state;
    char out[512];
    struct renew_err e;
    assert_int_equal(renew_module_path("/opt/x.so", out, sizeof out, &e), 0);
    assert_string_equal(out, "/opt/x.so");
    setenv("CARDRENEW_MODULE", "/env/mod.so", 1);
    assert_int_equal(renew_module_path(NULL, out, sizeof out, &e), 0);
    assert_string_equal(out, "/env/mod.so");
    unsetenv("CARDRENEW_MODULE");
    assert_int_equal(renew_module_path("no-such-module-name", out, sizeof out, &e), RENEW_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_slot_and_module),
        cmocka_unit_test(test_bad_uri_is_a_usage_error),
        cmocka_unit_test(test_module_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
