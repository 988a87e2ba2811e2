/* judge.c: an issued certificate judged as a relying party would judge
 * it, before anything on the card changes. A CA that is broken or hostile
 * can protect its CMP message perfectly and still send a certificate that
 * must never replace a working one. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "renew/judge.h"
#include "renew/util.h"

/* A CA's clock a little ahead of ours is no reason to refuse. */
#define CLOCK_SKEW 300

static void day(time_t t, char *out, size_t n)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%d-%b-%Y", &tm))
        snprintf(out, n, "?");
}

static int no(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int no(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int chains(X509 *c, X509_STORE *trust, STACK_OF(X509) *untrusted, time_t at,
                  char *why, size_t n)
{
    X509_STORE_CTX *v = X509_STORE_CTX_new();
    int ok = v && X509_STORE_CTX_init(v, trust, c, untrusted);
    if (ok) {
        X509_STORE_CTX_set_purpose(v, X509_PURPOSE_SSL_CLIENT);
        X509_STORE_CTX_set_time(v, 0, at);
        ok = X509_verify_cert(v) == 1;
        if (!ok)
            no(why, n, "it does not verify against the configured CA certificate (%s)",
               X509_verify_cert_error_string(X509_STORE_CTX_get_error(v)));
    } else {
        no(why, n, "it cannot be verified (out of memory)");
    }
    X509_STORE_CTX_free(v);
    ERR_clear_error();
    return ok ? 0 : -1;
}

int renew_judge(const struct renew_judge_in *in, X509 *c, char *why, size_t n)
{
    char d1[16], d2[16];
    time_t nb = renew_asn1_time(X509_get0_notBefore(c));
    time_t na = renew_asn1_time(X509_get0_notAfter(c));
    time_t old_na = in->old ? renew_asn1_time(X509_get0_notAfter(in->old)) : 0;
    const X509_NAME *want = in->old ? X509_get_subject_name(in->old) : in->subject;
    bool has_ku = (X509_get_extension_flags(c) & EXFLAG_KUSAGE) != 0;
    uint32_t ku = has_ku ? X509_get_key_usage(c) : 0;

    if (!in->newpub || EVP_PKEY_eq(X509_get0_pubkey(c), in->newpub) != 1)
        return no(why, n, "it certifies another key than the one made on your card");
    if (!want || X509_NAME_cmp(X509_get_subject_name(c), want) != 0) {
        char s[128];
        X509_NAME_oneline(X509_get_subject_name(c), s, sizeof s);
        return no(why, n, "it names another holder (%s)", s);
    }
    if ((X509_get_extension_flags(c) & EXFLAG_CA) || (ku & KU_KEY_CERT_SIGN))
        return no(why, n, "it is a certificate authority's certificate, not a holder's");
    if (has_ku && !(ku & KU_DIGITAL_SIGNATURE))
        return no(why, n, "its key usage does not allow signatures");
    day(nb, d1, sizeof d1);
    day(na, d2, sizeof d2);
    if (difftime(na, in->now) <= 0)
        return no(why, n, "it has already expired (on %s)", d2);
    if (difftime(nb, in->now) > CLOCK_SKEW)
        return no(why, n, "it is not valid until %s", d1);
    if (in->old && difftime(na, old_na) < 0) {
        day(old_na, d1, sizeof d1);
        return no(why, n, "it ends on %s, before your current certificate (%s)", d2, d1);
    }
    /* At the later of now and its start, so a small skew passes here too. */
    return chains(c, in->trust, in->untrusted, nb > in->now ? nb : in->now, why, n);
}

X509_STORE *renew_trust_load(const char *file, struct renew_err *e)
{
    X509_STORE *st = NULL;
    STACK_OF(X509_INFO) *infos = NULL;
    BIO *b = file ? BIO_new_file(file, "r") : NULL;
    int n = 0;
    if (!file || !*file) {
        renew_fail(e, RENEW_E_USAGE,
                   "no CA certificate configured: set ca_cert in the configuration or give --ca-cert FILE");
        return NULL;
    }
    if (b)
        infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
    BIO_free(b);
    st = X509_STORE_new();
    for (int i = 0; st && infos && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);
        if (xi->x509 && X509_STORE_add_cert(st, xi->x509))
            n++;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    ERR_clear_error();
    if (n == 0) {
        X509_STORE_free(st);
        renew_fail(e, RENEW_E_USAGE, "cannot read a CA certificate from %s: check --ca-cert", file);
        return NULL;
    }
    return st;
}
