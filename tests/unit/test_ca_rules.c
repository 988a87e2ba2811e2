/* Who may renew what: the kur rules on their own, then whole CMP
 * transactions against ca_srv_handle in-process (an OpenSSL client whose
 * transfer callback calls the server), and the DER field readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "tests/ca/ca.h"

struct fx {
    char dir[64], other_dir[64];
    struct ca ca, other;
    struct ca_srv *srv;
    EVP_PKEY *ka, *kb, *knew;
    X509 *a, *b;             /* issued by ca to ka, kb */
    enum ca_mode mode;
};

static X509 *issue_at(struct ca *ca, EVP_PKEY *k, const char *dn, time_t nb, time_t na)
{
    X509_NAME *name = ca_parse_name(dn);
    char err[256];
    X509 *c = ca_issue(ca, k, name, nb, na, 0, err, sizeof(err));

    X509_NAME_free(name);
    return c;
}

static X509 *issue(struct ca *ca, EVP_PKEY *k, const char *dn)
{
    time_t now = time(NULL);

    return issue_at(ca, k, dn, now - 60, now + 30 * CA_DAY);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/test_ca_rules.XXXXXX");
    strcpy(f->other_dir, "/tmp/test_ca_rules_other.XXXXXX");
    if (mkdtemp(f->dir) == NULL || mkdtemp(f->other_dir) == NULL
        || ca_open(&f->ca, f->dir, NULL) != 0
        || ca_open(&f->other, f->other_dir, "/CN=Another CA") != 0)
        return -1;
    f->ka = EVP_EC_gen("P-256");
    f->kb = EVP_EC_gen("P-256");
    f->knew = EVP_EC_gen("P-256");
    f->a = issue(&f->ca, f->ka, "/C=GB/O=NHS/CN=Alice");
    f->b = issue(&f->ca, f->kb, "/C=GB/O=NHS/CN=Bob");
    f->srv = ca_srv_new(&f->ca, 0);
    *state = f;
    return f->a != NULL && f->b != NULL && f->srv != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[200];

    ca_srv_free(f->srv);
    X509_free(f->a);
    X509_free(f->b);
    EVP_PKEY_free(f->ka);
    EVP_PKEY_free(f->kb);
    EVP_PKEY_free(f->knew);
    ca_close(&f->ca);
    ca_close(&f->other);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->dir, f->other_dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static OSSL_CRMF_CERTID *id_of(X509 *c)
{
    return OSSL_CRMF_CERTID_gen(X509_get_issuer_name(c), X509_get0_serialNumber(c));
}

static void expect_refusal(const char *why, const char *part)
{
    assert_non_null(why);
    if (strstr(why, part) == NULL)
        fail_msg("'%s' does not contain '%s'", why, part);
}

static void test_kur_check(void **state)
{
    struct fx *f = *state;
    time_t now = time(NULL);
    OSSL_CRMF_CERTID *ida = id_of(f->a), *idb = id_of(f->b), *idx;
    X509 *foreign = issue(&f->other, f->ka, "/C=GB/O=NHS/CN=Alice");
    X509 *expired = issue_at(&f->ca, f->ka, "/CN=Old", now - 40 * CA_DAY, now - CA_DAY);
    char *hex;

    assert_null(ca_kur_check(&f->ca, f->a, ida, now));
    expect_refusal(ca_kur_check(&f->ca, NULL, ida, now), "not signed");
    expect_refusal(ca_kur_check(&f->ca, foreign, ida, now), "not issued by this CA");
    expect_refusal(ca_kur_check(&f->ca, f->a, idb, now), "oldCertID names a different");
    expect_refusal(ca_kur_check(&f->ca, f->a, NULL, now), "no old certificate");
    idx = id_of(expired);
    expect_refusal(ca_kur_check(&f->ca, expired, idx, now), "expired");
    /* A certificate signed by our key but missing from the database. */
    X509_free(foreign);
    foreign = X509_dup(f->b);
    {
        ASN1_INTEGER *s = ASN1_INTEGER_new();

        ASN1_INTEGER_set(s, 12345);
        X509_set_serialNumber(foreign, s);
        ASN1_INTEGER_free(s);
        X509_sign(foreign, f->ca.key, EVP_sha256());
        OSSL_CRMF_CERTID_free(idx);
        idx = id_of(foreign);
    }
    expect_refusal(ca_kur_check(&f->ca, foreign, idx, now), "not in this CA's database");
    /* Revoked. */
    hex = ca_serial_hex(X509_get0_serialNumber(f->a));
    assert_int_equal(ca_db_revoke(f->dir, hex, now), 0);
    expect_refusal(ca_kur_check(&f->ca, f->a, ida, now), "revoked");
    OPENSSL_free(hex);
    X509_free(foreign);
    X509_free(expired);
    OSSL_CRMF_CERTID_free(ida);
    OSSL_CRMF_CERTID_free(idb);
    OSSL_CRMF_CERTID_free(idx);
}

static void test_rr_check(void **state)
{
    struct fx *f = *state;
    const X509_NAME *iss = X509_get_issuer_name(f->a);
    const ASN1_INTEGER *sa = X509_get0_serialNumber(f->a);

    assert_null(ca_rr_check(&f->ca, f->a, 0, iss, sa));
    assert_null(ca_rr_check(&f->ca, NULL, 1, iss, sa));
    expect_refusal(ca_rr_check(&f->ca, f->b, 0, iss, sa), "signed by the certificate being revoked");
    expect_refusal(ca_rr_check(&f->ca, NULL, 0, iss, sa), "signed by the certificate being revoked");
    expect_refusal(ca_rr_check(&f->ca, f->a, 0, X509_get_subject_name(f->other.cert), sa),
                   "not issued by this CA");
    expect_refusal(ca_rr_check(&f->ca, f->a, 0, NULL, NULL), "names no issuer");
}

/* The client's transport: straight into the server, as DER both ways. */
static OSSL_CMP_MSG *xfer(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    struct fx *f = OSSL_CMP_CTX_get_transfer_cb_arg(ctx);
    unsigned char *der = NULL;
    const unsigned char *p;
    uint8_t *out;
    size_t outlen;
    OSSL_CMP_MSG *rsp = NULL;
    int n = i2d_OSSL_CMP_MSG(req, &der);

    if (n > 0 && ca_srv_handle(f->srv, der, (size_t)n, f->mode, &out, &outlen) == 0) {
        p = out;
        rsp = d2i_OSSL_CMP_MSG(NULL, &p, (long)outlen);
        OPENSSL_free(out);
    }
    OPENSSL_free(der);
    return rsp;
}

static OSSL_CMP_CTX *client(struct fx *f)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    X509_STORE *st = X509_STORE_new();

    assert_non_null(ctx);
    X509_STORE_add_cert(st, f->ca.cert);
    OSSL_CMP_CTX_set0_trustedStore(ctx, st);
    OSSL_CMP_CTX_set_transfer_cb(ctx, xfer);
    OSSL_CMP_CTX_set_transfer_cb_arg(ctx, f);
    OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_EMERG);
    OSSL_CMP_CTX_set1_recipient(ctx, X509_get_subject_name(f->ca.cert));
    EVP_PKEY_up_ref(f->knew);
    OSSL_CMP_CTX_set0_newPkey(ctx, 1, f->knew);
    return ctx;
}

static OSSL_CMP_CTX *kur_client(struct fx *f, X509 *cert, EVP_PKEY *key)
{
    OSSL_CMP_CTX *ctx = client(f);

    OSSL_CMP_CTX_set1_cert(ctx, cert);
    OSSL_CMP_CTX_set1_pkey(ctx, key);
    return ctx;
}

static void status_has(OSSL_CMP_CTX *ctx, const char *part)
{
    char buf[1024];

    assert_non_null(OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof(buf)));
    if (strstr(buf, part) == NULL)
        fail_msg("status '%s' does not contain '%s'", buf, part);
}

static void test_cmp_kur(void **state)
{
    struct fx *f = *state;
    OSSL_CMP_CTX *ctx = kur_client(f, f->a, f->ka);
    X509 *newc = OSSL_CMP_exec_KUR_ses(ctx);

    assert_non_null(newc);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(newc),
                                   X509_get_subject_name(f->a)), 0);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(newc), f->knew), 1);
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static void test_cmp_kur_other_oldcert(void **state)
{
    struct fx *f = *state;
    OSSL_CMP_CTX *ctx = kur_client(f, f->a, f->ka);

    OSSL_CMP_CTX_set1_oldCert(ctx, f->b);
    assert_null(OSSL_CMP_exec_KUR_ses(ctx));
    status_has(ctx, "oldCertID names a different certificate");
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static void test_cmp_kur_revoked(void **state)
{
    struct fx *f = *state;
    char *hex = ca_serial_hex(X509_get0_serialNumber(f->b));
    OSSL_CMP_CTX *ctx = kur_client(f, f->b, f->kb);

    assert_int_equal(ca_db_revoke(f->dir, hex, time(NULL)), 0);
    assert_null(OSSL_CMP_exec_KUR_ses(ctx));
    status_has(ctx, "revoked");
    OPENSSL_free(hex);
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static void test_cmp_kur_same_key(void **state)
{
    struct fx *f = *state;
    OSSL_CMP_CTX *ctx = kur_client(f, f->a, f->ka);

    EVP_PKEY_up_ref(f->ka);
    OSSL_CMP_CTX_set0_newPkey(ctx, 1, f->ka);
    assert_null(OSSL_CMP_exec_KUR_ses(ctx));
    status_has(ctx, "carries the old key");
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static void test_cmp_refuse_mode(void **state)
{
    struct fx *f = *state;
    OSSL_CMP_CTX *ctx = kur_client(f, f->a, f->ka);

    f->mode = CA_MODE_REFUSE;
    assert_null(OSSL_CMP_exec_KUR_ses(ctx));
    status_has(ctx, "refuse every request");
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static OSSL_CMP_CTX *ir_client(struct fx *f, const char *ref, const char *sec)
{
    OSSL_CMP_CTX *ctx = client(f);
    X509_NAME *n = ca_parse_name("/C=GB/O=NHS/CN=New Holder");

    OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)ref, strlen(ref));
    OSSL_CMP_CTX_set1_secretValue(ctx, (const unsigned char *)sec, strlen(sec));
    OSSL_CMP_CTX_set1_subjectName(ctx, n);
    X509_NAME_free(n);
    return ctx;
}

static void test_cmp_ir_secret_once(void **state)
{
    struct fx *f = *state;
    char ref[CA_REF_MAX], sec[CA_SECRET_MAX];
    OSSL_CMP_CTX *ctx;

    assert_int_equal(ca_secret_new(f->dir, ref, sizeof(ref), sec, sizeof(sec)), 0);
    ctx = ir_client(f, ref, sec);
    assert_non_null(OSSL_CMP_exec_IR_ses(ctx));
    OSSL_CMP_CTX_free(ctx);
    ctx = ir_client(f, ref, sec);
    assert_null(OSSL_CMP_exec_IR_ses(ctx));
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static void test_cmp_ir_needs_mac(void **state)
{
    struct fx *f = *state;
    OSSL_CMP_CTX *ctx = kur_client(f, f->a, f->ka);
    X509_NAME *n = ca_parse_name("/CN=Signed IR");

    /* An ir signed by a valid certificate is still not an RA's secret. */
    OSSL_CMP_CTX_set1_subjectName(ctx, n);
    X509_NAME_free(n);
    assert_null(OSSL_CMP_exec_IR_ses(ctx));
    status_has(ctx, "MAC protection");
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static OSSL_CMP_MSG *captured;

static OSSL_CMP_MSG *capture(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    (void)ctx;
    captured = OSSL_CMP_MSG_dup(req);
    return NULL;
}

static void test_msg_info(void **state)
{
    struct fx *f = *state;
    OSSL_CMP_CTX *ctx = kur_client(f, f->a, f->ka);
    unsigned char *der = NULL;
    struct ca_msg_info info;
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(f->a);
    int n, i;

    OSSL_CMP_CTX_set_transfer_cb(ctx, capture);
    assert_null(OSSL_CMP_exec_KUR_ses(ctx));
    assert_non_null(captured);
    n = i2d_OSSL_CMP_MSG(captured, &der);
    assert_true(n > 0);
    assert_int_equal(ca_msg_info(der, (size_t)n, &info), 0);
    assert_int_equal(info.prot_nid, NID_ecdsa_with_SHA256);
    assert_int_equal(info.kid_len, (size_t)ASN1_STRING_length(skid));
    assert_memory_equal(info.kid, ASN1_STRING_get0_data(skid), info.kid_len);
    assert_non_null(info.extra);
    assert_int_equal(X509_cmp(sk_X509_value(info.extra, 0), f->a), 0);
    {
        X509 *signer = ca_find_signer(&info, captured);

        assert_non_null(signer);
        assert_int_equal(X509_cmp(signer, f->a), 0);
        X509_free(signer);
    }
    ca_msg_info_free(&info);
    /* every truncation is refused, never read past the end */
    for (i = 0; i < n; i += 7)
        assert_int_equal(ca_msg_info(der, (size_t)i, &info), -1);
    assert_int_equal(ca_msg_info((const uint8_t *)"\x30\x84\xff\xff\xff\xff", 6, &info), -1);
    OPENSSL_free(der);
    OSSL_CMP_MSG_free(captured);
    captured = NULL;
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
}

static void test_template_pubkey(void **state)
{
    struct fx *f = *state;
    OSSL_CRMF_CERTTEMPLATE *t = OSSL_CRMF_CERTTEMPLATE_new();
    OSSL_CRMF_CERTTEMPLATE *empty = OSSL_CRMF_CERTTEMPLATE_new();
    EVP_PKEY *got;

    assert_int_equal(OSSL_CRMF_CERTTEMPLATE_fill(t, f->knew,
                     X509_get_subject_name(f->a), NULL, NULL), 1);
    got = ca_template_pubkey(t);
    assert_non_null(got);
    assert_int_equal(EVP_PKEY_eq(got, f->knew), 1);
    assert_null(ca_template_pubkey(empty));
    EVP_PKEY_free(got);
    OSSL_CRMF_CERTTEMPLATE_free(t);
    OSSL_CRMF_CERTTEMPLATE_free(empty);
}

static void test_handle_garbage(void **state)
{
    struct fx *f = *state;
    uint8_t *out;
    size_t outlen;

    assert_int_equal(ca_srv_handle(f->srv, (const uint8_t *)"hello", 5,
                                   CA_MODE_NORMAL, &out, &outlen), -1);
    assert_int_equal(ca_srv_handle(f->srv, (const uint8_t *)"\x30\x00", 2,
                                   CA_MODE_NORMAL, &out, &outlen), -1);
    assert_null(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_kur_check), T(test_rr_check), T(test_cmp_kur),
        T(test_cmp_kur_other_oldcert), T(test_cmp_kur_revoked),
        T(test_cmp_kur_same_key), T(test_cmp_refuse_mode), T(test_cmp_ir_secret_once),
        T(test_cmp_ir_needs_mac), T(test_msg_info), T(test_template_pubkey),
        T(test_handle_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
