/* ca_srv.c: the CMP side of the test CA on OpenSSL's OSSL_CMP_SRV_CTX.
 * An OSSL_CMP_SRV_CTX follows one transaction at a time, so each
 * transactionID gets its own; one mutex serialises CMP processing (it is
 * fast; HTTP I/O and delays happen outside it). */
#include "tests/ca/ca.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/cmperr.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#define SESS_MAX 64

struct sess {
    OSSL_CMP_SRV_CTX *srv;
    struct ca_srv *owner;
    uint8_t tid[64];
    size_t tid_len;
    time_t last;
    char ref[CA_REF_MAX];          /* the one-time secret this one MACs with */
    X509 *issued;
    const struct ca_msg_info *info; /* of the request being processed */
    enum ca_mode mode;
};

struct ca_srv {
    const struct ca *ca;
    int days;
    pthread_mutex_t mu;
    struct sess *s[SESS_MAX];
};

static const struct { const char *name; enum ca_mode mode; } mode_names[] = {
    { "none", CA_MODE_NORMAL }, { "refuse", CA_MODE_REFUSE }, { "drop", CA_MODE_DROP },
    { "garbage", CA_MODE_GARBAGE }, { "wrongkey", CA_MODE_WRONGKEY },
    { "expired", CA_MODE_EXPIRED }, { "notyet", CA_MODE_NOTYET },
    { "foreign", CA_MODE_FOREIGN }, { "othersubject", CA_MODE_OTHERSUBJECT },
    { "isca", CA_MODE_ISCA }, { "short", CA_MODE_SHORT },
};

int ca_mis_parse(const char *s, struct ca_mis *m)
{
    char *end;
    size_t i;

    memset(m, 0, sizeof(*m));
    if (s == NULL || *s == 0)
        return 0;
    for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (strcmp(s, mode_names[i].name) == 0) {
            m->mode = mode_names[i].mode;
            return 0;
        }
    if (strncmp(s, "delay:", 6) != 0)
        return -1;
    m->mode = CA_MODE_DELAY;
    m->delay_ms = strtol(s + 6, &end, 10);
    if (end == s + 6 || *end != 0 || m->delay_ms < 0 || m->delay_ms > 3600000)
        return -1;
    return 0;
}

/* A misbehaving CA's certificate: what each mode gets wrong. Returns the
 * key to sign with (the CA's, or a stranger's for "foreign"). */
static EVP_PKEY *misissue(enum ca_mode mode, EVP_PKEY **pub, const X509_NAME **subj,
                          X509_NAME **other, time_t now, time_t *nb, time_t *na,
                          unsigned *flags, EVP_PKEY *ca_key)
{
    int rsa = EVP_PKEY_get_base_id(*pub) == EVP_PKEY_RSA;

    switch (mode) {
    case CA_MODE_WRONGKEY:      /* a key of the same type: only the key is wrong */
        {
            size_t bits = (size_t)EVP_PKEY_get_bits(*pub);

            EVP_PKEY_free(*pub);
            *pub = rsa ? EVP_RSA_gen(bits) : EVP_EC_gen("P-256");
        }
        break;
    case CA_MODE_EXPIRED:
        *na = now - CA_DAY;
        *nb = *na - (time_t)CA_DEFAULT_DAYS * CA_DAY;
        break;
    case CA_MODE_NOTYET:
        *nb = now + 365 * CA_DAY;
        *na = *nb + (time_t)CA_DEFAULT_DAYS * CA_DAY;
        break;
    case CA_MODE_SHORT:
        *na = now + CA_DAY;
        break;
    case CA_MODE_OTHERSUBJECT:
        *other = ca_parse_name("/C=GB/O=NHS/CN=Mallory Other");
        *subj = *other;
        break;
    case CA_MODE_ISCA:
        *flags |= CA_ISSUE_AS_CA;
        break;
    case CA_MODE_FOREIGN:
        return EVP_EC_gen("P-256");
    default:
        break;
    }
    EVP_PKEY_up_ref(ca_key);
    return ca_key;
}

static OSSL_CMP_PKISI *reject(int failbit, const char *why)
{
    fprintf(stderr, "cmp-test-ca: refused: %s\n", why);
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << failbit, why);
}

static OSSL_CMP_PKISI *cert_req(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *req,
                                int certReqId, const OSSL_CRMF_MSG *crm,
                                const X509_REQ *p10cr, X509 **certOut,
                                STACK_OF(X509) **chainOut, STACK_OF(X509) **caPubs)
{
    struct sess *s = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    const struct ca *ca = s->owner->ca;
    int type = OSSL_CMP_MSG_get_bodytype(req);
    const X509_NAME *subj;
    OSSL_CRMF_CERTTEMPLATE *tmpl;
    const char *why;
    X509 *signer = NULL, *cert;
    EVP_PKEY *pub;
    char err[256], *hex;
    time_t nb, na;
    int rc;

    (void)certReqId;
    (void)p10cr;
    (void)chainOut;
    (void)caPubs;
    if (s->mode == CA_MODE_REFUSE)
        return reject(OSSL_CMP_PKIFAILUREINFO_systemUnavail,
                      "this CA is set to refuse every request");
    if (crm == NULL)
        return reject(OSSL_CMP_PKIFAILUREINFO_badRequest,
                      "p10cr is not supported here; use ir, cr or kur");
    tmpl = OSSL_CRMF_MSG_get0_tmpl(crm);
    if (type == CA_BODY_KUR) {
        signer = ca_find_signer(s->info, req);
        why = ca_kur_check(ca, signer, OSSL_CRMF_MSG_get0_regCtrl_oldCertID(crm),
                           time(NULL));
        if (why != NULL) {
            X509_free(signer);
            /* A revoked (cancelled) certificate says so in failInfo. */
            return reject(strstr(why, "revoked") != NULL ? OSSL_CMP_PKIFAILUREINFO_certRevoked
                          : OSSL_CMP_PKIFAILUREINFO_notAuthorized, why);
        }
        subj = X509_get_subject_name(signer);
    } else {
        if (s->info->prot_nid != NID_id_PasswordBasedMAC || s->ref[0] == 0)
            return reject(OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                          "ir and cr need MAC protection with a one-time secret "
                          "from the RA (senderKID = its reference)");
        subj = tmpl != NULL ? OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl) : NULL;
        if (subj == NULL || X509_NAME_entry_count(subj) == 0)
            return reject(OSSL_CMP_PKIFAILUREINFO_badCertTemplate,
                          "the request has no subject");
        rc = ca_secret_consume(ca->dir, s->ref);
        if (rc != 0)
            return reject(OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                          rc > 0 ? "the one-time secret has already been used"
                                 : "cannot read the secret store");
    }
    pub = tmpl != NULL ? ca_template_pubkey(tmpl) : NULL;
    if (pub == NULL) {
        X509_free(signer);
        return reject(OSSL_CMP_PKIFAILUREINFO_badCertTemplate,
                      "the request carries no public key");
    }
    /* As EJBCA by default ("allow update with same key" off). */
    if (type == CA_BODY_KUR && EVP_PKEY_eq(pub, X509_get0_pubkey(signer)) == 1) {
        EVP_PKEY_free(pub);
        X509_free(signer);
        return reject(OSSL_CMP_PKIFAILUREINFO_badCertTemplate,
                      "the key update carries the old key; a new key is required");
    }
    ca_validity(ca, s->owner->days, 0, 0, time(NULL), &nb, &na);
    {
        struct ca signed_by = *ca;
        X509_NAME *other = NULL;
        unsigned flags = 0;

        signed_by.key = misissue(s->mode, &pub, &subj, &other, time(NULL), &nb, &na,
                                 &flags, ca->key);
        cert = pub != NULL && signed_by.key != NULL
            ? ca_issue(&signed_by, pub, subj, nb, na, flags, err, sizeof(err)) : NULL;
        EVP_PKEY_free(signed_by.key);
        X509_NAME_free(other);
    }
    EVP_PKEY_free(pub);
    X509_free(signer);
    if (cert == NULL)
        return reject(OSSL_CMP_PKIFAILUREINFO_systemFailure, err);
    hex = ca_serial_hex(X509_get0_serialNumber(cert));
    fprintf(stderr, "cmp-test-ca: %s: issued serial %s\n",
            type == CA_BODY_KUR ? "kur" : type == CA_BODY_IR
            ? "ir" : "cr", hex != NULL ? hex : "?");
    OPENSSL_free(hex);
    X509_free(s->issued);
    X509_up_ref(cert);
    s->issued = cert;
    *certOut = cert;
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

static OSSL_CMP_PKISI *rr(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *req,
                          const X509_NAME *issuer, const ASN1_INTEGER *serial)
{
    struct sess *s = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    const struct ca *ca = s->owner->ca;
    int mac_ok = s->info->prot_nid == NID_id_PasswordBasedMAC && s->ref[0];
    X509 *signer = mac_ok ? NULL : ca_find_signer(s->info, req);
    const char *why;
    char *hex;
    int rc;

    if (s->mode == CA_MODE_REFUSE) {
        X509_free(signer);
        return reject(OSSL_CMP_PKIFAILUREINFO_systemUnavail,
                      "this CA is set to refuse every request");
    }
    why = ca_rr_check(ca, signer, mac_ok, issuer, serial);
    X509_free(signer);
    if (why != NULL)
        return reject(OSSL_CMP_PKIFAILUREINFO_notAuthorized, why);
    if (mac_ok && ca_secret_consume(ca->dir, s->ref) != 0)
        return reject(OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                      "the one-time secret has already been used");
    hex = ca_serial_hex(serial);
    rc = hex != NULL ? ca_db_revoke(ca->dir, hex, time(NULL)) : -1;
    if (rc == 0)
        fprintf(stderr, "cmp-test-ca: rr: revoked serial %s\n", hex);
    OPENSSL_free(hex);
    if (rc != 0)
        return reject(OSSL_CMP_PKIFAILUREINFO_systemFailure,
                      "cannot update the certificate database");
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

static int genm(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *req,
                const STACK_OF(OSSL_CMP_ITAV) *in, STACK_OF(OSSL_CMP_ITAV) **out)
{
    (void)srv_ctx;
    (void)req;
    (void)in;
    *out = sk_OSSL_CMP_ITAV_new_null();
    return *out != NULL;
}

static void error_cb(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *req,
                     const OSSL_CMP_PKISI *si, const ASN1_INTEGER *code,
                     const OSSL_CMP_PKIFREETEXT *details)
{
    char buf[512];

    (void)srv_ctx;
    (void)req;
    (void)code;
    (void)details;
    fprintf(stderr, "cmp-test-ca: client reported an error: %s\n",
            si != NULL ? OSSL_CMP_snprint_PKIStatusInfo(si, buf, sizeof(buf)) : "?");
}

static int cert_conf(OSSL_CMP_SRV_CTX *srv_ctx, const OSSL_CMP_MSG *req,
                     int certReqId, const ASN1_OCTET_STRING *certHash,
                     const OSSL_CMP_PKISI *si)
{
    struct sess *s = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv_ctx);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char buf[512];

    (void)req;
    (void)certReqId;
    if (s->issued == NULL || certHash == NULL) {
        ERR_raise(ERR_LIB_CMP, CMP_R_ERROR_UNEXPECTED_CERTCONF);
        return 0;
    }
    if (!X509_digest(s->issued, EVP_sha256(), md, &len)
        || (size_t)ASN1_STRING_length(certHash) != len
        || memcmp(ASN1_STRING_get0_data(certHash), md, len) != 0) {
        ERR_raise(ERR_LIB_CMP, CMP_R_CERTHASH_UNMATCHED);
        return 0;
    }
    if (si != NULL && OSSL_CMP_snprint_PKIStatusInfo(si, buf, sizeof(buf)) != NULL) {
        fprintf(stderr, "cmp-test-ca: certConf: %s\n", buf);
        /* A certificate its holder rejected must not stay usable. */
        if (strncmp(buf, "PKIStatus: rejection", 20) == 0) {
            char *hex = ca_serial_hex(X509_get0_serialNumber(s->issued));

            if (hex != NULL && ca_db_revoke(s->owner->ca->dir, hex, time(NULL)) == 0)
                fprintf(stderr, "cmp-test-ca: revoked rejected serial %s\n", hex);
            OPENSSL_free(hex);
        }
    }
    return 1;
}

static void sess_free(struct sess *s)
{
    if (s == NULL)
        return;
    OSSL_CMP_SRV_CTX_free(s->srv);
    X509_free(s->issued);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

static struct sess *sess_new(struct ca_srv *srv, const ASN1_OCTET_STRING *tid)
{
    struct sess *s = calloc(1, sizeof(*s));
    OSSL_CMP_CTX *ctx;
    X509_STORE *store = X509_STORE_new();

    if (s == NULL || store == NULL)
        goto fail;
    s->owner = srv;
    if (tid != NULL && (size_t)ASN1_STRING_length(tid) <= sizeof(s->tid)) {
        s->tid_len = (size_t)ASN1_STRING_length(tid);
        memcpy(s->tid, ASN1_STRING_get0_data(tid), s->tid_len);
    }
    s->srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    if (s->srv == NULL
        || !OSSL_CMP_SRV_CTX_init(s->srv, s, cert_req, rr, genm, error_cb,
                                  cert_conf, NULL)
        || !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(s->srv, 1)
        || (ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(s->srv)) == NULL
        || !OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_WARNING)
        || !OSSL_CMP_CTX_set1_cert(ctx, srv->ca->cert)
        || !OSSL_CMP_CTX_set1_pkey(ctx, srv->ca->key)
        || !X509_STORE_add_cert(store, srv->ca->cert)
        || !OSSL_CMP_CTX_set0_trustedStore(ctx, store))
        goto fail;
    return s;
fail:
    X509_STORE_free(store);
    sess_free(s);
    return NULL;
}

/* The slot of this transaction, or a free one (evicting the idlest). */
static int slot_for(struct ca_srv *srv, const ASN1_OCTET_STRING *tid, int fresh)
{
    int i, best = 0;
    size_t n = tid != NULL ? (size_t)ASN1_STRING_length(tid) : 0;

    for (i = 0; i < SESS_MAX; i++) {
        struct sess *s = srv->s[i];

        if (s != NULL && s->tid_len == n && n > 0
            && memcmp(s->tid, ASN1_STRING_get0_data(tid), n) == 0) {
            if (!fresh)
                return i;
            sess_free(s);
            srv->s[i] = NULL;
        }
    }
    for (i = 0; i < SESS_MAX; i++) {
        if (srv->s[i] == NULL)
            return i;
        if (srv->s[i]->last < srv->s[best]->last)
            best = i;
    }
    sess_free(srv->s[best]);
    srv->s[best] = NULL;
    return best;
}

static int starts_transaction(int type)
{
    return type == CA_BODY_IR || type == CA_BODY_CR
        || type == CA_BODY_P10CR || type == CA_BODY_KUR
        || type == CA_BODY_RR || type == CA_BODY_GENM;
}

static int ends_transaction(const OSSL_CMP_MSG *rsp, OSSL_CMP_CTX *ctx)
{
    switch (rsp != NULL ? OSSL_CMP_MSG_get_bodytype(rsp) : -1) {
    case CA_BODY_IP:
    case CA_BODY_CP:
    case CA_BODY_KUP:
        return OSSL_CMP_CTX_get_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM) == 1;
    default:
        return 1;
    }
}

/* The reference's secret for a MAC-protected request. A MAC that does not
 * verify is counted against the reference (not used up), and the reason
 * is put first on the error queue, where OSSL_CMP_SRV_process_request
 * takes the text of its error answer from. */
static void load_secret(struct sess *s, const struct ca_msg_info *info,
                        const OSSL_CMP_MSG *req)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_SRV_CTX_get0_cmp_ctx(s->srv);
    const char *dir = s->owner->ca->dir;
    char ref[CA_REF_MAX], secret[CA_SECRET_MAX];
    int rc, k;

    if (info->prot_nid != NID_id_PasswordBasedMAC || info->kid_len == 0
        || info->kid_len >= sizeof(ref))
        return;
    memcpy(ref, info->kid, info->kid_len);
    ref[info->kid_len] = 0;
    rc = ca_ref_valid(ref) ? ca_secret_get(dir, ref, secret, sizeof(secret)) : 1;
    if (rc == 2) {
        fprintf(stderr, "cmp-test-ca: reference %s is locked\n", ref);
        ERR_raise_data(ERR_LIB_CMP, CMP_R_WRONG_PBM_VALUE,
                       "reference %s is locked after %d wrong secrets: ask the CA for a new one",
                       ref, CA_SECRET_TRIES);
        return;
    }
    if (rc != 0) {
        fprintf(stderr, "cmp-test-ca: unknown or used reference in senderKID\n");
        ERR_raise_data(ERR_LIB_CMP, CMP_R_WRONG_PBM_VALUE,
                       "reference unknown or already used");
        return;
    }
    if (OSSL_CMP_CTX_set1_secretValue(ctx, (unsigned char *)secret, strlen(secret))
        && OSSL_CMP_CTX_set1_referenceValue(ctx, (unsigned char *)ref, strlen(ref)))
        memcpy(s->ref, ref, sizeof(ref));
    OPENSSL_cleanse(secret, sizeof(secret));
    if (s->ref[0] && !OSSL_CMP_validate_msg(ctx, req)) {
        ERR_clear_error();
        k = ca_secret_fail(dir, ref);
        fprintf(stderr, "cmp-test-ca: wrong secret for reference %s (%d of %d tries)\n",
                ref, k, CA_SECRET_TRIES);
        ERR_raise_data(ERR_LIB_CMP, CMP_R_WRONG_PBM_VALUE,
                       "wrong one-time secret for reference %s (%d of %d tries used)",
                       ref, k, CA_SECRET_TRIES);
        s->ref[0] = 0;
        /* Answer signed by the CA, which the client can check, not with a
         * MAC under a secret it does not have. */
        OSSL_CMP_CTX_set1_secretValue(ctx, NULL, 0);
    }
}

int ca_srv_handle(struct ca_srv *srv, const uint8_t *der, size_t len,
                  enum ca_mode mode, uint8_t **out, size_t *outlen)
{
    const unsigned char *p = der;
    OSSL_CMP_MSG *req, *rsp = NULL;
    struct ca_msg_info info;
    const ASN1_OCTET_STRING *tid;
    struct sess *s;
    unsigned char *buf = NULL;
    int type, i, n, rc = -1;

    *out = NULL;
    *outlen = 0;
    if (len == 0 || len > CA_HTTP_BODY_MAX)
        return -1;
    req = d2i_OSSL_CMP_MSG(NULL, &p, (long)len);
    if (req == NULL || p != der + len || ca_msg_info(der, len, &info) != 0) {
        OSSL_CMP_MSG_free(req);
        ERR_clear_error();
        return -1;
    }
    type = OSSL_CMP_MSG_get_bodytype(req);
    tid = OSSL_CMP_HDR_get0_transactionID(OSSL_CMP_MSG_get0_header(req));

    pthread_mutex_lock(&srv->mu);
    i = slot_for(srv, tid, starts_transaction(type));
    if (srv->s[i] == NULL) {
        srv->s[i] = sess_new(srv, tid);
        if (srv->s[i] != NULL) {
            ERR_clear_error();
            load_secret(srv->s[i], &info, req);
        }
    }
    s = srv->s[i];
    if (s != NULL) {
        s->last = time(NULL);
        s->info = &info;
        s->mode = mode;
        rsp = OSSL_CMP_SRV_process_request(s->srv, req);
        s->info = NULL;
        if (ends_transaction(rsp, OSSL_CMP_SRV_CTX_get0_cmp_ctx(s->srv))) {
            sess_free(s);
            srv->s[i] = NULL;
        }
    }
    pthread_mutex_unlock(&srv->mu);

    if (rsp != NULL && (n = i2d_OSSL_CMP_MSG(rsp, &buf)) > 0) {
        *out = buf;
        *outlen = (size_t)n;
        rc = 0;
    } else {
        rc = -2;
    }
    OSSL_CMP_MSG_free(rsp);
    OSSL_CMP_MSG_free(req);
    ca_msg_info_free(&info);
    ERR_clear_error();
    return rc;
}

struct ca_srv *ca_srv_new(const struct ca *ca, int days)
{
    struct ca_srv *srv = calloc(1, sizeof(*srv));

    if (srv == NULL)
        return NULL;
    srv->ca = ca;
    srv->days = days > 0 ? days : CA_DEFAULT_DAYS;
    pthread_mutex_init(&srv->mu, NULL);
    return srv;
}

void ca_srv_free(struct ca_srv *srv)
{
    int i;

    if (srv == NULL)
        return;
    for (i = 0; i < SESS_MAX; i++)
        sess_free(srv->s[i]);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
