/* profile_g_apdu.c: the APDUs of profile G (card/PROFILES.md), short
 * length only. Every malformed command gets an ISO status word. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/profile_g.h"

static const uint8_t g_aid[] = {
    0xA0, 0x00, 0x00, 0x00, 0x18, 0x0A, 0x00, 0x00, 0x01, 0x63, 0x42, 0x00
};
static const uint8_t g_version[8] = { 'G', 'S', 'V', '1', 0x02, 0x01, 0, 0 };

struct apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    bool has_le;
    size_t le;                  /* 1..256 */
};

struct out {
    uint8_t *resp;
    bool *persist;
    bool *pin_data;
};

static size_t sw(uint8_t *resp, unsigned w)
{
    resp[0] = (uint8_t)(w >> 8);
    resp[1] = (uint8_t)w;
    return 2;
}

static size_t sw_at(uint8_t *resp, size_t n, unsigned w)
{
    return n + sw(resp + n, w);
}

static int parse(const uint8_t *a, size_t len, struct apdu *o)
{
    memset(o, 0, sizeof *o);
    o->cla = a[0];
    o->ins = a[1];
    o->p1 = a[2];
    o->p2 = a[3];
    if (len == 4)
        return 0;
    if (len == 5) {
        o->has_le = true;
        o->le = a[4] ? a[4] : 256;
        return 0;
    }
    if (a[4] == 0)              /* extended length: not on this card */
        return -1;
    o->lc = a[4];
    o->data = a + 5;
    if (len == 5 + o->lc)
        return 0;
    if (len == 6 + o->lc) {
        o->has_le = true;
        o->le = a[len - 1] ? a[len - 1] : 256;
        return 0;
    }
    return -1;
}

/* Le absent -> 61 xx (fetched by GET RESPONSE); Le 00 or exact -> the
 * data; a shorter Le -> 6C xx, and so does a longer one for an answer of
 * fixed length. Deciphered data vary in length: a longer Le is a bound. */
static size_t answer_le(struct g_state *s, const struct apdu *c,
                        uint8_t *resp, const uint8_t *data, size_t n,
                        bool fixed)
{
    if (n == 0)
        return sw(resp, 0x9000);
    if (!c->has_le) {
        memcpy(s->pend, data, n);
        s->pend_len = n;
        s->pend_off = 0;
        return sw(resp, 0x6100 | (n & 0xFF));
    }
    if (c->le != 256 && (c->le < n || (fixed && c->le != n)))
        return sw(resp, 0x6C00 | (n & 0xFF));
    memcpy(resp, data, n);
    return sw_at(resp, n, 0x9000);
}

static size_t answer(struct g_state *s, const struct apdu *c, uint8_t *resp,
                     const uint8_t *data, size_t n)
{
    return answer_le(s, c, resp, data, n, true);
}

static bool ref_ok(uint8_t ref)
{
    return ref >= G_REF0 && ref < G_REF0 + G_NKEYS;
}

static EVP_PKEY *key_at(struct g_state *s, uint8_t ref)
{
    return ref_ok(ref) ? s->key[ref - G_REF0] : NULL;
}

static size_t fcp(uint8_t *d, enum g_cur f)
{
    size_t n = 2;

    if (f == G_CUR_EF) {
        static const uint8_t ef[] = { 0x80, 0x02, G_EF_SIZE >> 8,
            G_EF_SIZE & 0xFF, 0x82, 0x01, 0x01, 0x83, 0x02, 0x00, 0x04 };
        memcpy(d + n, ef, sizeof ef);
        n += sizeof ef;
    } else {
        d[n++] = 0x83;
        d[n++] = 0x02;
        d[n++] = f == G_CUR_MF ? 0x3F : 0x16;
        d[n++] = 0x00;
    }
    d[n++] = 0x8A;              /* life cycle: operational, activated */
    d[n++] = 0x01;
    d[n++] = 0x05;
    d[0] = 0x62;
    d[1] = (uint8_t)(n - 2);
    return n;
}

/* A path of file ids from the MF (3F00 optional). */
static int resolve_path(const uint8_t *p, size_t n, enum g_cur *f)
{
    unsigned fid[4];
    size_t k = 0, i = 0;

    if (n % 2 || n > 8)
        return -1;
    for (; i < n / 2; i++)
        fid[i] = (unsigned)p[2 * i] << 8 | p[2 * i + 1];
    if (i > 0 && fid[0] == 0x3F00)
        k = 1;
    if (i - k == 0)
        *f = G_CUR_MF;
    else if (i - k == 1 && fid[k] == 0x1600)
        *f = G_CUR_DF;
    else if (i - k == 2 && fid[k] == 0x1600 && fid[k + 1] == 0x0004)
        *f = G_CUR_EF;
    else
        return -1;
    return 0;
}

static size_t cmd_select(struct g_state *s, const struct apdu *c, uint8_t *r)
{
    uint8_t d[32];
    enum g_cur f;

    if (c->p2 != 0x00 && c->p2 != 0x04 && c->p2 != 0x0C)
        return sw(r, 0x6A86);
    switch (c->p1) {
    case 0x04:
        if (c->lc < 5 || c->lc > sizeof g_aid ||
            memcmp(c->data, g_aid, c->lc) != 0)
            return sw(r, 0x6A82);
        s->cur = G_CUR_MF;
        return sw(r, 0x9000);
    case 0x08:
        if (c->lc == 0 || c->lc % 2)
            return sw(r, 0x6700);
        if (resolve_path(c->data, c->lc, &f) != 0)
            return sw(r, 0x6A82);
        break;
    case 0x00:
    case 0x02: {
        unsigned fid;

        if (c->lc == 0 && c->p1 == 0x00) {
            f = G_CUR_MF;
            break;
        }
        if (c->lc != 2)
            return sw(r, 0x6700);
        fid = (unsigned)c->data[0] << 8 | c->data[1];
        if (fid == 0x3F00)
            f = G_CUR_MF;
        else if (fid == 0x1600)
            f = G_CUR_DF;
        else if (fid == 0x0004 && s->cur != G_CUR_MF)
            f = G_CUR_EF;
        else
            return sw(r, 0x6A82);
        break;
    }
    default:
        return sw(r, 0x6A86);
    }
    s->cur = f;
    if (c->p2 == 0x0C)
        return sw(r, 0x9000);
    return answer(s, c, r, d, fcp(d, f));
}

static size_t cmd_read(struct g_state *s, const struct apdu *c, uint8_t *r)
{
    size_t off = (size_t)c->p1 << 8 | c->p2, n;

    if (c->p1 & 0x80)           /* short file identifiers: not supported */
        return sw(r, 0x6A86);
    if (c->lc || !c->has_le)
        return sw(r, 0x6700);
    if (s->cur != G_CUR_EF)
        return sw(r, 0x6986);
    if (off >= G_EF_SIZE)
        return sw(r, 0x6B00);
    n = G_EF_SIZE - off < c->le ? G_EF_SIZE - off : c->le;
    memcpy(r, s->ef + off, n);
    return sw_at(r, n, n < c->le ? 0x6282 : 0x9000);
}

static size_t cmd_update(struct g_state *s, const struct apdu *c,
                         struct out *o)
{
    size_t off = (size_t)c->p1 << 8 | c->p2;

    if (c->p1 & 0x80)
        return sw(o->resp, 0x6A86);
    if (c->lc == 0 || c->has_le)
        return sw(o->resp, 0x6700);
    if (s->cur != G_CUR_EF)
        return sw(o->resp, 0x6986);
    if (!s->verified)
        return sw(o->resp, 0x6982);
    if (off >= G_EF_SIZE)
        return sw(o->resp, 0x6B00);
    if (c->lc > G_EF_SIZE - off)
        return sw(o->resp, 0x6A84);
    memcpy(s->ef + off, c->data, c->lc);
    *o->persist = true;
    return sw(o->resp, 0x9000);
}

static size_t cmd_get_data(struct g_state *s, const struct apdu *c,
                           uint8_t *r)
{
    uint8_t d[3 + G_CPLC];

    if (c->lc)
        return sw(r, 0x6700);
    if (c->p1 == 0xDF && c->p2 == 0x03)
        return answer(s, c, r, g_version, sizeof g_version);
    if (c->p1 == 0x9F && c->p2 == 0x7F) {
        d[0] = 0x9F;
        d[1] = 0x7F;
        d[2] = G_CPLC;
        memcpy(d + 3, s->cplc, G_CPLC);
        return answer(s, c, r, d, sizeof d);
    }
    return sw(r, 0x6A88);
}

/* A wrong PIN costs a try, and the new count is written before the
 * answer leaves the card. */
static size_t pin_check(struct g_state *s, const uint8_t *blk, struct out *o)
{
    *o->persist = true;
    vc_clock_pin();
    if (CRYPTO_memcmp(blk, s->pin, G_PIN_BLOCK) != 0) {
        s->tries--;
        s->verified = false;
        return sw(o->resp, 0x63C0 | s->tries);
    }
    if (s->tries == G_TRIES)
        *o->persist = false;
    s->tries = G_TRIES;
    s->verified = true;
    return sw(o->resp, 0x9000);
}

static size_t cmd_verify(struct g_state *s, const struct apdu *c,
                         struct out *o)
{
    if (c->p1 != 0x00 || c->p2 != 0x01)
        return sw(o->resp, 0x6A86);
    if (c->has_le)
        return sw(o->resp, 0x6700);
    if (c->lc == 0) {
        if (s->tries == 0)
            return sw(o->resp, 0x6983);
        return sw(o->resp, s->verified ? 0x9000 : 0x63C0 | s->tries);
    }
    *o->pin_data = true;
    if (c->lc != G_PIN_BLOCK)
        return sw(o->resp, 0x6700);
    if (s->tries == 0)
        return sw(o->resp, 0x6983);
    return pin_check(s, c->data, o);
}

/* A PIN block as the card stores it: 6 to 16 BCD digits, then F nibbles. */
static bool pin_block_ok(const uint8_t *b)
{
    size_t digits = 0;
    bool pad = false;

    for (size_t i = 0; i < 2 * G_PIN_BLOCK; i++) {
        unsigned nib = i % 2 ? b[i / 2] & 0x0F : b[i / 2] >> 4;

        if (nib == 0xF)
            pad = true;
        else if (nib > 9 || pad)
            return false;
        else
            digits++;
    }
    return digits >= 6;
}

static size_t cmd_change(struct g_state *s, const struct apdu *c,
                         struct out *o)
{
    size_t rl;

    if (c->p1 != 0x00 || c->p2 != 0x01)
        return sw(o->resp, 0x6A86);
    if (c->lc != 2 * G_PIN_BLOCK || c->has_le)
        return sw(o->resp, 0x6700);
    if (s->tries == 0)
        return sw(o->resp, 0x6983);
    if (!pin_block_ok(c->data + G_PIN_BLOCK))
        return sw(o->resp, 0x6A80);
    rl = pin_check(s, c->data, o);
    if (o->resp[0] == 0x90) {
        memcpy(s->pin, c->data + G_PIN_BLOCK, G_PIN_BLOCK);
        *o->persist = true;
    }
    return rl;
}

static size_t cmd_mse(struct g_state *s, const struct apdu *c, uint8_t *r)
{
    uint8_t ref = 0;
    size_t i = 0;

    if (c->p1 != 0x41 || (c->p2 != 0xB6 && c->p2 != 0xB8))
        return sw(r, 0x6A86);
    if (c->lc == 0 || c->has_le)
        return sw(r, 0x6700);
    while (i < c->lc) {
        uint8_t tag, l;

        if (c->lc - i < 2)
            return sw(r, 0x6A80);
        tag = c->data[i];
        l = c->data[i + 1];
        if (l > c->lc - i - 2)
            return sw(r, 0x6A80);
        if (tag == 0x84 && l == 1)
            ref = c->data[i + 2];
        else if (tag != 0x80 || l != 1)
            return sw(r, 0x6A80);
        i += 2 + l;
    }
    if (!ref)
        return sw(r, 0x6A80);
    if (!key_at(s, ref))
        return sw(r, 0x6A88);
    if (c->p2 == 0xB6)
        s->se_sign = ref;
    else
        s->se_dec = ref;
    return sw(r, 0x9000);
}

static size_t rsa_op(struct g_state *s, const struct apdu *c, uint8_t *r,
                     EVP_PKEY *k, bool sign, const uint8_t *in, size_t inlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
    uint8_t out[512];
    size_t outlen = sizeof out, rl;
    int ok = 0;

    vc_clock_key_op(k);
    if (ctx && (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_decrypt_init(ctx))
        == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1)
        ok = sign ? EVP_PKEY_sign(ctx, out, &outlen, in, inlen)
                  : EVP_PKEY_decrypt(ctx, out, &outlen, in, inlen);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1)
        return sw(r, sign ? 0x6F00 : 0x6A80);
    rl = answer_le(s, c, r, out, outlen, sign);
    OPENSSL_cleanse(out, sizeof out);
    return rl;
}

static size_t cmd_pso(struct g_state *s, const struct apdu *c, uint8_t *r)
{
    bool sign = c->p1 == 0x9E && c->p2 == 0xAC;
    EVP_PKEY *k;

    if (!sign && !(c->p1 == 0x80 && c->p2 == 0x84))
        return sw(r, 0x6A86);
    if (c->lc == 0)
        return sw(r, 0x6700);
    if (!s->verified)
        return sw(r, 0x6982);
    if (!(sign ? s->se_sign : s->se_dec))
        return sw(r, 0x6985);
    k = key_at(s, sign ? s->se_sign : s->se_dec);
    if (!k)
        return sw(r, 0x6A88);
    if (sign) {
        if (c->lc < 2 || c->data[0] != 0x90 || c->data[1] != c->lc - 2)
            return sw(r, 0x6A80);
        if (c->data[1] > 36)
            return sw(r, 0x6700);
        return rsa_op(s, c, r, k, true, c->data + 2, c->data[1]);
    }
    if (c->lc != (size_t)EVP_PKEY_get_size(k))
        return sw(r, 0x6700);
    return rsa_op(s, c, r, k, false, c->data, c->lc);
}

static size_t cmd_keygen(struct g_state *s, const struct apdu *c,
                         struct out *o)
{
    uint8_t n[512];
    unsigned bits;
    EVP_PKEY **slot;

    if (c->p1 > 0x01 || !ref_ok(c->p2))
        return sw(o->resp, 0x6A86);
    slot = &s->key[c->p2 - G_REF0];
    if (c->p1 == 0x01) {        /* read the public key */
        if (c->lc)
            return sw(o->resp, 0x6700);
        if (!*slot)
            return sw(o->resp, 0x6A88);
        return answer(s, c, o->resp, n, vc_g_modulus(*slot, n, sizeof n));
    }
    if (c->lc != 4)
        return sw(o->resp, 0x6700);
    if (!s->verified)
        return sw(o->resp, 0x6982);
    bits = (unsigned)c->data[2] << 8 | c->data[3];
    if (c->data[0] != 0x91 || c->data[1] != 0x02 ||
        (bits != 1024 && bits != 2048))
        return sw(o->resp, 0x6A80);
    if (*slot)
        return sw(o->resp, 0x6A89);
    *slot = vc_g_rsa_generate(bits);
    if (!*slot)
        return sw(o->resp, 0x6F00);
    vc_clock_key_gen(*slot);
    *o->persist = true;
    return answer(s, c, o->resp, n, vc_g_modulus(*slot, n, sizeof n));
}

static size_t cmd_delete(struct g_state *s, const struct apdu *c,
                         struct out *o)
{
    EVP_PKEY **slot;

    if (c->p1 != 0x00 || !ref_ok(c->p2))
        return sw(o->resp, 0x6A86);
    if (c->lc || c->has_le)
        return sw(o->resp, 0x6700);
    if (!s->verified)
        return sw(o->resp, 0x6982);
    slot = &s->key[c->p2 - G_REF0];
    if (!*slot)
        return sw(o->resp, 0x6A88);
    EVP_PKEY_free(*slot);
    *slot = NULL;
    if (s->se_sign == c->p2)
        s->se_sign = 0;
    if (s->se_dec == c->p2)
        s->se_dec = 0;
    *o->persist = true;
    return sw(o->resp, 0x9000);
}

static size_t cmd_get_response(struct g_state *s, const struct apdu *c,
                               uint8_t *r)
{
    size_t left = s->pend_len - s->pend_off, n;

    if (c->p1 || c->p2)
        return sw(r, 0x6A86);
    if (c->lc || !c->has_le)
        return sw(r, 0x6700);
    if (left == 0)
        return sw(r, 0x6985);
    n = c->le < left ? c->le : left;
    memcpy(r, s->pend + s->pend_off, n);
    s->pend_off += n;
    left -= n;
    if (left)
        return sw_at(r, n, 0x6100 | (left > 255 ? 0 : left));
    return sw_at(r, n, 0x9000);
}

/* Which class byte each instruction takes: ISO ones 00, GemSAFE's
 * proprietary ones 80. */
static int ins_class(uint8_t ins)
{
    switch (ins) {
    case 0xA4: case 0xB0: case 0xD6: case 0x20: case 0x24: case 0x22:
    case 0xC0:
        return 0x00;
    case 0xCA: case 0x2A: case 0x46: case 0xE4:
        return 0x80;
    default:
        return -1;
    }
}

size_t vc_g_process(void *st, const uint8_t *a, size_t len, uint8_t *resp,
                 bool *persist, bool *pin_data)
{
    struct g_state *s = st;
    struct out o = { resp, persist, pin_data };
    struct apdu c;
    bool keep_pending = false;
    size_t rl;
    int cls;

    *persist = false;
    /* Mask VERIFY / CHANGE / RESET RETRY data even when malformed. */
    *pin_data = len > 5 && (a[1] == 0x20 || a[1] == 0x24 || a[1] == 0x2C);
    if (len < 4)
        rl = sw(resp, 0x6700);
    else if (a[0] & 0x10)
        rl = sw(resp, 0x6884);
    else if (a[0] != 0x00 && a[0] != 0x80)
        rl = sw(resp, 0x6E00);
    else if ((cls = ins_class(a[1])) < 0)
        rl = sw(resp, 0x6D00);
    else if (cls != a[0])
        rl = sw(resp, 0x6E00);
    else if (parse(a, len, &c) != 0)
        rl = sw(resp, 0x6700);
    else {
        keep_pending = c.ins == 0xC0;
        if (!keep_pending) {
            OPENSSL_cleanse(s->pend, s->pend_len);
            s->pend_len = s->pend_off = 0;
        }
        switch (c.ins) {
        case 0xA4: rl = cmd_select(s, &c, resp); break;
        case 0xB0: rl = cmd_read(s, &c, resp); break;
        case 0xD6: rl = cmd_update(s, &c, &o); break;
        case 0xCA: rl = cmd_get_data(s, &c, resp); break;
        case 0x20: rl = cmd_verify(s, &c, &o); break;
        case 0x24: rl = cmd_change(s, &c, &o); break;
        case 0x22: rl = cmd_mse(s, &c, resp); break;
        case 0x2A: rl = cmd_pso(s, &c, resp); break;
        case 0x46: rl = cmd_keygen(s, &c, &o); break;
        case 0xE4: rl = cmd_delete(s, &c, &o); break;
        default:   rl = cmd_get_response(s, &c, resp); break;
        }
    }
    /* Pending data survives only until the next command. */
    if (!keep_pending && resp[rl - 2] != 0x61) {
        OPENSSL_cleanse(s->pend, s->pend_len);
        s->pend_len = s->pend_off = 0;
    }
    return rl;
}
