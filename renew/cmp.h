/* cmp.h: CMP key update (kur) through OpenSSL (internal to renew/). */
#ifndef CARDRENEW_RENEW_CMP_H
#define CARDRENEW_RENEW_CMP_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include "renew/renew.h"

/* Is the CA's host:port accepting connections? */
int renew_cmp_reachable(const struct renew_ca *ca, struct renew_err *e);

/* Asks the CA for a new certificate for newkey (whose public half is
 * newpub), protected by the old certificate and its key. digest_nid:
 * NID_sha256, or NID_sha1 for a SHA-1-only card. On success *issued is
 * the new certificate, judged fit to replace oldcert (judge.h); a
 * certificate the CA issued but that is unfit is refused in certConf and
 * returned in *refused (RENEW_E_CA, e says why). */
int renew_cmp_kur(const struct renew_ca *ca, X509 *oldcert, EVP_PKEY *oldkey,
                  EVP_PKEY *newkey, EVP_PKEY *newpub, int digest_nid,
                  const struct renew_hooks *h, X509 **issued, X509 **refused,
                  struct renew_err *e);

#endif
