/* profile_o.c: the Series 8 card OS (Oberthur IAS-ECC, AWP layout): the
 * command dispatcher, the blank card and the vc_profile table. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "tests/vcard/o_card.h"

static const uint8_t o_atr[] = {
    0x3B, 0xDD, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x80, 0xF9, 0xA0,
    0x00, 0x00, 0x00, 0x77, 0x01, 0x08, 0x00, 0x07, 0x90, 0x00, 0xFE,
};

static const uint8_t awp_aid[] = {
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0xF2, 0x50, 0x4F, 0x54, 0x20, 0x41, 0x57, 0x50 };
static const uint8_t root_aid[] = {
    0xA0, 0x00, 0x00, 0x00, 0x77, 0x01, 0x08, 0x00, 0x07, 0x00, 0x00, 0xFE,
    0x00, 0x00, 0x01, 0x00 };

#define O_DEFAULT_PUK "12345678"

struct o_card *vc_o_alloc(void)
{
    struct o_card *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->chain = malloc(O_CHAIN_MAX);
    if (!c->chain) {
        free(c);
        return NULL;
    }
    c->cur_ef = O_NONE;
    return c;
}

void vc_o_free(void *st)
{
    struct o_card *c = st;
    if (!c)
        return;
    for (int i = 0; i < O_MAX_FILES; i++)
        if (c->files[i].used)
            vc_o_file_drop(c, i);
    for (int i = 0; i < O_KEY_SLOTS; i++)
        EVP_PKEY_free(c->slots[i].key);
    OPENSSL_cleanse(&c->pin, sizeof c->pin);
    OPENSSL_cleanse(&c->puk, sizeof c->puk);
    OPENSSL_cleanse(c->chain, O_CHAIN_MAX);
    free(c->chain);
    if (c->pending)
        OPENSSL_cleanse(c->pending, c->pending_len);
    free(c->pending);
    free(c);
}

static void o_reset(void *st)
{
    struct o_card *c = st;
    c->cur_df = 0;
    c->cur_ef = O_NONE;
    c->pin_ok = c->puk_ok = false;
    c->se_tmpl = 0;
    c->chaining = false;
    c->chain_len = 0;
    if (c->pending)
        OPENSSL_cleanse(c->pending, c->pending_len);
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_off = 0;
}

/* Adds an EF holding n bytes of d (size: max(n, size)). */
static int add_ef(struct o_card *c, uint16_t parent, uint16_t fid,
                  const uint8_t *d, size_t n, size_t size, uint8_t acl)
{
    int i = vc_o_file_add(c, parent, fid, false, size > n ? size : n, acl);
    if (i < 0 || (n && vc_o_file_set(c, i, d, n)))
        return -1;
    return i;
}

static int set_secret(struct o_secret *s, const char *v, size_t min, size_t max,
                      uint8_t tries)
{
    size_t n = strnlen(v, sizeof s->value);
    if (!vc_o_pin_valid(v, n, min, max))
        return -1;
    memcpy(s->value, v, n);
    s->len = (uint8_t)n;
    s->tries = s->max = tries;
    return 0;
}

static int build(struct o_card *c, const struct vc_new *p)
{
    uint8_t sn[10], buf[512];
    size_t n;
    if (p->serial)
        memcpy(sn, p->serial, sizeof sn);
    else if (RAND_bytes(sn, sizeof sn) != 1)
        return -1;
    if (set_secret(&c->pin, p->pin ? p->pin : "", O_PIN_MIN, O_PIN_MAX, O_PIN_TRIES) ||
        set_secret(&c->puk, p->puk ? p->puk : O_DEFAULT_PUK, O_PUK_LEN, O_PUK_LEN,
                   O_PUK_TRIES))
        return -1;
    if (vc_o_file_add(c, O_NONE, O_FID_MF, true, 0, O_ACL_NEVER) != 0)
        return -1;
    memcpy(c->files[0].aid, root_aid, sizeof root_aid);
    c->files[0].aid_len = sizeof root_aid;

    uint8_t snf[12] = { 0x5A, 0x0A };
    memcpy(snf + 2, sn, sizeof sn);
    int i = add_ef(c, 0, 0xD003, snf, sizeof snf, 0, O_ACL_NEVER);
    if (i < 0)
        return -1;
    c->files[i].sfi = 0x1C;
    if (!(n = vc_o_enc_atr(buf, sizeof buf)) || add_ef(c, 0, 0x2F01, buf, n, 0, O_ACL_NEVER) < 0)
        return -1;
    if (!(n = vc_o_enc_dir(buf, sizeof buf)) || add_ef(c, 0, 0x2F00, buf, n, 0, O_ACL_NEVER) < 0)
        return -1;

    int awp = vc_o_file_add(c, 0, O_FID_AWP, true, 0, O_ACL_NEVER);
    if (awp < 0)
        return -1;
    memcpy(c->files[awp].aid, awp_aid, sizeof awp_aid);
    c->files[awp].aid_len = sizeof awp_aid;
    uint16_t a = (uint16_t)awp;
    const char *label = p->holder && *p->holder ? p->holder : "Card holder";
    if (strlen(label) > 64)
        return -1;
    if (!(n = vc_o_enc_odf(buf, sizeof buf)) || add_ef(c, a, 0x5031, buf, n, 0, O_ACL_NEVER) < 0)
        return -1;
    if (!(n = vc_o_enc_tokeninfo(buf, sizeof buf, sn + 2, label)) ||
        add_ef(c, a, 0x5032, buf, n, 0, O_ACL_NEVER) < 0)
        return -1;
    if (add_ef(c, a, O_FID_COUNTER, NULL, 0, 4, O_ACL_NEVER) < 0)
        return -1;
    if (!(n = vc_o_enc_aodf(buf, sizeof buf)) || add_ef(c, a, 0x7001, buf, n, 0, O_ACL_NEVER) < 0)
        return -1;
    static const uint16_t dfs[] = { 0x7002, 0x7003, 0x7004, 0x7005, 0x7006 };
    for (size_t k = 0; k < sizeof dfs / sizeof dfs[0]; k++)
        if (add_ef(c, a, dfs[k], NULL, 0, O_DF_SIZE, O_ACL_PIN) < 0)
            return -1;
    return 0;
}

static void *o_create(const struct vc_new *p)
{
    struct o_card *c = vc_o_alloc();
    if (!c)
        return NULL;
    if (build(c, p)) {
        vc_o_free(c);
        return NULL;
    }
    o_reset(c);
    return c;
}

static size_t sw_only(uint8_t *out, uint16_t sw)
{
    out[0] = (uint8_t)(sw >> 8);
    out[1] = (uint8_t)sw;
    return 2;
}

/* Collects a CLA 10 chain; returns 0 to go on with a->data = the whole
 * data, or the status to answer now. */
static uint16_t chain(struct o_card *c, struct o_apdu *a)
{
    const uint8_t hdr[4] = { (uint8_t)(a->cla & ~0x10), a->ins, a->p1, a->p2 };
    if (a->cla & 0x10) {
        if (c->chaining && memcmp(c->chain_hdr, hdr, 4) != 0)
            c->chain_len = 0;
        if (a->lc > O_CHAIN_MAX - c->chain_len || a->ne) {
            c->chaining = false;
            c->chain_len = 0;
            return SW_WRONG_LEN;
        }
        memcpy(c->chain_hdr, hdr, 4);
        if (a->lc)
            memcpy(c->chain + c->chain_len, a->data, a->lc);
        c->chain_len += a->lc;
        c->chaining = true;
        return SW_OK;
    }
    if (!c->chaining)
        return 0;
    c->chaining = false;
    if (memcmp(c->chain_hdr, hdr, 4) != 0) {
        c->chain_len = 0;
        return SW_CHAIN_LAST;
    }
    if (a->lc > O_CHAIN_MAX - c->chain_len) {
        c->chain_len = 0;
        return SW_WRONG_LEN;
    }
    if (a->lc)
        memcpy(c->chain + c->chain_len, a->data, a->lc);
    a->lc += c->chain_len;
    a->data = c->chain;
    c->chain_len = 0;
    return 0;
}

static size_t o_process(void *st, const uint8_t *apdu, size_t len,
                        uint8_t *out, bool *persist, bool *pin_data)
{
    struct o_card *c = st;
    struct o_apdu a;
    struct o_resp r = { NULL, 0, SW_OK, false };
    *persist = false;
    *pin_data = false;

    uint16_t sw = vc_o_parse(apdu, len, &a);
    if (len >= 2 && (apdu[1] == 0x20 || apdu[1] == 0x24 || apdu[1] == 0x2C))
        *pin_data = true;
    if (sw != SW_OK)
        return sw_only(out, sw);
    if ((a.cla & ~0x10) != 0x00)
        return sw_only(out, SW_BAD_CLA);
    if (a.lc > O_MAX_CMD)
        return sw_only(out, SW_WRONG_LEN);
    if (a.ins == 0xC0 && !(a.cla & 0x10))
        return vc_o_get_response(c, &a, out);
    sw = chain(c, &a);
    if (sw != 0)
        return sw_only(out, sw);

    switch (a.ins) {
    case 0xA4: sw = vc_o_select(c, &a, &r); break;
    case 0xB0: sw = vc_o_read_binary(c, &a, &r); break;
    case 0xD6: sw = vc_o_update_binary(c, &a, persist); break;
    case 0xE0: sw = vc_o_create_file(c, &a, persist); break;
    case 0xE4: sw = vc_o_delete_file(c, &a, persist); break;
    case 0x20: sw = vc_o_verify(c, &a, persist); break;
    case 0x24: sw = vc_o_change(c, &a, persist); break;
    case 0x2C: sw = vc_o_unblock(c, &a, persist); break;
    case 0xCB: sw = vc_o_get_data(c, &a, &r); break;
    case 0xDB: sw = vc_o_put_data(c, &a, persist); break;
    case 0x47: sw = vc_o_generate(c, &a, persist); break;
    case 0x22: sw = vc_o_mse(c, &a); break;
    case 0x2A: sw = vc_o_pso(c, &a, &r); break;
    case 0x88: sw = vc_o_int_auth(c, &a, &r); break;
    case 0x84:
        if (a.p1 || a.p2)
            sw = SW_BAD_P1P2;
        else if (a.lc || a.ne == 0 || a.ne > 256)
            sw = SW_WRONG_LEN;
        else if (!(r.data = malloc(a.ne)) || RAND_bytes(r.data, (int)a.ne) != 1)
            sw = SW_ERROR;
        else
            r.len = a.ne, r.fixed = true;
        break;
    default:   sw = SW_BAD_INS; break;
    }
    if (a.data == c->chain)
        OPENSSL_cleanse(c->chain, a.lc);
    r.sw = sw;
    return vc_o_emit(c, &a, &r, out);
}

const struct vc_profile vc_profile_o = {
    .name = "O",
    .atr = o_atr,
    .atr_len = sizeof o_atr,
    .create = o_create,
    .load = vc_o_load,
    .save = vc_o_save,
    .free = vc_o_free,
    .reset = o_reset,
    .process = o_process,
    .perso_generate = vc_o_generate_perso,
    .perso_install_cert = vc_o_install_cert,
    .damage = vc_o_damage,
};
