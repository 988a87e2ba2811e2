/* ra_util.c: steps, test kill points, DNs and the card listing the RA's
 * commands show before they act. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include "renew/plat.h"
#include "renew/ra_util.h"
#include "renew/util.h"

void renew_ra_step(const struct renew_ra_hooks *rh, const char *what)
{
    if (rh && rh->h && rh->h->step)
        rh->h->step(rh->h->arg, what);
}

void renew_ra_boundary(const char *name)
{
    const char *k = getenv("CARDRENEW_TEST_KILL_AT");
    if (k && strcmp(k, name) == 0)
        renew_plat_kill_self();
}

X509_NAME *renew_ra_parse_dn(const char *s)
{
    char buf[1024];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf || s[0] != '/')
        return NULL;
    X509_NAME *name = X509_NAME_new();
    const char *p = s + 1;
    while (name && *p) {
        size_t k = 0;
        while (*p && *p != '/' && k < sizeof buf - 1) {
            if (*p == '\\' && p[1])
                p++;
            buf[k++] = *p++;
        }
        buf[k] = '\0';
        if (*p == '/')
            p++;
        char *eq = strchr(buf, '=');
        if (eq)
            *eq = '\0';
        if (!eq || eq == buf || !eq[1] ||
            !X509_NAME_add_entry_by_txt(name, buf, MBSTRING_UTF8, (unsigned char *)eq + 1,
                                        -1, -1, 0)) {
            X509_NAME_free(name);
            return NULL;
        }
    }
    if (name && X509_NAME_entry_count(name) == 0) {
        X509_NAME_free(name);
        name = NULL;
    }
    return name;
}

void renew_ra_serial_hex(X509 *x, char *out, size_t outlen)
{
    BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out, outlen, "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
}

static void day(time_t t, char *out, size_t n)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%d-%b-%Y", &tm))
        snprintf(out, n, "?");
}

void renew_ra_describe(struct renew_p11 *p, const struct renew_cred *c, size_t n,
                       const struct renew_cred *keep, char *out, size_t outlen)
{
    size_t k = (size_t)snprintf(out, outlen, "Smartcard %s (%s) holds%s\n", p->serial, p->model,
                                n ? ":" : " no key and no certificate.");
    for (size_t i = 0; i < n && k < outlen; i++) {
        char cn[128] = "", d[16] = "", ser[80] = "";
        const char *what = c[i].has_priv && c[i].has_cert ? "key and certificate"
                         : c[i].has_priv ? "key without certificate"
                         : c[i].has_cert ? "certificate without key"
                                         : "public key alone";
        if (c[i].x509) {
            renew_subject_cn(c[i].x509, cn, sizeof cn);
            day(renew_asn1_time(X509_get0_notAfter(c[i].x509)), d, sizeof d);
            renew_ra_serial_hex(c[i].x509, ser, sizeof ser);
        }
        k += (size_t)snprintf(out + k, outlen - k, "  %s%s%s%s%s%s%s (label \"%s\")%s\n", what,
                              cn[0] ? " of " : "", cn, ser[0] ? ", serial " : "", ser,
                              d[0] ? ", expires " : "", d, c[i].label,
                              &c[i] == keep ? ": the new one, kept" : "");
    }
}
