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
/* The public key of a token key pair as an EVP_PKEY (from the public
 * key object, else the private key's public attributes). */
EVP_PKEY *renew_p11_pubkey(struct renew_p11 *p, const struct renew_cred *c);

#endif
