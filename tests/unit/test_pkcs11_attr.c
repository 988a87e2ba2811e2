/* test_pkcs11_attr.c: the C_GetAttributeValue rules over whole templates,
 * find-template matching, template checks and the certificate template
 * of C_CreateObject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pkcs11/p11.h"

static void build(struct p11_attrs *l)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(p11_attrs_add_ulong(l, CKA_CLASS, CKO_PRIVATE_KEY), CKR_OK);
    assert_int_equal(p11_attrs_add(l, CKA_LABEL, "alice", 5), CKR_OK);
    assert_int_equal(p11_attrs_add(l, CKA_ID, "\x01\x02\x03", 3), CKR_OK);
    assert_int_equal(p11_attrs_add_bool(l, CKA_SIGN, true), CKR_OK);
    assert_int_equal(p11_attrs_add(l, CKA_SUBJECT, NULL, 0), CKR_OK);
    assert_int_equal(p11_attrs_add_sensitive(l, CKA_PRIVATE_EXPONENT), CKR_OK);
}

static void test_fill_every_rule(void **state)
{
    (void)state;
    struct p11_attrs l;
    build(&l);
    CK_OBJECT_CLASS cls = 0;
    char small[2], big[16];
    CK_BYTE pe[8];
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof(cls) },           /* copied */
        { CKA_LABEL, NULL, 0 },                     /* length query */
        { CKA_ID, small, sizeof(small) },           /* too small */
        { CKA_PRIVATE_EXPONENT, pe, sizeof(pe) },   /* sensitive */
        { CKA_MODULUS, big, sizeof(big) },          /* not on this object */
        { CKA_SUBJECT, big, sizeof(big) },          /* empty value */
        { CKA_SIGN, big, sizeof(big) },             /* after the failures: still filled */
    };
    CK_RV rv = p11_attrs_fill(&l, t, 7);
    assert_true(rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_SENSITIVE ||
                rv == CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(cls, CKO_PRIVATE_KEY);
    assert_int_equal(t[0].ulValueLen, sizeof(CK_ULONG));
    assert_int_equal(t[1].ulValueLen, 5);
    assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[4].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[5].ulValueLen, 0);
    assert_int_equal(t[6].ulValueLen, 1);
    assert_int_equal(big[0], CK_TRUE);
    p11_attrs_free(&l);
}

static void test_fill_single_codes(void **state)
{
    (void)state;
    struct p11_attrs l;
    build(&l);
    CK_BYTE buf[64];
    CK_ATTRIBUTE a = { CKA_PRIVATE_EXPONENT, buf, sizeof(buf) };
    assert_int_equal(p11_attrs_fill(&l, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
    CK_ATTRIBUTE b = { CKA_VALUE, buf, sizeof(buf) };
    assert_int_equal(p11_attrs_fill(&l, &b, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE c = { CKA_LABEL, buf, 4 };
    assert_int_equal(p11_attrs_fill(&l, &c, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(c.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    CK_ATTRIBUTE d = { CKA_LABEL, buf, sizeof(buf) };
    assert_int_equal(p11_attrs_fill(&l, &d, 1), CKR_OK);
    assert_int_equal(d.ulValueLen, 5);
    assert_memory_equal(buf, "alice", 5);
    assert_int_equal(p11_attrs_fill(&l, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11_attrs_fill(&l, NULL, 0), CKR_OK);
    p11_attrs_free(&l);
}

static void test_match(void **state)
{
    (void)state;
    struct p11_attrs l;
    build(&l);
    CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY, cert = CKO_CERTIFICATE;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t1[] = { { CKA_CLASS, &pk, sizeof(pk) }, { CKA_ID, "\x01\x02\x03", 3 } };
    CK_ATTRIBUTE t2[] = { { CKA_CLASS, &cert, sizeof(cert) } };
    CK_ATTRIBUTE t3[] = { { CKA_ID, "\x01\x02", 2 } };
    CK_ATTRIBUTE t4[] = { { CKA_SIGN, &yes, 1 }, { CKA_MODULUS, "x", 1 } };
    CK_ATTRIBUTE t5[] = { { CKA_PRIVATE_EXPONENT, "x", 1 } };
    CK_ATTRIBUTE t6[] = { { CKA_SUBJECT, NULL, 0 } };
    assert_true(p11_attrs_match(&l, NULL, 0));      /* empty template: all */
    assert_true(p11_attrs_match(&l, t1, 2));
    assert_false(p11_attrs_match(&l, t2, 1));
    assert_false(p11_attrs_match(&l, t3, 1));      /* a prefix is no match */
    assert_false(p11_attrs_match(&l, t4, 2));      /* absent attribute */
    assert_false(p11_attrs_match(&l, t5, 1));      /* sensitive never matches */
    assert_true(p11_attrs_match(&l, t6, 1));
    p11_attrs_free(&l);
}

static void test_template_check(void **state)
{
    (void)state;
    CK_ULONG ul = 1;
    CK_BBOOL b = CK_TRUE;
    CK_ATTRIBUTE ok[] = { { CKA_CLASS, &ul, sizeof(ul) }, { CKA_TOKEN, &b, 1 },
                          { CKA_LABEL, NULL, 0 } };
    assert_int_equal(p11_template_check(ok, 3), CKR_OK);
    CK_ATTRIBUTE unknown[] = { { 0x7fff0001UL, &ul, sizeof(ul) } };
    assert_int_equal(p11_template_check(unknown, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE short_ulong[] = { { CKA_CLASS, &ul, 4 } };
    assert_int_equal(p11_template_check(short_ulong, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE long_bool[] = { { CKA_TOKEN, &ul, sizeof(ul) } };
    assert_int_equal(p11_template_check(long_bool, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE null_value[] = { { CKA_LABEL, NULL, 4 } };
    assert_int_equal(p11_template_check(null_value, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE dup[] = { { CKA_LABEL, "a", 1 }, { CKA_LABEL, "b", 1 } };
    assert_int_equal(p11_template_check(dup, 2), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE bad_date[] = { { CKA_START_DATE, "2026", 4 } };
    assert_int_equal(p11_template_check(bad_date, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(p11_template_check(NULL, 2), CKR_ARGUMENTS_BAD);

    CK_BBOOL junk = 7;
    bool out, found;
    CK_ATTRIBUTE jb[] = { { CKA_TOKEN, &junk, 1 } };
    assert_int_equal(p11_template_bool(jb, 1, CKA_TOKEN, &out, &found), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(p11_template_bool(ok, 3, CKA_TOKEN, &out, &found), CKR_OK);
    assert_true(found && out);
    assert_int_equal(p11_template_bool(ok, 3, CKA_PRIVATE, &out, &found), CKR_OK);
    assert_false(found);
    CK_ULONG v;
    assert_int_equal(p11_template_ulong(ok, 3, CKA_CLASS, &v, &found), CKR_OK);
    assert_true(found);
    assert_int_equal(v, 1);
}

/* A self-signed certificate, DER. */
static unsigned char *make_cert(int *len)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"T", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    *len = i2d_X509(x, &der);
    X509_free(x);
    EVP_PKEY_free(k);
    return der;
}

static void test_cert_template(void **state)
{
    (void)state;
    int len;
    unsigned char *der = make_cert(&len);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE, pk = CKO_PRIVATE_KEY;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509, wtls = CKC_WTLS;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    const uint8_t *got;
    size_t glen;
    const CK_ATTRIBUTE *id, *label;

    CK_ATTRIBUTE good[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                            { CKA_TOKEN, &t, 1 }, { CKA_ID, "\x01", 1 }, { CKA_VALUE, der, (CK_ULONG)len } };
    assert_int_equal(p11_cert_template(good, 5, &got, &glen, &id, &label), CKR_OK);
    assert_ptr_equal(got, der);
    assert_int_equal(glen, len);
    assert_non_null(id);
    assert_null(label);

    assert_int_equal(p11_cert_template(good + 1, 4, &got, &glen, &id, &label), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE key[] = { { CKA_CLASS, &pk, sizeof(pk) } };
    assert_int_equal(p11_cert_template(key, 1, &got, &glen, &id, &label), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE notype[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_VALUE, der, (CK_ULONG)len } };
    assert_int_equal(p11_cert_template(notype, 2, &got, &glen, &id, &label), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE wt[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &wtls, sizeof(wtls) },
                          { CKA_VALUE, der, (CK_ULONG)len } };
    assert_int_equal(p11_cert_template(wt, 3, &got, &glen, &id, &label), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE novalue[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) } };
    assert_int_equal(p11_cert_template(novalue, 2, &got, &glen, &id, &label), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE trunc[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                             { CKA_VALUE, der, (CK_ULONG)len - 1 } };
    assert_int_equal(p11_cert_template(trunc, 3, &got, &glen, &id, &label), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE session_obj[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                                   { CKA_TOKEN, &f, 1 }, { CKA_VALUE, der, (CK_ULONG)len } };
    assert_int_equal(p11_cert_template(session_obj, 4, &got, &glen, &id, &label), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE priv[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                            { CKA_PRIVATE, &t, 1 }, { CKA_VALUE, der, (CK_ULONG)len } };
    assert_int_equal(p11_cert_template(priv, 4, &got, &glen, &id, &label), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE unknown[] = { { CKA_CLASS, &cc, sizeof(cc) }, { 0x7fff0002UL, "x", 1 } };
    assert_int_equal(p11_cert_template(unknown, 2, &got, &glen, &id, &label), CKR_ATTRIBUTE_TYPE_INVALID);
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_every_rule),
        cmocka_unit_test(test_fill_single_codes),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_template_check),
        cmocka_unit_test(test_cert_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
