/* sign.c: C_Sign* and C_Verify*. The card does the private key
 * operation; hashing and DigestInfo are done here, and verification is
 * done in software from the public key.
 *
 * Length rules: a NULL output buffer asks for the length and a buffer
 * too small gets CKR_BUFFER_TOO_SMALL; neither ends the operation. Any
 * other result ends it. */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "pkcs11/p11.h"

#define SIG_MAX 512

/* Resolves an operation's key: the object, and its container. */
CK_RV p11_op_key(struct p11_slot *s, CK_OBJECT_HANDLE h, bool priv,
                    const struct card_container **c)
{
    struct p11_object *o = p11_object_get0(s, h, s->logged_in);
    if (!o || (priv && o->kind != P11_PRIV) || o->kind == P11_CERT)
        return CKR_KEY_HANDLE_INVALID;
    *c = &s->cont.c[o->ci];
    return CKR_OK;
}

size_t p11_sig_len(const struct card_container *c)
{
    return c->type == CARD_KEY_RSA ? (c->bits + 7) / 8 : 64;
}

/* Common to SignInit and VerifyInit. */
static CK_RV op_init(struct p11_session *ss, struct p11_opstate *op, const CK_MECHANISM *m,
                     CK_OBJECT_HANDLE key, bool priv)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    const struct card_container *c;
    if (!m)
        return CKR_ARGUMENTS_BAD;
    const struct p11_mech *mech = p11_mech_find(m->mechanism);
    CK_RV rv = p11_token_objects(s);
    if (rv != CKR_OK)
        return rv;
    p11_token_end(s);
    CK_MECHANISM_INFO mi;
    if (!mech || mech->keygen ||
        p11_mech_info(card_get_info(s->card), 0, m->mechanism, &mi) != CKR_OK)
        return CKR_MECHANISM_INVALID;
    if ((rv = p11_op_key(s, key, priv, &c)) != CKR_OK)
        return rv;
    if (mech->ec != (c->type == CARD_KEY_EC_P256))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (priv && !c->can_sign)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    memset(op, 0, sizeof(*op));
    if (mech->pss) {
        if ((rv = p11_pss_check(m, &op->pss_md)) != CKR_OK)
            return rv;
    } else if (m->ulParameterLen) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    op->mech = mech;
    op->key = key;
    if (mech->md) {
        op->mdctx = EVP_MD_CTX_new();
        if (!op->mdctx || !EVP_DigestInit_ex(op->mdctx, mech->md(), NULL)) {
            p11_opstate_clear(op);
            return CKR_HOST_MEMORY;
        }
    }
    return CKR_OK;
}

static CK_RV op_update(struct p11_opstate *op, const CK_BYTE *data, CK_ULONG len)
{
    if (!data && len)
        return CKR_ARGUMENTS_BAD;
    op->multipart = true;
    if (op->mdctx)
        return EVP_DigestUpdate(op->mdctx, data, len) ? CKR_OK : CKR_FUNCTION_FAILED;
    if (op->buflen + len > P11_RAW_MAX)
        return CKR_DATA_LEN_RANGE;
    uint8_t *b = realloc(op->buf, op->buflen + len + 1);
    if (!b)
        return CKR_HOST_MEMORY;
    op->buf = b;
    if (len)
        memcpy(op->buf + op->buflen, data, len);
    op->buflen += len;
    return CKR_OK;
}

/* The bytes the card (or the verifier) gets: a DigestInfo for PKCS#1
 * hash-and-sign, a hash for PSS and ECDSA, or the caller's data. */
static CK_RV op_input(struct p11_opstate *op, const struct card_container *c,
                      const CK_BYTE *data, CK_ULONG len, uint8_t *out, size_t *outlen)
{
    uint8_t hash[EVP_MAX_MD_SIZE];
    unsigned hlen = 0;
    if (op->mdctx) {
        if (!op->multipart && !EVP_DigestUpdate(op->mdctx, data, len))
            return CKR_FUNCTION_FAILED;
        if (!EVP_DigestFinal_ex(op->mdctx, hash, &hlen))
            return CKR_FUNCTION_FAILED;
        if (op->mech->alg == CARD_SIGN_RSA_PKCS1)
            return p11_digest_info(op->mech->md(), hash, hlen, out, outlen);
        data = hash;
        len = hlen;
    } else if (op->multipart) {
        data = op->buf;
        len = op->buflen;
    }
    if (op->mech->alg == CARD_SIGN_RSA_PSS && len != (CK_ULONG)EVP_MD_get_size(op->pss_md))
        return CKR_DATA_LEN_RANGE;
    if (op->mech->alg == CARD_SIGN_RSA_PKCS1 && len + 11 > p11_sig_len(c))
        return CKR_DATA_LEN_RANGE;
    if (op->mech->alg == CARD_SIGN_ECDSA) {
        /* CKM_ECDSA signs input of any length as an integer of the
         * order's bit length (256 for P-256): the leftmost 32 bytes of a
         * longer input, a shorter one left-padded with zeros (the same
         * integer). The card takes whole hash sizes only. */
        size_t pad = len < 32 ? 32 - len : 0;
        if (len > 32)
            len = 32;
        if (*outlen < 32)
            return CKR_DATA_LEN_RANGE;
        memset(out, 0, pad);
        if (len)
            memcpy(out + pad, data, len);
        *outlen = 32;
        return CKR_OK;
    }
    if (len > *outlen)
        return CKR_DATA_LEN_RANGE;
    if (len)
        memcpy(out, data, len);
    *outlen = len;
    return CKR_OK;
}

CK_RV p11_sign_init(struct p11_session *ss, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    if (ss->signing)
        return CKR_OPERATION_ACTIVE;
    CK_RV rv = op_init(ss, &ss->sign, m, key, true);
    ss->signing = rv == CKR_OK;
    return rv;
}

static void sign_end(struct p11_session *ss)
{
    p11_opstate_clear(&ss->sign);
    ss->signing = false;
}

/* Length rules, then the card. The key is the one C_SignInit found in
 * objects it checked against the card; its handle is looked up again, as
 * a check since may have dropped it, but the card is not asked again.
 * Every result but a length query and CKR_BUFFER_TOO_SMALL ends the
 * operation (PKCS#11, C_Sign and C_SignFinal), here in one place. */
static CK_RV sign_card(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len,
                       CK_BYTE *sig, CK_ULONG *siglen);

static CK_RV sign_run(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len,
                      CK_BYTE *sig, CK_ULONG *siglen)
{
    CK_RV rv = sign_card(ss, data, len, sig, siglen);
    if (rv != CKR_BUFFER_TOO_SMALL && !(rv == CKR_OK && !sig))
        sign_end(ss);
    return rv;
}

static CK_RV sign_card(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len,
                       CK_BYTE *sig, CK_ULONG *siglen)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    const struct card_container *c;
    if (!siglen)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_op_key(s, ss->sign.key, true, &c);
    if (rv != CKR_OK)
        return rv;
    size_t need = p11_sig_len(c);
    if (!sig) {
        *siglen = need;
        return CKR_OK;
    }
    if (*siglen < need) {
        *siglen = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    if ((rv = p11_token_begin(s)) != CKR_OK)
        return rv;
    uint8_t in[P11_RAW_MAX];
    size_t inlen = sizeof(in);
    if ((rv = op_input(&ss->sign, c, data, len, in, &inlen)) != CKR_OK)
        goto out;
    struct p11_limits lim = p11_profile_limits(card_get_driver(s->card));
    if (lim.sign_in_max && inlen > lim.sign_in_max) {
        /* A G card signs a SHA-1 DigestInfo at most: a TLS server that
         * asks for SHA-256 signatures lands here (README.md). */
        p11_trace("C_Sign: %zu bytes to sign; this card takes at most %zu (a SHA-1 DigestInfo)",
                  inlen, (size_t)lim.sign_in_max);
        rv = CKR_DATA_LEN_RANGE;
        goto out;
    }
    uint8_t out[SIG_MAX];
    size_t outlen = sizeof(out);
    int crv = card_sign(s->card, c, ss->sign.mech->alg, in, inlen, out, &outlen);
    p11_secure_zero(in, sizeof(in));
    if ((rv = p11_card_result(s, crv)) != CKR_OK)
        goto out;
    if (outlen > *siglen) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    memcpy(sig, out, outlen);
    *siglen = outlen;
out:
    p11_token_end(s);
    return rv;
}

CK_RV p11_sign(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len,
               CK_BYTE *sig, CK_ULONG *siglen)
{
    if (!ss->signing)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!data && len) {
        sign_end(ss);
        return CKR_ARGUMENTS_BAD;
    }
    if (ss->sign.multipart)
        return CKR_OPERATION_ACTIVE;
    return sign_run(ss, data, len, sig, siglen);
}

CK_RV p11_sign_update(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len)
{
    if (!ss->signing)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = op_update(&ss->sign, data, len);
    if (rv != CKR_OK)
        sign_end(ss);
    return rv;
}

CK_RV p11_sign_final(struct p11_session *ss, CK_BYTE *sig, CK_ULONG *siglen)
{
    if (!ss->signing)
        return CKR_OPERATION_NOT_INITIALIZED;
    ss->sign.multipart = true;
    return sign_run(ss, NULL, 0, sig, siglen);
}

/* ---- verification, in software ---- */

CK_RV p11_verify_init(struct p11_session *ss, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    if (ss->verifying)
        return CKR_OPERATION_ACTIVE;
    CK_RV rv = op_init(ss, &ss->verify, m, key, false);
    if (rv != CKR_OK)
        return rv;
    const struct card_container *c;
    struct p11_slot *s = &p11_g.slots[ss->slot];
    if (p11_op_key(s, key, false, &c) != CKR_OK || !(ss->verify.pkey = p11_container_pkey(c))) {
        p11_opstate_clear(&ss->verify);
        return CKR_KEY_HANDLE_INVALID;
    }
    ss->verifying = true;
    return CKR_OK;
}

static CK_RV verify_run(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len,
                        const CK_BYTE *sig, CK_ULONG siglen)
{
    struct p11_opstate *op = &ss->verify;
    CK_RV rv = CKR_FUNCTION_FAILED;
    EVP_PKEY_CTX *pc = NULL;
    ECDSA_SIG *es = NULL;
    unsigned char *der = NULL;
    struct card_container fake = { 0 };
    bool ec = op->mech->ec;
    fake.type = ec ? CARD_KEY_EC_P256 : CARD_KEY_RSA;
    fake.bits = (unsigned)EVP_PKEY_get_bits(op->pkey);
    if (!sig) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    if (siglen != p11_sig_len(&fake)) {
        rv = CKR_SIGNATURE_LEN_RANGE;
        goto out;
    }
    uint8_t in[P11_RAW_MAX];
    size_t inlen = sizeof(in);
    /* PKCS#1 hash-and-sign: OpenSSL checks the DigestInfo against the hash. */
    const EVP_MD *sigmd = op->mech->md && op->mech->alg == CARD_SIGN_RSA_PKCS1 ? op->mech->md() : NULL;
    if ((rv = op_input(op, &fake, data, len, in, &inlen)) != CKR_OK)
        goto out;
    rv = CKR_FUNCTION_FAILED;
    pc = EVP_PKEY_CTX_new(op->pkey, NULL);
    if (!pc || EVP_PKEY_verify_init(pc) <= 0)
        goto out;
    const uint8_t *s = sig;
    size_t slen = siglen;
    if (ec) {
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
        es = ECDSA_SIG_new();
        if (!r || !sv || !es || !ECDSA_SIG_set0(es, r, sv)) {
            BN_free(r);
            BN_free(sv);
            goto out;
        }
        int dl = i2d_ECDSA_SIG(es, &der);
        if (dl <= 0)
            goto out;
        s = der;
        slen = (size_t)dl;
    } else if (op->mech->alg == CARD_SIGN_RSA_PSS) {
        if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(pc, op->pss_md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pc, op->pss_md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) <= 0)
            goto out;
    } else {
        if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0)
            goto out;
        if (sigmd) {
            /* in holds a DigestInfo; give OpenSSL the bare hash. */
            size_t hl = (size_t)EVP_MD_get_size(sigmd);
            uint8_t h[EVP_MAX_MD_SIZE];
            memcpy(h, in + inlen - hl, hl);
            memcpy(in, h, hl);
            inlen = hl;
            if (EVP_PKEY_CTX_set_signature_md(pc, sigmd) <= 0)
                goto out;
        }
    }
    int ok = EVP_PKEY_verify(pc, s, slen, in, inlen);
    rv = ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(pc);
    p11_opstate_clear(op);
    ss->verifying = false;
    return rv;
}

CK_RV p11_verify(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len,
                 const CK_BYTE *sig, CK_ULONG siglen)
{
    if (!ss->verifying)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!data && len) {
        p11_opstate_clear(&ss->verify);
        ss->verifying = false;
        return CKR_ARGUMENTS_BAD;
    }
    return verify_run(ss, data, len, sig, siglen);
}

CK_RV p11_verify_update(struct p11_session *ss, const CK_BYTE *data, CK_ULONG len)
{
    if (!ss->verifying)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = op_update(&ss->verify, data, len);
    if (rv != CKR_OK) {
        p11_opstate_clear(&ss->verify);
        ss->verifying = false;
    }
    return rv;
}

CK_RV p11_verify_final(struct p11_session *ss, const CK_BYTE *sig, CK_ULONG siglen)
{
    if (!ss->verifying)
        return CKR_OPERATION_NOT_INITIALIZED;
    ss->verify.multipart = true;
    return verify_run(ss, NULL, 0, sig, siglen);
}
