/* x509.c: what the drivers and the module need from a certificate: its
 * public key (so a container's CKA_ID comes from the same modulus as its
 * key's), the subject CN (profile G's token label), and where its fields
 * lie for the module's attributes.
 *
 * The DER is walked here, never given whole to d2i_X509: OpenSSL 3
 * decodes the public key through its provider decoders, about 1.2 M
 * instructions a certificate (7 M the first time in a process), and the
 * objects are read again whenever a card changes. The walk checks every
 * TLV of the certificate is well formed (definite, minimal lengths,
 * constructed contents filling their TLV exactly, each universal type in
 * its DER form), the fields are where RFC 5280 puts them, and names and
 * extensions have RFC 5280's shape: what OpenSSL refuses to decode is
 * refused here (tests/fuzz/fuzz_x509.c holds the walk to that). */
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "card/card_int.h"
#include "card/x509.h"

struct tlv {
    uint8_t tag;
    const uint8_t *p;   /* the whole TLV */
    size_t len;
    const uint8_t *v;   /* its value */
    size_t vlen;
};

/* One TLV at *p, before end: a one-byte tag and a definite length in
 * its shortest form (DER). *p moves past it. */
static bool tlv_next(const uint8_t **p, const uint8_t *end, struct tlv *t)
{
    const uint8_t *q = *p;
    if (end - q < 2 || q[0] == 0 || (q[0] & 0x1F) == 0x1F)      /* no EOC, one-byte tags */
        return false;
    t->tag = *q++;
    size_t n = *q++;
    if (n & 0x80) {
        size_t k = n & 0x7F;
        if (k == 0 || k > 3 || (size_t)(end - q) < k || *q == 0)
            return false;
        n = 0;
        while (k--)
            n = n << 8 | *q++;
        if (n < 0x80)
            return false;
    }
    if ((size_t)(end - q) < n)
        return false;
    t->p = *p;
    t->v = q;
    t->vlen = n;
    t->len = (size_t)(q - *p) + n;
    *p = q + n;
    return true;
}

/* What DER asks of a TLV by its universal tag (X.690 8 and 10), as far
 * as OpenSSL checks it when it decodes a certificate: SEQUENCE and SET
 * constructed, the other types primitive (none a certificate holds is
 * constructed); BOOLEAN one byte, NULL empty, INTEGER minimal, an OBJECT
 * IDENTIFIER's subidentifiers minimal and complete, a BIT STRING's
 * unused-bit count 0..7. A certificate that breaks one of these, even
 * inside an extension, is no certificate to OpenSSL (no host could read
 * it), so it is none here either. */
static bool int_minimal(const struct tlv *t);
static bool bits_ok(const struct tlv *t);

static bool form_ok(const struct tlv *t)
{
    if (t->tag & 0xC0)
        return true;        /* context-specific, application, private */
    unsigned n = t->tag & 0x1F;
    bool cons = (t->tag & 0x20) != 0;
    if (n == 16 || n == 17)
        return cons;
    if (cons)
        return false;
    switch (n) {
    case 1:
        return t->vlen == 1;
    case 2:
    case 10:
        return int_minimal(t);
    case 3:
        return bits_ok(t);
    case 5:
        return t->vlen == 0;
    case 6:
        if (t->vlen == 0 || (t->v[t->vlen - 1] & 0x80))
            return false;
        for (size_t i = 0; i < t->vlen; i++)
            if (t->v[i] == 0x80 && (i == 0 || !(t->v[i - 1] & 0x80)))
                return false;   /* a subidentifier with a leading 0x80 */
        return true;
    default:
        return true;
    }
}

/* Every TLV from p to end, and inside each constructed one, well formed. */
static bool der_valid(const uint8_t *p, const uint8_t *end, int depth)
{
    while (p < end) {
        struct tlv t;
        if (!tlv_next(&p, end, &t) || !form_ok(&t))
            return false;
        if ((t.tag & 0x20) && (depth > 16 || !der_valid(t.v, t.v + t.vlen, depth + 1)))
            return false;
    }
    return true;
}

/* The next TLV, which must have this tag. */
static bool want(const uint8_t **p, const uint8_t *end, uint8_t tag, struct tlv *t)
{
    return tlv_next(p, end, t) && t->tag == tag;
}

/* A DER INTEGER's content: not empty, no redundant leading byte. */
static bool int_minimal(const struct tlv *t)
{
    if (t->vlen == 0)
        return false;
    return t->vlen == 1 || !((t->v[0] == 0x00 && !(t->v[1] & 0x80)) ||
                             (t->v[0] == 0xFF && (t->v[1] & 0x80)));
}

/* AlgorithmIdentifier ::= SEQUENCE { OID, parameters OPTIONAL } */
static bool alg_ok(const struct tlv *t)
{
    const uint8_t *p = t->v, *end = t->v + t->vlen;
    struct tlv oid, param;
    return t->tag == 0x30 && want(&p, end, 0x06, &oid) &&
           (p == end || (tlv_next(&p, end, &param) && p == end));
}

/* A name's value as OpenSSL reads it: a type it takes there; UTF8String
 * is UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF),
 * BMPString whole 2-byte characters, UniversalString whole 4-byte ones
 * that are Unicode scalar values. */
static bool string_ok(const struct tlv *t)
{
    /* The universal types OpenSSL takes as a name's value (its
     * ASN1_PRINTABLE): BIT STRING, UTF8String, SEQUENCE, NumericString,
     * PrintableString, T61String, IA5String, UniversalString, BMPString,
     * and the types it has no name for (7-9, 11, 13-15, 29). Not, for
     * one, VisibleString or a time. */
    static const uint32_t name_types = 1u << 3 | 1u << 7 | 1u << 8 | 1u << 9 |
        1u << 11 | 1u << 12 | 1u << 13 | 1u << 14 | 1u << 15 | 1u << 16 | 1u << 18 |
        1u << 19 | 1u << 20 | 1u << 22 | 1u << 28 | 1u << 29 | 1u << 30;
    if ((t->tag & 0xC0) || !(name_types >> (t->tag & 0x1F) & 1))
        return false;
    if (t->tag == 0x1E)
        return t->vlen % 2 == 0;
    if (t->tag == 0x1C) {
        if (t->vlen % 4)
            return false;
        for (size_t i = 0; i < t->vlen; i += 4) {
            uint32_t c = (uint32_t)t->v[i] << 24 | (uint32_t)t->v[i + 1] << 16 |
                         (uint32_t)t->v[i + 2] << 8 | t->v[i + 3];
            if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                return false;
        }
        return true;
    }
    if (t->tag != 0x0C)
        return true;
    for (size_t i = 0; i < t->vlen;) {
        uint8_t b = t->v[i];
        size_t n = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2
                 : (b & 0xF8) == 0xF0 ? 3 : 4;
        if (n == 4 || n >= t->vlen - i)
            return false;
        uint32_t c = n ? b & (0x3F >> n) : b;
        for (size_t k = 1; k <= n; k++) {
            if ((t->v[i + k] & 0xC0) != 0x80)
                return false;
            c = c << 6 | (t->v[i + k] & 0x3F);
        }
        static const uint32_t least[] = { 0, 0x80, 0x800, 0x10000 };
        if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Name ::= SEQUENCE OF SET OF SEQUENCE { OID, value } */
static bool name_ok(const struct tlv *t)
{
    const uint8_t *p = t->v, *end = t->v + t->vlen;
    while (p < end) {
        struct tlv set, atv, oid, val;
        if (!want(&p, end, 0x31, &set) || set.vlen == 0)
            return false;
        const uint8_t *q = set.v, *qend = set.v + set.vlen;
        while (q < qend) {
            if (!want(&q, qend, 0x30, &atv))
                return false;
            const uint8_t *r = atv.v, *rend = atv.v + atv.vlen;
            if (!want(&r, rend, 0x06, &oid) || !tlv_next(&r, rend, &val) || r != rend ||
                !string_ok(&val))
                return false;
        }
    }
    return t->tag == 0x30;
}

/* SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING } */
static bool spki_ok(const struct tlv *t)
{
    const uint8_t *p = t->v, *end = t->v + t->vlen;
    struct tlv alg, bits;
    return tlv_next(&p, end, &alg) && alg_ok(&alg) && want(&p, end, 0x03, &bits) &&
           p == end;
}

/* A BIT STRING's content: the unused-bit count, then the bits. */
static bool bits_ok(const struct tlv *t)
{
    return t->vlen >= 1 && t->v[0] <= 7 && (t->vlen > 1 || t->v[0] == 0);
}

/* [3] EXPLICIT Extensions ::= SEQUENCE SIZE (1..MAX) OF
 *     SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
static bool exts_ok(const struct tlv *t)
{
    const uint8_t *p = t->v, *end = t->v + t->vlen;
    struct tlv seq, ext, f;
    if (!want(&p, end, 0x30, &seq) || p != end || seq.vlen == 0)
        return false;
    p = seq.v;
    end = seq.v + seq.vlen;
    while (p < end) {
        if (!want(&p, end, 0x30, &ext))
            return false;
        const uint8_t *q = ext.v, *qend = ext.v + ext.vlen;
        if (!want(&q, qend, 0x06, &f) || !tlv_next(&q, qend, &f))
            return false;
        if (f.tag == 0x01 && !tlv_next(&q, qend, &f))
            return false;
        if (f.tag != 0x04 || q != qend)
            return false;
    }
    return true;
}

static bool is_time(const struct tlv *t)
{
    return t->tag == 0x17 || t->tag == 0x18;    /* UTCTime, GeneralizedTime */
}

int card_cert_split(const uint8_t *der, size_t len, struct card_cert_parts *out)
{
    memset(out, 0, sizeof(*out));
    if (!der || !card_cert_whole(der, len))
        return CARD_E_BAD_RESPONSE;
    const uint8_t *p = der, *end = der + len;
    struct tlv cert, tbs, t, validity;
    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature } */
    if (!want(&p, end, 0x30, &cert))
        return CARD_E_BAD_RESPONSE;
    p = cert.v;
    end = cert.v + cert.vlen;
    if (!want(&p, end, 0x30, &tbs) || !tlv_next(&p, end, &t) || !alg_ok(&t) ||
        !want(&p, end, 0x03, &t) || t.vlen < 1 || t.v[0] > 7 || p != end)
        return CARD_E_BAD_RESPONSE;
    p = tbs.v;
    end = tbs.v + tbs.vlen;
    if (!tlv_next(&p, end, &t))
        return CARD_E_BAD_RESPONSE;
    if (t.tag == 0xA0) {                                /* [0] EXPLICIT version */
        const uint8_t *v = t.v;
        struct tlv ver;
        if (!want(&v, t.v + t.vlen, 0x02, &ver) || v != t.v + t.vlen ||
            !int_minimal(&ver) || !tlv_next(&p, end, &t))
            return CARD_E_BAD_RESPONSE;
    }
    if (t.tag != 0x02 || !int_minimal(&t))
        return CARD_E_BAD_RESPONSE;
    out->serial = t.p;
    out->serial_len = t.len;
    if (!tlv_next(&p, end, &t) || !alg_ok(&t))          /* signature */
        return CARD_E_BAD_RESPONSE;
    if (!tlv_next(&p, end, &t) || !name_ok(&t))
        return CARD_E_BAD_RESPONSE;
    out->issuer = t.p;
    out->issuer_len = t.len;
    if (!want(&p, end, 0x30, &validity))
        return CARD_E_BAD_RESPONSE;
    if (!tlv_next(&p, end, &t) || !name_ok(&t))
        return CARD_E_BAD_RESPONSE;
    out->subject = t.p;
    out->subject_len = t.len;
    if (!want(&p, end, 0x30, &t) || !spki_ok(&t))
        return CARD_E_BAD_RESPONSE;
    out->spki = t.p;
    out->spki_len = t.len;
    /* Then only [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions. */
    uint8_t last = 0;
    while (p < end) {
        if (!tlv_next(&p, end, &t))
            return CARD_E_BAD_RESPONSE;
        uint8_t n = t.tag == 0x81 ? 1 : t.tag == 0x82 ? 2 : t.tag == 0xA3 ? 3 : 0;
        if (n <= last || (n < 3 && !bits_ok(&t)) || (n == 3 && !exts_ok(&t)))
            return CARD_E_BAD_RESPONSE;
        last = n;
    }
    p = validity.v;
    end = validity.v + validity.vlen;
    if (!tlv_next(&p, end, &t) || !is_time(&t))
        return CARD_E_BAD_RESPONSE;
    out->not_before = t.p;
    out->not_before_len = t.len;
    if (!tlv_next(&p, end, &t) || !is_time(&t) || p != end)
        return CARD_E_BAD_RESPONSE;
    out->not_after = t.p;
    out->not_after_len = t.len;
    return CARD_OK;
}

bool card_cert_whole(const uint8_t *der, size_t len)
{
    const uint8_t *p = der;
    struct tlv t;
    return der && tlv_next(&p, der + len, &t) && t.tag == 0x30 && p == der + len &&
           der_valid(t.v, t.v + t.vlen, 0);
}

/* A positive INTEGER's magnitude, without leading zeros. */
static bool uint_of(const struct tlv *t, uint8_t **out, size_t *len)
{
    if (t->tag != 0x02 || !int_minimal(t) || (t->v[0] & 0x80))
        return false;
    const uint8_t *v = t->v;
    size_t n = t->vlen;
    if (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    *out = malloc(n);
    if (!*out)
        return false;
    memcpy(*out, v, n);
    *len = n;
    return true;
}

static const uint8_t oid_rsa[] = { 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01 };
static const uint8_t oid_ec[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01 };
static const uint8_t oid_p256[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };

static bool oid_is(const struct tlv *t, const uint8_t *oid, size_t n)
{
    return t->tag == 0x06 && t->vlen == n && !memcmp(t->v, oid, n);
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static int rsa_key(const struct tlv *bits, struct card_container *k)
{
    const uint8_t *p = bits->v + 1, *end = bits->v + bits->vlen;
    struct tlv seq, n, e;
    if (!want(&p, end, 0x30, &seq) || p != end)
        return CARD_E_BAD_RESPONSE;
    p = seq.v;
    end = seq.v + seq.vlen;
    if (!tlv_next(&p, end, &n) || !tlv_next(&p, end, &e) || p != end)
        return CARD_E_BAD_RESPONSE;
    if (!uint_of(&n, &k->modulus, &k->modulus_len) ||
        !uint_of(&e, &k->exponent, &k->exponent_len))
        return CARD_E_BAD_RESPONSE;
    unsigned top = 0;
    for (uint8_t b = k->modulus[0]; b; b >>= 1)
        top++;
    k->type = CARD_KEY_RSA;
    k->bits = (unsigned)(k->modulus_len - 1) * 8 + top;
    return CARD_OK;
}

/* An uncompressed P-256 point, checked to be on the curve. */
static int ec_key(const struct tlv *bits, struct card_container *k)
{
    const uint8_t *pt = bits->v + 1;
    size_t n = bits->vlen - 1;
    if (n != 65 || pt[0] != 0x04)
        return CARD_E_BAD_RESPONSE;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    bool on = q && EC_POINT_oct2point(g, q, pt, n, NULL) == 1;
    EC_POINT_free(q);
    EC_GROUP_free(g);
    if (!on)
        return CARD_E_BAD_RESPONSE;
    k->ec_point = malloc(n);
    if (!k->ec_point)
        return CARD_E_HOST_MEMORY;
    memcpy(k->ec_point, pt, n);
    k->ec_point_len = n;
    k->type = CARD_KEY_EC_P256;
    k->bits = 256;
    return CARD_OK;
}

int card_cert_pubkey(const uint8_t *der, size_t len, struct card_container *k)
{
    struct card_cert_parts cp;
    int rv = card_cert_split(der, len, &cp);
    if (rv != CARD_OK)
        return rv;
    /* SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING } */
    const uint8_t *p = cp.spki, *end = cp.spki + cp.spki_len;
    struct tlv spki, alg, oid, param, bits;
    if (!want(&p, end, 0x30, &spki))
        return CARD_E_BAD_RESPONSE;
    p = spki.v;
    end = spki.v + spki.vlen;
    if (!tlv_next(&p, end, &alg) || !alg_ok(&alg) || !want(&p, end, 0x03, &bits) ||
        p != end || bits.vlen < 2 || bits.v[0] != 0)
        return CARD_E_BAD_RESPONSE;
    p = alg.v;
    end = alg.v + alg.vlen;
    if (!tlv_next(&p, end, &oid))
        return CARD_E_BAD_RESPONSE;
    bool has_param = p < end;
    if (has_param && (!tlv_next(&p, end, &param) || p != end))
        return CARD_E_BAD_RESPONSE;
    if (oid_is(&oid, oid_rsa, sizeof(oid_rsa)))
        rv = rsa_key(&bits, k);
    else if (oid_is(&oid, oid_ec, sizeof(oid_ec)) && has_param &&
             oid_is(&param, oid_p256, sizeof(oid_p256)))
        rv = ec_key(&bits, k);
    else
        rv = CARD_E_BAD_RESPONSE;
    if (rv == CARD_OK)
        rv = card_container_set_id(k);
    return rv;
}

int card_cert_cn(const uint8_t *der, size_t len, char *out, size_t cap)
{
    struct card_cert_parts cp;
    int rv = card_cert_split(der, len, &cp);
    if (rv != CARD_OK)
        return rv;
    return card_name_cn(cp.subject, cp.subject_len, out, cap);
}

int card_name_cn(const uint8_t *name, size_t len, char *out, size_t cap)
{
    const uint8_t *p = name;
    X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
    if (!n)
        return CARD_E_BAD_RESPONSE;
    out[0] = 0;
    int got = X509_NAME_get_text_by_NID(n, NID_commonName, out, (int)cap);
    X509_NAME_free(n);
    if (got < 0) {
        out[0] = 0;
        return CARD_E_NOT_FOUND;
    }
    return CARD_OK;
}
