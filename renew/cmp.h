/* cmp.h: CMP key update (kur) through OpenSSL (internal to renew/). */
#ifndef CARDRENEW_RENEW_CMP_H
#define CARDRENEW_RENEW_CMP_H

#include <openssl/cmp.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "renew/judge.h"
#include "renew/renew.h"

/* The CA's http URL in parts (OpenSSL strings). */
struct renew_cmp_url {
    char *host, *port, *path;
    int ssl;
};
int renew_cmp_url_parse(const struct renew_ca *ca, struct renew_cmp_url *u, struct renew_err *e);
void renew_cmp_url_free(struct renew_cmp_url *u);

/* A CMP context for ca: server, trusted CA certificate(s), timeouts,
 * OpenSSL's CMP log to h's debug hook; NULL with e set. Free it with
 * renew_cmp_ctx_free. */
OSSL_CMP_CTX *renew_cmp_ctx_new(const struct renew_ca *ca, int digest_nid,
                                const struct renew_hooks *h, struct renew_err *e);
void renew_cmp_ctx_free(OSSL_CMP_CTX *ctx);

/* The issued certificate is judged (judge.h) in certConf; if it passes and
 * keep is set, keep (to journal it) must succeed before it is confirmed.
 * why says what was refused. */
struct renew_cmp_verdict {
    struct renew_judge_in in;
    char why[256];
    int (*keep)(void *arg, X509 *cert);
    void *keep_arg;
};
/* renew_cmp_ctx_new for a request that certifies newkey (an ir or kur),
 * its certificate judged by v. */
OSSL_CMP_CTX *renew_cmp_ctx_for_key(const struct renew_ca *ca, int digest_nid, EVP_PKEY *newkey,
                                    struct renew_cmp_verdict *v, const struct renew_hooks *h,
                                    struct renew_err *e);

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

/* An initial request (ir) for newkey under subject, MAC-protected with
 * the RA's one-time secret (senderKID = ref). The certificate is judged
 * as a first issue (judge.h), then handed to keep (to journal it) before
 * certConf tells the CA it was accepted: the one-time secret is spent
 * then, so a cut after it must find the certificate saved. An unfit one
 * (or one keep fails on) is refused in certConf and returned in *refused
 * (RENEW_E_CA). */
int renew_cmp_ir(const struct renew_ca *ca, const char *ref, const unsigned char *secret,
                 size_t secret_len, const X509_NAME *subject, EVP_PKEY *newkey,
                 EVP_PKEY *newpub, int digest_nid, int (*keep)(void *arg, X509 *cert),
                 void *keep_arg, const struct renew_hooks *h, X509 **issued, X509 **refused,
                 struct renew_err *e);

/* A revocation request for cert, signed by cert and its key; reason is an
 * RFC 5280 CRLReason code. */
int renew_cmp_rr(const struct renew_ca *ca, X509 *cert, EVP_PKEY *key, int digest_nid,
                 int reason, const struct renew_hooks *h, struct renew_err *e);

#endif
