/* token.c: key generation, certificate write and retirement through
 * PKCS#11. Keys are made on the token, never extractable. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "renew/token.h"

int renew_token_can_generate(struct renew_p11 *p, const struct renew_cred *old,
                             struct renew_err *e)
{
    bool ec = old->key_type == CKK_EC;
    CK_MECHANISM_TYPE gen = ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN;
    CK_MECHANISM_TYPE sig = ec ? CKM_ECDSA : CKM_RSA_PKCS;
    CK_MECHANISM_INFO gi, si;
    if (p->ti.flags & CKF_WRITE_PROTECTED)
        return renew_fail(e, RENEW_E_UNSUPPORTED,
                          "this smartcard is write-protected: it cannot be renewed here; ask your RA to renew it");
    if (!renew_p11_has_mech(p, gen, &gi) || !(gi.flags & CKF_GENERATE_KEY_PAIR))
        return renew_fail(e, RENEW_E_UNSUPPORTED,
                          "this smartcard cannot make a new key (no %s key generation): ask your RA to renew it",
                          ec ? "EC" : "RSA");
    /* A module that marks its signing as hardware but not its key
     * generation would make the key in software: refuse. */
    if (renew_p11_has_mech(p, sig, &si) && (si.flags & CKF_HW) && !(gi.flags & CKF_HW))
        return renew_fail(e, RENEW_E_UNSUPPORTED,
                          "this smartcard's module would make the new key outside the card: ask your RA to renew it");
    if (!renew_p11_has_mech(p, sig, NULL))
        return renew_fail(e, RENEW_E_UNSUPPORTED,
                          "this smartcard cannot sign with %s: it cannot be renewed here",
                          ec ? "CKM_ECDSA" : "CKM_RSA_PKCS");
    return 0;
}

/* Cards name a key pair by SHA-1 of its RSA modulus (or EC point); give
 * the new pair that id where the token lets us, else keep the token's. */
static void set_id_from_key(struct renew_p11 *p, struct renew_cred *nw)
{
    unsigned char *v = NULL, md[SHA_DIGEST_LENGTH];
    size_t vl = 0;
    CK_ATTRIBUTE_TYPE t = nw->key_type == CKK_EC ? CKA_EC_POINT : CKA_MODULUS;
    if (renew_p11_attr(p, nw->pub, t, &v, &vl) != CKR_OK || vl == 0) {
        free(v);
        return;
    }
    size_t off = 0;
    while (t == CKA_MODULUS && off + 1 < vl && v[off] == 0)
        off++;
    SHA1(v + off, vl - off, md);
    free(v);
    CK_ATTRIBUTE a = { CKA_ID, md, sizeof md };
    if (p->f->C_SetAttributeValue(p->sess, nw->priv, &a, 1) == CKR_OK &&
        p->f->C_SetAttributeValue(p->sess, nw->pub, &a, 1) == CKR_OK) {
        memcpy(nw->id, md, sizeof md);
        nw->id_len = sizeof md;
    }
}

int renew_token_generate(struct renew_p11 *p, const struct renew_cred *old, const char *label,
                         struct renew_cred *nw, struct renew_err *e)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE, dec = old->decrypt ? CK_TRUE : CK_FALSE;
    CK_ULONG bits = 2048;
    CK_BYTE exp[] = { 0x01, 0x00, 0x01 };
    unsigned char tmp_id[20];
    unsigned char *params = NULL, *idv = NULL;
    size_t params_len = 0, idl = 0;
    bool ec = old->key_type == CKK_EC;
    int rc;
    EVP_PKEY *oldpub = old->x509 ? X509_get0_pubkey(old->x509) : NULL;

    memset(nw, 0, sizeof *nw);
    if (oldpub && EVP_PKEY_get_bits(oldpub) > 0)
        bits = (CK_ULONG)EVP_PKEY_get_bits(oldpub);
    if (ec && renew_p11_attr(p, old->priv, CKA_EC_PARAMS, &params, &params_len) != CKR_OK &&
        (!old->has_pub ||
         renew_p11_attr(p, old->pub, CKA_EC_PARAMS, &params, &params_len) != CKR_OK))
        return renew_fail(e, RENEW_E_TOKEN, "cannot read the curve of the key on the card: run cardrenew --diagnose");
    if (RAND_bytes(tmp_id, sizeof tmp_id) != 1) {
        free(params);
        return renew_fail(e, RENEW_E_TOKEN, "no random numbers for a key id: retry");
    }
    CK_ATTRIBUTE pub[8] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_ID, tmp_id, sizeof tmp_id },
        { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_ULONG npub = 4;
    /* Deciphering is asked for only where the old key had it: a token
     * whose keys all decipher refuses a template that says they must not. */
    if (dec)
        pub[npub++] = (CK_ATTRIBUTE){ CKA_ENCRYPT, &dec, 1 };
    if (ec) {
        pub[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, params, params_len };
    } else {
        pub[npub++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof bits };
        pub[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, exp, sizeof exp };
    }
    CK_ATTRIBUTE priv[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
        { CKA_EXTRACTABLE, &no, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_ID, tmp_id, sizeof tmp_id },
        { CKA_LABEL, (void *)label, strlen(label) }, { CKA_DECRYPT, &dec, 1 },
    };
    CK_ULONG npriv = sizeof priv / sizeof priv[0] - (dec ? 0 : 1);
    CK_MECHANISM mech = { ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_RV rv = p->f->C_GenerateKeyPair(p->sess, &mech, pub, npub, priv, npriv, &nw->pub,
                                       &nw->priv);
    free(params);
    if (rv == CKR_DEVICE_MEMORY)
        return renew_fail(e, RENEW_E_TOKEN,
                          "no free key container on your smartcard: ask your RA to cancel and re-issue the card");
    if (rv != CKR_OK)
        return renew_p11_fail(e, rv, "creating the new key (\"Failed to create keys\")");
    nw->has_priv = nw->has_pub = true;
    nw->key_type = old->key_type;
    nw->decrypt = dec;
    memcpy(nw->id, tmp_id, sizeof tmp_id);
    nw->id_len = sizeof tmp_id;
    /* The token may assign its own CKA_ID: use what it reports. */
    if (renew_p11_attr(p, nw->priv, CKA_ID, &idv, &idl) == CKR_OK && idl && idl <= RENEW_ID_MAX) {
        memcpy(nw->id, idv, idl);
        nw->id_len = idl;
    }
    free(idv);
    if (nw->id_len == sizeof tmp_id && memcmp(nw->id, tmp_id, sizeof tmp_id) == 0)
        set_id_from_key(p, nw);
    rc = 0;
    return rc;
}

int renew_token_write_cert(struct renew_p11 *p, X509 *cert, const unsigned char *id,
                           size_t id_len, const char *label, CK_OBJECT_HANDLE *out,
                           struct renew_err *e)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    unsigned char *der = NULL, *subj = NULL, *iss = NULL, *ser = NULL;
    int derl = i2d_X509(cert, &der);
    int subjl = i2d_X509_NAME(X509_get_subject_name(cert), &subj);
    int issl = i2d_X509_NAME(X509_get_issuer_name(cert), &iss);
    int serl = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &ser);
    int rc;
    if (derl <= 0 || subjl <= 0 || issl <= 0 || serl <= 0) {
        rc = renew_fail(e, RENEW_E_TOKEN, "cannot encode the new certificate: nothing was written; run cardrenew --renew again");
        goto out;
    }
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls }, { CKA_CERTIFICATE_TYPE, &ct, sizeof ct },
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 },
        { CKA_VALUE, der, (CK_ULONG)derl }, { CKA_SUBJECT, subj, (CK_ULONG)subjl },
        { CKA_ISSUER, iss, (CK_ULONG)issl }, { CKA_SERIAL_NUMBER, ser, (CK_ULONG)serl },
        { CKA_ID, (void *)id, id_len }, { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_RV rv = p->f->C_CreateObject(p->sess, t, sizeof t / sizeof t[0], out);
    if (rv == CKR_DEVICE_MEMORY)
        rc = renew_fail(e, RENEW_E_TOKEN,
                        "no room for the new certificate on your smartcard: ask your RA to cancel and re-issue the card");
    else
        rc = rv == CKR_OK ? 0 : renew_p11_fail(e, rv, "writing the new certificate");
out:
    OPENSSL_free(der);
    OPENSSL_free(subj);
    OPENSSL_free(iss);
    OPENSSL_free(ser);
    return rc;
}

int renew_token_destroy(struct renew_p11 *p, const struct renew_cred *c, struct renew_err *e)
{
    CK_OBJECT_HANDLE h[3];
    int n = 0;
    /* Certificate first: a key without its certificate is merely pending. */
    if (c->has_cert)
        h[n++] = c->cert;
    if (c->has_priv)
        h[n++] = c->priv;
    if (c->has_pub)
        h[n++] = c->pub;
    for (int i = 0; i < n; i++) {
        CK_RV rv = p->f->C_DestroyObject(p->sess, h[i]);
        if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID)
            return renew_p11_fail(e, rv, "removing the old key (\"There was a problem deleting your key container\")");
    }
    return 0;
}
