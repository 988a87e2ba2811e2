/* judge.h: is an issued certificate fit to replace the current one?
 * (internal to renew/) */
#ifndef CARDRENEW_RENEW_JUDGE_H
#define CARDRENEW_RENEW_JUDGE_H

#include <time.h>
#include <openssl/x509.h>
#include "renew/renew.h"

struct renew_judge_in {
    X509 *old;                  /* the certificate being renewed, or NULL
                                 * for a first issue (then subject) */
    EVP_PKEY *newpub;           /* the key made on the card for it */
    X509_STORE *trust;          /* the configured CA certificate(s) */
    STACK_OF(X509) *untrusted;  /* intermediates the CA sent, or NULL */
    time_t now;
    const X509_NAME *subject;   /* a first issue's requested subject */
};

/* 0 when c chains to trust at now (client-authentication purpose), is
 * valid now, ends no earlier than old, is not a CA, allows signatures, names
 * old's subject and certifies newpub; else -1 and why in plain words.
 * A first issue (old NULL) is judged the same, less the end date, against
 * the requested subject. */
int renew_judge(const struct renew_judge_in *in, X509 *c, char *why, size_t n);

/* The CA certificate(s) in a PEM file; NULL with e set on failure. */
X509_STORE *renew_trust_load(const char *file, struct renew_err *e);

#endif
