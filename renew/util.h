/* util.h: small certificate and key helpers shared inside renew/. */
#ifndef CARDRENEW_RENEW_UTIL_H
#define CARDRENEW_RENEW_UTIL_H

#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "renew/p11.h"

time_t renew_asn1_time(const ASN1_TIME *t);
void renew_subject_cn(X509 *x, char *out, size_t outlen);
/* Signs a fixed message with key (digest md_nid) and verifies it with
 * pub: 0 ok, -1 the token would not sign, -2 the signature is wrong. */
int renew_sign_check(EVP_PKEY *key, EVP_PKEY *pub, int md_nid);
/* A credential's key (key: renew_cardkey_new of its private key) signs
 * and its certificate verifies, with SHA-256 or, on a card that only
 * signs SHA-1, SHA-1 (*md_nid says which). 0, -1 the token would not
 * sign (*rv says why), -2 key and certificate do not match. */
int renew_cred_check(struct renew_p11 *p, const struct renew_cred *c, EVP_PKEY *key,
                     int *md_nid, CK_RV *rv);
/* The public key of a token key pair as an EVP_PKEY (from the public
 * key object, else the private key's public attributes). */
EVP_PKEY *renew_p11_pubkey(struct renew_p11 *p, const struct renew_cred *c);

/* Fills a renew_result's certificates (either X509 may be NULL) and serial. */
void renew_result_certs(struct renew_result *res, const char *serial, X509 *old, X509 *nw);

#endif
