/* profile_g.c: profile G's card life cycle (create, load, save, reset)
 * and its key helpers. The APDUs are in profile_g_apdu.c, the object
 * store, personalisation and damage in profile_g_store.c. */
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "tests/vcard/profile_g.h"

static const uint8_t g_atr[] = {
    0x3B, 0xF9, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x4A,
    0x43, 0x4F, 0x50, 0x34, 0x31, 0x56, 0x32, 0x32, 0xAF
};

#define BLOB_VERSION 1

int vc_g_pin_encode(const char *digits, uint8_t out[G_PIN_BLOCK])
{
    size_t n = digits ? strlen(digits) : 0;

    if (n < 6 || n > 16)
        return -1;
    memset(out, 0xFF, G_PIN_BLOCK);
    for (size_t i = 0; i < n; i++) {
        unsigned d;

        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        d = (unsigned)(digits[i] - '0');
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4 | 0x0F);
        else
            out[i / 2] = (uint8_t)((out[i / 2] & 0xF0) | d);
    }
    return 0;
}

EVP_PKEY *vc_g_rsa_generate(unsigned bits)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;

    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1)
        EVP_PKEY_keygen(ctx, &k);   /* public exponent defaults to 65537 */
    EVP_PKEY_CTX_free(ctx);
    return k;
}

size_t vc_g_modulus(EVP_PKEY *k, uint8_t *out, size_t max)
{
    BIGNUM *n = NULL;
    size_t len = 0;

    if (k && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
        (size_t)BN_num_bytes(n) <= max)
        len = (size_t)BN_bn2bin(n, out);
    BN_free(n);
    return len;
}

static void blank_store(struct g_state *s)
{
    size_t p = 2;

    memset(s->ef, 0, sizeof s->ef);
    s->ef[0] = G_HDR >> 8;
    s->ef[1] = G_HDR & 0xFF;
    for (int i = 0; i < G_NKEYS; i++, p += 8) {
        s->ef[p] = 0x01;
        s->ef[p + 1] = 0xF0;
        s->ef[p + 4] = (uint8_t)(G_REF0 + i);
    }
}

static void *g_create(const struct vc_new *p)
{
    /* Plausible JCOP41 CPLC: NXP fabricator, OS id and dates; the card's
     * 10-byte serial goes in bytes 8..17, so bytes 10..17 (the token
     * serial) are its last 8. */
    static const uint8_t cplc0[G_CPLC] = {
        0x47, 0x90, 0x50, 0x40, 0x47, 0x91, 0x81, 0x02, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x12,
        0x71, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00
    };
    struct g_state *s;

    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (vc_g_pin_encode(p->pin, s->pin) != 0) {
        free(s);
        return NULL;
    }
    s->tries = G_TRIES;
    memcpy(s->cplc, cplc0, sizeof cplc0);
    if (p->serial)
        memcpy(s->cplc + 8, p->serial, 10);
    else if (RAND_bytes(s->cplc + 8, 10) != 1) {
        OPENSSL_clear_free(s, sizeof *s);
        return NULL;
    }
    blank_store(s);
    vc_g_reset(s);
    return s;
}

static void g_free(void *st)
{
    struct g_state *s = st;

    if (!s)
        return;
    for (int i = 0; i < G_NKEYS; i++)
        EVP_PKEY_free(s->key[i]);
    OPENSSL_clear_free(s, sizeof *s);
}

void vc_g_reset(void *st)
{
    struct g_state *s = st;

    s->verified = false;
    s->cur = G_CUR_MF;          /* the applet is the default one */
    s->se_sign = s->se_dec = 0;
    OPENSSL_cleanse(s->pend, s->pend_len);
    s->pend_len = s->pend_off = 0;
}

/* Blob: version, PIN block, tries, CPLC, the store, then per reference a
 * 2-byte length and the private key DER (0: no key). */
static int g_save(void *st, uint8_t **buf, size_t *len)
{
    struct g_state *s = st;
    size_t cap = 1 + G_PIN_BLOCK + 1 + G_CPLC + G_EF_SIZE, n = 0;
    uint8_t *b, *der[G_NKEYS] = { 0 };
    int dl[G_NKEYS] = { 0 }, rc = -1;

    for (int i = 0; i < G_NKEYS; i++) {
        if (s->key[i]) {
            dl[i] = i2d_PrivateKey(s->key[i], &der[i]);
            if (dl[i] <= 0 || dl[i] > 0xFFFF)
                goto out;
        }
        cap += 2 + (size_t)dl[i];
    }
    b = malloc(cap);
    if (!b)
        goto out;
    b[n++] = BLOB_VERSION;
    memcpy(b + n, s->pin, G_PIN_BLOCK);
    n += G_PIN_BLOCK;
    b[n++] = s->tries;
    memcpy(b + n, s->cplc, G_CPLC);
    n += G_CPLC;
    memcpy(b + n, s->ef, G_EF_SIZE);
    n += G_EF_SIZE;
    for (int i = 0; i < G_NKEYS; i++) {
        b[n++] = (uint8_t)(dl[i] >> 8);
        b[n++] = (uint8_t)dl[i];
        if (dl[i])
            memcpy(b + n, der[i], (size_t)dl[i]);
        n += (size_t)dl[i];
    }
    *buf = b;
    *len = n;
    rc = 0;
out:
    for (int i = 0; i < G_NKEYS; i++)
        OPENSSL_clear_free(der[i], dl[i] > 0 ? (size_t)dl[i] : 0);
    return rc;
}

static void *g_load(const uint8_t *buf, size_t len)
{
    size_t fixed = 1 + G_PIN_BLOCK + 1 + G_CPLC + G_EF_SIZE, n = 0;
    struct g_state *s;

    if (len < fixed || buf[0] != BLOB_VERSION)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    n = 1;
    memcpy(s->pin, buf + n, G_PIN_BLOCK);
    n += G_PIN_BLOCK;
    s->tries = buf[n++];
    memcpy(s->cplc, buf + n, G_CPLC);
    n += G_CPLC;
    memcpy(s->ef, buf + n, G_EF_SIZE);
    n += G_EF_SIZE;
    if (s->tries > G_TRIES)
        goto bad;
    for (int i = 0; i < G_NKEYS; i++) {
        size_t dl;

        if (len - n < 2)
            goto bad;
        dl = (size_t)buf[n] << 8 | buf[n + 1];
        n += 2;
        if (dl > len - n)
            goto bad;
        if (dl) {
            const uint8_t *p = buf + n;

            s->key[i] = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)dl);
            if (!s->key[i] || p != buf + n + dl)
                goto bad;
        }
        n += dl;
    }
    if (n != len)
        goto bad;
    vc_g_reset(s);
    return s;
bad:
    g_free(s);
    return NULL;
}

const struct vc_profile vc_profile_g = {
    .name = "G",
    .atr = g_atr,
    .atr_len = sizeof g_atr,
    .create = g_create,
    .load = g_load,
    .save = g_save,
    .free = g_free,
    .reset = vc_g_reset,
    .process = vc_g_process,
    .perso_generate = vc_g_perso_generate,
    .perso_install_cert = vc_g_perso_install_cert,
    .damage = vc_g_damage,
    .info = vc_g_info,
};
