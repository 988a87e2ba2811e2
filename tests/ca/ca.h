/* ca.h: the CMP test CA (cmp-test-ca), a small CA directory and a CMP
 * server over HTTP built on OpenSSL's OSSL_CMP_SRV_CTX.
 *
 * CADIR layout: ca.key, ca.pem (the self-signed root), index.txt (one
 * issued certificate a line), certs/SERIAL.pem, secrets/REF (one-time
 * MAC secrets), crlnumber, lock (flock: serialises every update, across
 * threads and processes). Every file is replaced atomically.
 */
#ifndef CARDRENEW_CA_H
#define CARDRENEW_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* PKIBody choices (RFC 4210 5.1.2); OpenSSL 3.0 keeps its names private. */
enum { CA_BODY_IR = 0, CA_BODY_IP = 1, CA_BODY_CR = 2, CA_BODY_CP = 3,
       CA_BODY_P10CR = 4, CA_BODY_KUR = 7, CA_BODY_KUP = 8, CA_BODY_RR = 11,
       CA_BODY_RP = 12, CA_BODY_PKICONF = 19, CA_BODY_GENM = 21,
       CA_BODY_GENP = 22, CA_BODY_ERROR = 23, CA_BODY_CERTCONF = 24 };

#define CA_DEFAULT_DAYS 730
#define CA_DAY 86400L

struct ca {
    char *dir;
    EVP_PKEY *key;
    X509 *cert;
};

/* ca_util.c */
int ca_write_atomic(const char *path, const void *data, size_t len, int mode);
int ca_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);
int ca_lock(const char *dir);            /* fd, or -1 */
void ca_unlock(int fd);
int ca_mkdir(const char *path);
X509_NAME *ca_parse_name(const char *dn); /* "/C=GB/O=NHS/CN=x" */
char *ca_serial_hex(const ASN1_INTEGER *serial);   /* OPENSSL_free */
int ca_serial_norm(const char *in, char *out, size_t outlen);
int ca_pem_cert(X509 *cert, char **pem, size_t *len);

/* ca_store.c: open a CA directory, initialising an empty one. */
int ca_open(struct ca *ca, const char *dir, const char *subject);
void ca_close(struct ca *ca);

/* ca_db.c: the issued-certificate index. */
struct ca_rec {
    char serial[80];       /* upper-case hex, no leading zeros */
    char status;           /* 'V' valid, 'R' revoked */
    long long not_after;   /* unix time */
    long long revoked_at;  /* unix time, 0 when valid */
    char subject[512];
};
int ca_db_load(const char *dir, struct ca_rec **recs, size_t *n);
int ca_db_save(const char *dir, const struct ca_rec *recs, size_t n);
long ca_db_find(const struct ca_rec *recs, size_t n, const char *serial);
/* Under the lock: 0 found, 1 not found, -1 error. */
int ca_db_lookup(const char *dir, const char *serial, struct ca_rec *out);
/* 0 revoked, 1 not found, 2 already revoked, -1 error. */
int ca_db_revoke(const char *dir, const char *serial, time_t when);
X509 *ca_db_cert(const char *dir, const char *serial);

/* ca_cert.c: issuing. */
void ca_validity(const struct ca *ca, int days, int have_expires_in,
                 long expires_in, time_t now, time_t *nb, time_t *na);
/* Signs a certificate for pub with a fresh unique serial and records it.
 * flags: CA_ISSUE_AS_CA makes it a CA certificate (a misbehaving CA).
 * err gets a one-line reason on failure. */
#define CA_ISSUE_AS_CA 1u
X509 *ca_issue(const struct ca *ca, EVP_PKEY *pub, const X509_NAME *subject,
               time_t nb, time_t na, unsigned flags, char *err, size_t errlen);

/* ca_crl.c */
int ca_crl_write(const struct ca *ca, const char *out);

/* ca_secret.c: one-time MAC secrets for ir/cr (and rr). */
#define CA_REF_MAX 64
#define CA_SECRET_MAX 128
int ca_secret_new(const char *dir, char *ref, size_t reflen,
                  char *secret, size_t secretlen);
/* A reference is locked after this many requests with a wrong MAC. */
#define CA_SECRET_TRIES 5
/* 0 and the secret, 1 unknown or used, 2 locked, -1 error. */
int ca_secret_get(const char *dir, const char *ref, char *secret, size_t len);
/* Counts a request whose MAC did not verify with ref's secret (kept in
 * secrets/REF.fails); returns the tries used, -1 on error. */
int ca_secret_fail(const char *dir, const char *ref);
int ca_secret_consume(const char *dir, const char *ref); /* 0 ok, 1 gone */
int ca_ref_valid(const char *ref);

/* ca_der.c: fields OpenSSL 3.0 has no public getter for. */
EVP_PKEY *ca_template_pubkey(const OSSL_CRMF_CERTTEMPLATE *tmpl);
struct ca_msg_info {
    int prot_nid;                   /* NID_undef when unprotected */
    uint8_t kid[CA_REF_MAX];
    size_t kid_len;                 /* senderKID */
    STACK_OF(X509) *extra;          /* extraCerts, may be NULL */
};
int ca_msg_info(const uint8_t *der, size_t len, struct ca_msg_info *info);
void ca_msg_info_free(struct ca_msg_info *info);

/* ca_rules.c: who may ask for what. NULL = allowed, else the reason. */
X509 *ca_find_signer(const struct ca_msg_info *info, const OSSL_CMP_MSG *req);
const char *ca_kur_check(const struct ca *ca, X509 *signer,
                         const OSSL_CRMF_CERTID *old, time_t now);
const char *ca_rr_check(const struct ca *ca, X509 *signer, int mac_ok,
                        const X509_NAME *issuer, const ASN1_INTEGER *serial);

/* ca_srv.c: the CMP server, transactions kept by transactionID. */
/* The misbehaving modes from WRONGKEY on issue a certificate that a
 * careful client must refuse: for another key, already expired, not yet
 * valid, signed by a key that is not the CA's (under the CA's name), for
 * another subject, a CA certificate, or one ending in a day. */
enum ca_mode { CA_MODE_NORMAL, CA_MODE_REFUSE, CA_MODE_DELAY, CA_MODE_DROP,
               CA_MODE_GARBAGE, CA_MODE_WRONGKEY, CA_MODE_EXPIRED, CA_MODE_NOTYET,
               CA_MODE_FOREIGN, CA_MODE_OTHERSUBJECT, CA_MODE_ISCA, CA_MODE_SHORT };
struct ca_mis {
    enum ca_mode mode;
    long delay_ms;
};
int ca_mis_parse(const char *s, struct ca_mis *m);
struct ca_srv;
struct ca_srv *ca_srv_new(const struct ca *ca, int days);
void ca_srv_free(struct ca_srv *srv);
/* 0 and a DER response, or -1 when the body is not a CMP message. */
int ca_srv_handle(struct ca_srv *srv, const uint8_t *der, size_t len,
                  enum ca_mode mode, uint8_t **out, size_t *outlen);

/* ca_http.c: RFC 6712 request parsing. */
#define CA_HTTP_HDR_MAX 8192
#define CA_HTTP_BODY_MAX 65536
struct ca_http_req {
    char method[16];
    char path[256];
    size_t hdr_len;      /* bytes up to and including the blank line */
    size_t body_len;
    int expect_continue; /* "Expect: 100-continue" (curl sends it) */
};
/* 0 need more bytes; 1 complete header (body_len set); else -HTTP status. */
int ca_http_parse(const char *buf, size_t len, struct ca_http_req *r);
const char *ca_http_reason(int status);

/* ca_serve.c */
struct ca_serve_opts {
    const char *host;
    int port;
    const char *port_file;
    const char *control;
    struct ca_mis mis;
    int days;
};
int ca_serve(const struct ca *ca, const struct ca_serve_opts *o);

#endif
