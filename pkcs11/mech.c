/* mech.c: the mechanisms a card offers (from its profile's abilities),
 * PSS parameter checks and host-built DigestInfo. All are CKF_HW: the
 * private-key operation is on the card; hashing is on the host. */
#include <string.h>
#include <openssl/evp.h>

#include "pkcs11/p11.h"

static const struct p11_mech mechs[] = {
    { CKM_RSA_PKCS, NULL, CARD_SIGN_RSA_PKCS1, false, false, false },
    { CKM_SHA1_RSA_PKCS, EVP_sha1, CARD_SIGN_RSA_PKCS1, false, false, false },
    { CKM_SHA256_RSA_PKCS, EVP_sha256, CARD_SIGN_RSA_PKCS1, false, false, false },
    { CKM_SHA384_RSA_PKCS, EVP_sha384, CARD_SIGN_RSA_PKCS1, false, false, false },
    { CKM_SHA512_RSA_PKCS, EVP_sha512, CARD_SIGN_RSA_PKCS1, false, false, false },
    { CKM_RSA_PKCS_PSS, NULL, CARD_SIGN_RSA_PSS, false, false, true },
    { CKM_SHA256_RSA_PKCS_PSS, EVP_sha256, CARD_SIGN_RSA_PSS, false, false, true },
    { CKM_ECDSA, NULL, CARD_SIGN_ECDSA, true, false, false },
    { CKM_ECDSA_SHA256, EVP_sha256, CARD_SIGN_ECDSA, true, false, false },
    { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, CARD_SIGN_RSA_PKCS1, false, true, false },
    { CKM_EC_KEY_PAIR_GEN, NULL, CARD_SIGN_ECDSA, true, true, false },
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

const struct p11_mech *p11_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < NMECHS; i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

/* Does this card do it? G: SHA-1 RSA only; O adds SHA-2, PSS and EC. */
static bool offered(const struct card_info *ci, const struct p11_mech *m)
{
    if (m->ec)
        return ci->has_ec;
    if (m->pss)
        return ci->has_pss;
    if (m->md && m->md != EVP_sha1)
        return ci->has_sha2;
    return true;
}

size_t p11_mech_list(const struct card_info *ci, CK_MECHANISM_TYPE *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NMECHS && n < max; i++)
        if (offered(ci, &mechs[i]))
            out[n++] = mechs[i].type;
    return n;
}

CK_RV p11_mech_info(const struct card_info *ci, unsigned decrypt_bits,
                    CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *mi)
{
    const struct p11_mech *m = p11_mech_find(type);
    if (!m || !offered(ci, m))
        return CKR_MECHANISM_INVALID;
    memset(mi, 0, sizeof(*mi));
    if (m->ec) {
        mi->ulMinKeySize = mi->ulMaxKeySize = 256;
        mi->flags = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
    } else {
        mi->ulMinKeySize = ci->rsa_bits_min;
        mi->ulMaxKeySize = ci->rsa_bits_max;
    }
    mi->flags |= CKF_HW;
    if (m->keygen)
        mi->flags |= CKF_GENERATE_KEY_PAIR;
    else
        mi->flags |= CKF_SIGN | CKF_VERIFY;
    /* One key size range covers every use of the mechanism: where the
     * card deciphers, it is the range it deciphers with. */
    if (type == CKM_RSA_PKCS && decrypt_bits >= mi->ulMinKeySize) {
        mi->flags |= CKF_DECRYPT;
        if (decrypt_bits < mi->ulMaxKeySize)
            mi->ulMaxKeySize = decrypt_bits;
    }
    return CKR_OK;
}

unsigned p11_decrypt_bits_max(const struct card *c)
{
    const struct card_driver *d = card_get_driver(c);
    const struct card_info *ci = card_get_info(c);
    if (!d || !d->decrypt || !ci)
        return 0;
    struct p11_limits lim = p11_profile_limits(d);
    unsigned bits = ci->rsa_bits_max;
    /* The key sizes the card makes, 1024 apart, down to the largest
     * whose cryptogram fits the profile's APDUs. */
    while (lim.decrypt_in_max && bits / 8 > lim.decrypt_in_max && bits >= ci->rsa_bits_min + 1024)
        bits -= 1024;
    if (lim.decrypt_in_max && bits / 8 > lim.decrypt_in_max)
        return 0;
    return bits;
}

struct p11_limits p11_profile_limits(const struct card_driver *d)
{
    struct p11_limits l = { 0, 0 };
    if (d && d->name && strcmp(d->name, "G") == 0) {
        l.sign_in_max = 36;
        l.decrypt_in_max = 255;
    }
    return l;
}

static const struct {
    CK_MECHANISM_TYPE hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
    const EVP_MD *(*md)(void);
} pss_hashes[] = {
    { CKM_SHA_1, CKG_MGF1_SHA1, EVP_sha1 },
    { CKM_SHA256, CKG_MGF1_SHA256, EVP_sha256 },
    { CKM_SHA384, CKG_MGF1_SHA384, EVP_sha384 },
    { CKM_SHA512, CKG_MGF1_SHA512, EVP_sha512 },
};

CK_RV p11_pss_check(const CK_MECHANISM *m, const EVP_MD **md)
{
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    CK_RSA_PKCS_PSS_PARAMS p;
    memcpy(&p, m->pParameter, sizeof(p));
    for (size_t i = 0; i < sizeof(pss_hashes) / sizeof(pss_hashes[0]); i++) {
        if (pss_hashes[i].hash != p.hashAlg)
            continue;
        const EVP_MD *d = pss_hashes[i].md();
        if (p.mgf != pss_hashes[i].mgf || p.sLen != (CK_ULONG)EVP_MD_get_size(d))
            return CKR_MECHANISM_PARAM_INVALID;
        /* A hash-and-sign PSS mechanism fixes its hash. */
        if (m->mechanism == CKM_SHA256_RSA_PKCS_PSS && p.hashAlg != CKM_SHA256)
            return CKR_MECHANISM_PARAM_INVALID;
        *md = d;
        return CKR_OK;
    }
    return CKR_MECHANISM_PARAM_INVALID;
}

static const struct {
    int nid;
    uint8_t prefix[19];
    size_t len;
} di_prefix[] = {
    { NID_sha1, { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
                  0x05, 0x00, 0x04, 0x14 }, 15 },
    { NID_sha224, { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                    0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c }, 19 },
    { NID_sha256, { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                    0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 19 },
    { NID_sha384, { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                    0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 19 },
    { NID_sha512, { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                    0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 19 },
};

CK_RV p11_digest_info(const EVP_MD *md, const uint8_t *hash, size_t hlen,
                      uint8_t *out, size_t *outlen)
{
    if (!md || hlen != (size_t)EVP_MD_get_size(md))
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < sizeof(di_prefix) / sizeof(di_prefix[0]); i++) {
        if (di_prefix[i].nid != EVP_MD_get_type(md))
            continue;
        if (*outlen < di_prefix[i].len + hlen)
            return CKR_BUFFER_TOO_SMALL;
        memcpy(out, di_prefix[i].prefix, di_prefix[i].len);
        memcpy(out + di_prefix[i].len, hash, hlen);
        *outlen = di_prefix[i].len + hlen;
        return CKR_OK;
    }
    return CKR_MECHANISM_INVALID;
}
