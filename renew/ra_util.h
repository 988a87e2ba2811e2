/* ra_util.h: what the RA's commands share (internal to renew/). */
#ifndef CARDRENEW_RENEW_RA_UTIL_H
#define CARDRENEW_RENEW_RA_UTIL_H

#include <openssl/x509.h>
#include "renew/p11.h"
#include "renew/ra.h"

void renew_ra_step(const struct renew_ra_hooks *rh, const char *what);
/* CARDRENEW_TEST_KILL_AT=<name> kills the process right after that step
 * (the renewal's names: keygen-unsaved, keygen, cmp, journal, write,
 * verify, retire), to prove a rerun finishes. */
void renew_ra_boundary(const char *name);
/* "/C=GB/O=NHS/CN=Jane Doe" (a backslash escapes the next character);
 * NULL when it is not a DN. */
X509_NAME *renew_ra_parse_dn(const char *s);
/* The card's keys and certificates, one a line, into out. keep (or NULL)
 * is marked as the one that stays. */
void renew_ra_describe(struct renew_p11 *p, const struct renew_cred *c, size_t n,
                       const struct renew_cred *keep, char *out, size_t outlen);
void renew_ra_serial_hex(X509 *x, char *out, size_t outlen);
/* 0 when cert has no cancellation record for this token; else
 * RENEW_E_CA with e naming the date and the reason. */
int renew_cancelled_refusal(const char *token_serial, X509 *cert, struct renew_err *e);

#endif
