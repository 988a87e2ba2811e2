/* The issued certificate judged as a relying party would: each way a
 * broken or hostile CA can get it wrong is refused, with a reason; a
 * proper one passes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>
#include "renew/judge.h"

#define DAY 86400L

static EVP_PKEY *ca_key, *other_ca_key, *old_key, *new_key, *stranger_key;
static X509 *ca_cert, *old_cert;
static X509_STORE *trust;
static time_t now;

struct spec {
    EVP_PKEY *pub, *signer;
    const char *cn;
    long nb, na;            /* seconds from now */
    const char *bc, *ku;    /* extension values, NULL: absent */
};

static void ext(X509 *x, X509 *issuer, int nid, const char *v)
{
    X509V3_CTX c;
    X509V3_set_ctx(&c, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, v);
    assert_non_null(e);
    assert_true(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

static X509 *make(const struct spec *s, X509 *issuer)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"NHS", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(rand() & 0xffffff));
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_time_adj(X509_getm_notBefore(x), s->nb, &now);
    X509_time_adj(X509_getm_notAfter(x), s->na, &now);
    X509_set_pubkey(x, s->pub);
    if (s->bc)
        ext(x, issuer, NID_basic_constraints, s->bc);
    if (s->ku)
        ext(x, issuer, NID_key_usage, s->ku);
    if (issuer)
        ext(x, issuer, NID_ext_key_usage, "clientAuth");
    assert_true(X509_sign(x, s->signer, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static int setup(void **state)
{
    (void)state;
    now = time(NULL);
    ca_key = EVP_EC_gen("P-256");
    other_ca_key = EVP_EC_gen("P-256");
    old_key = EVP_EC_gen("P-256");
    new_key = EVP_EC_gen("P-256");
    stranger_key = EVP_EC_gen("P-256");
    struct spec ca = { ca_key, ca_key, "Test CA", -3 * 365 * DAY, 20 * 365 * DAY,
                       "critical,CA:TRUE", "critical,keyCertSign,cRLSign" };
    ca_cert = make(&ca, NULL);
    struct spec old = { old_key, ca_key, "Jane Doe", -710 * DAY, 20 * DAY,
                        "critical,CA:FALSE", "critical,digitalSignature" };
    old_cert = make(&old, ca_cert);
    trust = X509_STORE_new();
    X509_STORE_add_cert(trust, ca_cert);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_STORE_free(trust);
    X509_free(ca_cert);
    X509_free(old_cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_ca_key);
    EVP_PKEY_free(old_key);
    EVP_PKEY_free(new_key);
    EVP_PKEY_free(stranger_key);
    return 0;
}

/* The certificate a good CA issues for the renewal. */
static struct spec good(void)
{
    struct spec s = { new_key, ca_key, "Jane Doe", 0, 730 * DAY, "critical,CA:FALSE",
                      "critical,digitalSignature" };
    return s;
}

static void expect(const struct spec *s, const char *reason)
{
    X509 *c = make(s, ca_cert);
    struct renew_judge_in in = { old_cert, new_key, trust, NULL, now, NULL };
    char why[256] = "";
    int rc = renew_judge(&in, c, why, sizeof why);
    X509_free(c);
    if (!reason) {
        if (rc != 0)
            fail_msg("refused a good certificate: %s", why);
        return;
    }
    if (rc == 0)
        fail_msg("accepted a certificate that should fail with \"%s\"", reason);
    if (!strstr(why, reason))
        fail_msg("refused for \"%s\", want \"%s\"", why, reason);
}

static void test_good_certificate_passes(void **state)
{
    (void)state;
    struct spec s = good();
    expect(&s, NULL);
    s.ku = NULL;                /* no keyUsage: any use */
    expect(&s, NULL);
    s = good();
    s.nb = 120;                 /* the CA's clock two minutes ahead */
    expect(&s, NULL);
}

static void test_another_key(void **state)
{
    (void)state;
    struct spec s = good();
    s.pub = stranger_key;
    expect(&s, "another key");
    s.pub = old_key;
    expect(&s, "another key");
}

static void test_another_subject(void **state)
{
    (void)state;
    struct spec s = good();
    s.cn = "Mallory Other";
    expect(&s, "another holder");
}

static void test_a_ca_certificate(void **state)
{
    (void)state;
    struct spec s = good();
    s.bc = "critical,CA:TRUE";
    expect(&s, "certificate authority");
    s = good();
    s.ku = "critical,digitalSignature,keyCertSign";
    expect(&s, "certificate authority");
}

static void test_no_signatures(void **state)
{
    (void)state;
    struct spec s = good();
    s.ku = "critical,keyEncipherment";
    expect(&s, "does not allow signatures");
}

static void test_validity(void **state)
{
    (void)state;
    struct spec s = good();
    s.nb = -731 * DAY;
    s.na = -DAY;
    expect(&s, "already expired");
    s = good();
    s.nb = 365 * DAY;
    s.na = 1095 * DAY;
    expect(&s, "not valid until");
    s = good();
    s.na = DAY;                 /* the old one has 20 days left */
    expect(&s, "before your current certificate");
    s.na = 20 * DAY - 60;
    expect(&s, "before your current certificate");
    s.na = 20 * DAY;            /* the same end, as a re-renewal in the same second */
    expect(&s, NULL);
}

static void test_not_signed_by_the_ca(void **state)
{
    (void)state;
    struct spec s = good();
    s.signer = other_ca_key;    /* the CA's name as issuer, another key */
    expect(&s, "does not verify against the configured CA certificate");
}

static void test_wrong_purpose(void **state)
{
    (void)state;
    struct spec s = good();
    X509 *c = make(&s, ca_cert);
    /* Replace clientAuth by serverAuth: not a client-authentication certificate. */
    X509_EXTENSION_free(X509_delete_ext(c, X509_get_ext_by_NID(c, NID_ext_key_usage, -1)));
    ext(c, ca_cert, NID_ext_key_usage, "serverAuth");
    X509_sign(c, ca_key, EVP_sha256());
    struct renew_judge_in in = { old_cert, new_key, trust, NULL, now, NULL };
    char why[256];
    assert_int_not_equal(renew_judge(&in, c, why, sizeof why), 0);
    assert_non_null(strstr(why, "purpose"));
    X509_free(c);
}

/* A first issue has no old certificate: the requested subject stands in
 * for it and any end date after now is fine. */
static void test_first_issue(void **state)
{
    (void)state;
    struct spec s = good();
    X509 *c = make(&s, ca_cert);
    X509_NAME *want = X509_NAME_dup(X509_get_subject_name(old_cert));
    struct renew_judge_in in = { NULL, new_key, trust, NULL, now, want };
    char why[256] = "";
    assert_int_equal(renew_judge(&in, c, why, sizeof why), 0);
    X509_free(c);
    s.na = DAY;                 /* shorter than the old one: fine here */
    c = make(&s, ca_cert);
    assert_int_equal(renew_judge(&in, c, why, sizeof why), 0);
    X509_free(c);
    s = good();
    s.cn = "Mallory Other";
    c = make(&s, ca_cert);
    assert_int_not_equal(renew_judge(&in, c, why, sizeof why), 0);
    assert_non_null(strstr(why, "another holder"));
    X509_free(c);
    s = good();
    s.pub = stranger_key;
    c = make(&s, ca_cert);
    assert_int_not_equal(renew_judge(&in, c, why, sizeof why), 0);
    assert_non_null(strstr(why, "another key"));
    X509_free(c);
    in.subject = NULL;          /* nothing to compare with: refused */
    s = good();
    c = make(&s, ca_cert);
    assert_int_not_equal(renew_judge(&in, c, why, sizeof why), 0);
    X509_free(c);
    X509_NAME_free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_certificate_passes),
        cmocka_unit_test(test_another_key),
        cmocka_unit_test(test_another_subject),
        cmocka_unit_test(test_a_ca_certificate),
        cmocka_unit_test(test_no_signatures),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_not_signed_by_the_ca),
        cmocka_unit_test(test_wrong_purpose),
        cmocka_unit_test(test_first_issue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
