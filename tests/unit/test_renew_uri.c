/* --token pkcs11: URIs (RFC 7512) against token info.
 * renew/uri.c (the one parser, also on Windows) is held to p11-kit's
 * parser and matcher on a table of URIs, good and bad. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#ifndef _WIN32
#include <p11-kit/uri.h>
#endif
#include "renew/p11.h"
#include "renew/uri.h"

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
    /* An empty attribute is skipped; p11-kit stops reading the path there
     * and would match any serial. */
    assert_int_equal(renew_uri_match("pkcs11:token=Jane%20Doe;;serial=1", &ti, &e), 0);
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

/* Every URI: both parsers accept it or both refuse it; when accepted,
 * both match or refuse the same token, slot and module infos. */
/* p11-kit is the oracle on Linux; the Windows build has no p11-kit library,
 * so under Wine the hand-written cases above run alone. */
#ifndef _WIN32
static void test_same_as_p11kit(void **state)
{
    (void)state;
    static const char *uris[] = {
        "pkcs11:", "pkcs11:token=Jane%20Doe", "pkcs11:token=Jane%20doe", "pkcs11:token=Jane",
        "pkcs11:token=", "pkcs11:serial=5124000004254900", "pkcs11:serial=5124000004254900x",
        "pkcs11:model=Series%208;manufacturer=Oberthur", "pkcs11:manufacturer=oberthur",
        "pkcs11:token=Jane%20Doe;serial=1", "pkcs11:slot-id=7", "pkcs11:slot-id=8",
        "pkcs11:slot-id=x", "pkcs11:slot-description=Virtual%20PCD%2000%2000",
        "pkcs11:slot-manufacturer=vpcd", "pkcs11:slot-manufacturer=other",
        "pkcs11:library-description=cardrenew", "pkcs11:library-manufacturer=cardrenew%20project",
        "pkcs11:library-version=0.1", "pkcs11:library-version=0", "pkcs11:library-version=1.2",
        "pkcs11:library-version=a.1", "pkcs11:library-version=1.", "pkcs11:library-version=.1",
        "pkcs11:library-version=300", "pkcs11:type=private", "pkcs11:type=cert;token=Jane%20Doe",
        "pkcs11:type=dragon", "pkcs11:object=Card%20Key;id=%01%02", "pkcs11:id=%zz",
        "pkcs11:token=Jane%2", "pkcs11:token=%4a%61ne%20Doe", "pkcs11:colour=blue",
        "pkcs11:x-vendor=1;token=Jane%20Doe", "pkcs11:token=Jane%20Doe?pin-source=file:/p",
        "pkcs11:token=Jane%20Doe?module-path=/usr/lib/x.so&module-name=x",
        "pkcs11:?pin-value=1234", "pkcs11:?vendor=%41", "pkcs11:?vendor=%4", "pkcs11:?=x",
        "pkcs11:?noequals", "pkcs11:pin-value=1234", "pkcs11:token", "pkcs11:=Jane",
        "pkcs11:token=Jane Doe", "pkcs11:token=Jane%20Doe\n", " pkcs11:serial=5124000004254900",
        "pkcs11:token=0123456789012345678901234567890123", "pkcs11:model=Series%208%20%20",
        "pkcs11:model=0123456789abcdef", "pkcs11:model=0123456789abcdefg", "pkcs11:token=a;",
        "pkcs11:token=Jane%20Doe;serial=5124000004254900",
        "token=Jane", "pkcs12:token=Jane", "PKCS11:token=Jane", "pkcs11",
    };
    CK_TOKEN_INFO ti = token();
    CK_SLOT_INFO si;
    CK_INFO mi;
    memset(&si, 0, sizeof si);
    memset(&mi, 0, sizeof mi);
    pad(si.slotDescription, sizeof si.slotDescription, "Virtual PCD 00 00");
    pad(si.manufacturerID, sizeof si.manufacturerID, "vpcd");
    pad(mi.libraryDescription, sizeof mi.libraryDescription, "cardrenew");
    pad(mi.manufacturerID, sizeof mi.manufacturerID, "cardrenew project");
    mi.libraryVersion.major = 0;
    mi.libraryVersion.minor = 1;
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        P11KitUri *k = p11_kit_uri_new();
        struct renew_uri u;
        int kr = p11_kit_uri_parse(uris[i], P11_KIT_URI_FOR_ANY, k);
        const char *why = renew_uri_parse(uris[i], &u);
        if ((kr == P11_KIT_URI_OK) != (why == NULL))
            fail_msg("%s: p11-kit says %s, ours %s", uris[i], p11_kit_uri_message(kr),
                     why ? why : "ok");
        if (!why) {
            CK_SLOT_ID want = p11_kit_uri_get_slot_id(k);
            bool kt = p11_kit_uri_match_token_info(k, &ti);
            bool ks = kt && p11_kit_uri_match_module_info(k, &mi) &&
                      p11_kit_uri_match_slot_info(k, &si) && (want == (CK_SLOT_ID)-1 || want == 7);
            if (kt != renew_uri_matches(&u, NULL, 0, NULL, &ti) ||
                ks != renew_uri_matches(&u, &mi, 7, &si, &ti))
                fail_msg("%s: p11-kit matches token %d, all %d; ours does not agree", uris[i],
                         kt, ks);
        }
        p11_kit_uri_free(k);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_slot_and_module),
        cmocka_unit_test(test_bad_uri_is_a_usage_error),
#ifndef _WIN32
        cmocka_unit_test(test_same_as_p11kit),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
