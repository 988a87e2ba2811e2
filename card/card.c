/* card.c: one card in one reader: connect, match a driver, transactions
 * with reset recovery, and the op wrappers. */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "card/card_int.h"

/* Match order. The two ATRs cannot overlap; a card matching neither is
 * still offered to each driver, which claims it by selecting its applet. */
static const struct card_driver *const drivers[] = {
    &card_driver_g,
    &card_driver_o,
};

static const char *const rv_names[] = {
    [CARD_OK] = "CARD_OK",
    [CARD_E_NO_CARD] = "CARD_E_NO_CARD",
    [CARD_E_REMOVED] = "CARD_E_REMOVED",
    [CARD_E_COMM] = "CARD_E_COMM",
    [CARD_E_MUTE] = "CARD_E_MUTE",
    [CARD_E_UNSUPPORTED] = "CARD_E_UNSUPPORTED",
    [CARD_E_PIN_INCORRECT] = "CARD_E_PIN_INCORRECT",
    [CARD_E_PIN_LOCKED] = "CARD_E_PIN_LOCKED",
    [CARD_E_PIN_LEN] = "CARD_E_PIN_LEN",
    [CARD_E_SECURITY] = "CARD_E_SECURITY",
    [CARD_E_NOT_FOUND] = "CARD_E_NOT_FOUND",
    [CARD_E_CARD_FULL] = "CARD_E_CARD_FULL",
    [CARD_E_BAD_RESPONSE] = "CARD_E_BAD_RESPONSE",
    [CARD_E_UNEXPECTED_SW] = "CARD_E_UNEXPECTED_SW",
    [CARD_E_ARGS] = "CARD_E_ARGS",
    [CARD_E_HOST_MEMORY] = "CARD_E_HOST_MEMORY",
};

const char *card_rv_name(enum card_rv rv)
{
    if ((unsigned)rv < sizeof(rv_names) / sizeof(rv_names[0]) && rv_names[rv])
        return rv_names[rv];
    return "CARD_E_UNKNOWN";
}

void card_container_clear(struct card_container *k)
{
    if (!k)
        return;
    free(k->modulus);
    free(k->exponent);
    free(k->ec_point);
    free(k->cert);
    memset(k, 0, sizeof(*k));
}

void card_objects_clear(struct card_objects *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        card_container_clear(&o->c[i]);
    free(o->c);
    o->c = NULL;
    o->n = 0;
}

void card_hex(const uint8_t *in, size_t n, char *out)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = 0;
}

int card_container_set_id(struct card_container *k)
{
    const uint8_t *p;
    size_t n;
    if (k->type == CARD_KEY_EC_P256) {
        p = k->ec_point;
        n = k->ec_point_len;
    } else {
        p = k->modulus;
        n = k->modulus_len;
        while (n > 1 && p && *p == 0) {     /* unsigned, no leading zeros */
            p++;
            n--;
        }
    }
    if (!p || !n)
        return CARD_E_BAD_RESPONSE;
    SHA1(p, n, k->id);
    k->id_len = SHA_DIGEST_LENGTH;
    return CARD_OK;
}

/* Transactions: what this handle had selected is unknown outside one. */
static LONG tx_begin(struct card *c, bool wait_long)
{
    c->sel = CARD_SEL_NONE;
    c->free_known = false;
    return card_io_begin(c->io, wait_long);
}

static void tx_end(struct card *c)
{
    c->sel = CARD_SEL_NONE;
    c->free_known = false;
    card_io_end(c->io);
}

static int read_atr(struct card *c)
{
    size_t alen = CARD_ATR_MAX;
    LONG rv = card_io_status(c->io, NULL, NULL, c->atr, &alen);
    if (rv != SCARD_S_SUCCESS)
        return card_pcsc_rv(c, rv);
    c->atr_len = alen;
    return CARD_OK;
}

static void reset_transport(struct card *c)
{
    c->max_send = 255;
    c->max_recv = 256;
    c->ext_len = false;
    c->chaining = false;
}

static int try_driver(struct card *c, const struct card_driver *d)
{
    reset_transport(c);
    memset(&c->info, 0, sizeof(c->info));
    c->drv = d;
    int rv = d->init(c, &c->info);
    if (rv != CARD_OK)
        c->drv = NULL;
    return rv;
}

int card_open(struct card_ctx *ctx, const char *reader, struct card **out)
{
    if (!ctx || !reader || !out || strlen(reader) >= CARD_READER_MAX)
        return CARD_E_ARGS;
    *out = NULL;
    struct card *c = calloc(1, sizeof(*c));
    if (!c)
        return CARD_E_HOST_MEMORY;
    strcpy(c->reader, reader);
    /* A context of its own: a card that stops answering holds only it. */
    int rv = card_io_new(ctx->ops, &c->io);
    if (rv != CARD_OK) {
        free(c);
        return rv;
    }
    LONG prv = card_io_connect(c->io, reader, &c->proto);
    if (prv != SCARD_S_SUCCESS) {
        card_io_free(c->io);
        free(c);
        return prv == SCARD_E_NO_SMARTCARD || prv == SCARD_W_REMOVED_CARD
                   ? CARD_E_NO_CARD : card_pcsc_rv(NULL, prv);
    }
    rv = read_atr(c);
    if (rv != CARD_OK)
        goto fail;
    /* Opening a card is what a host's poll may do: it waits no longer than
     * the card timeout for another transaction to end. */
    prv = tx_begin(c, false);
    if (prv != SCARD_S_SUCCESS) {
        rv = card_pcsc_rv(c, prv);
        goto fail;
    }
    rv = CARD_E_UNSUPPORTED;
    /* The drivers whose ATR matches; only when none does, every driver
     * by selecting its applet. */
    bool any_atr = false;
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (drivers[i]->match_atr && drivers[i]->match_atr(c->atr, c->atr_len))
            any_atr = true;
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
        const struct card_driver *d = drivers[i];
        bool atr = d->match_atr && d->match_atr(c->atr, c->atr_len);
        if (any_atr && !atr)
            continue;
        int r = try_driver(c, d);
        if (r == CARD_OK) {
            rv = CARD_OK;
            break;
        }
        /* A transport failure ends the search; a refusal tries the next. */
        if (r == CARD_E_COMM || r == CARD_E_MUTE || r == CARD_E_REMOVED ||
            r == CARD_E_NO_CARD || r == CARD_E_HOST_MEMORY) {
            rv = r;
            break;
        }
        /* A driver whose ATR matched speaks for the card's failure. */
        if (atr)
            rv = r == CARD_E_NOT_FOUND ? CARD_E_UNSUPPORTED : r;
    }
    tx_end(c);
    if (rv != CARD_OK)
        goto fail;
    c->lost = c->lost_reported = false;
    *out = c;
    return CARD_OK;
fail:
    card_io_free(c->io);
    free(c);
    return rv;
}

void card_close(struct card *c)
{
    if (!c)
        return;
    card_io_free(c->io);
    card_secure_zero(c, sizeof(*c));
    free(c);
}

bool card_stuck(const struct card *c)
{
    return c && card_io_stuck(c->io);
}

const struct card_driver *card_get_driver(const struct card *c)
{
    return c ? c->drv : NULL;
}

const struct card_info *card_get_info(const struct card *c)
{
    return c ? &c->info : NULL;
}

/* After a reset or removal: the same handle again, the applet selected
 * again, and the state the card dropped dropped here too. */
static int recover(struct card *c)
{
    DWORD proto = 0;
    LONG prv = card_io_reconnect(c->io, SCARD_LEAVE_CARD, &proto);
    if (prv == SCARD_E_NO_SMARTCARD || prv == SCARD_W_REMOVED_CARD)
        return CARD_E_NO_CARD;
    if (prv != SCARD_S_SUCCESS)
        return card_pcsc_rv(NULL, prv);
    c->proto = proto;
    prv = tx_begin(c, true);
    if (prv != SCARD_S_SUCCESS)
        return card_pcsc_rv(NULL, prv);
    c->lost = false;
    int rv = read_atr(c);
    if (rv == CARD_OK) {
        reset_transport(c);
        struct card_info info = { 0 };
        rv = c->drv->init(c, &info);
        if (rv == CARD_OK)
            c->info = info;
    }
    if (rv != CARD_OK) {
        tx_end(c);
        c->lost = true;
        return rv;
    }
    return CARD_OK;
}

int card_reset_logout(struct card *c)
{
    tx_end(c);
    DWORD proto = 0;
    LONG prv = card_io_reconnect(c->io, SCARD_RESET_CARD, &proto);
    if (prv == SCARD_S_SUCCESS) {
        c->proto = proto;
        prv = tx_begin(c, true);
    }
    if (prv != SCARD_S_SUCCESS) {
        c->lost = true;
        c->lost_reported = false;
        return card_pcsc_rv(NULL, prv);
    }
    reset_transport(c);
    struct card_info info = { 0 };
    int rv = c->drv->init(c, &info);
    if (rv == CARD_OK) {
        c->info = info;
    } else {
        c->lost = true;         /* the next begin tries again */
        c->lost_reported = false;
    }
    return rv;
}

int card_begin(struct card *c)
{
    if (!c || !c->drv)
        return CARD_E_ARGS;
    if (card_io_interrupted(c->io) && !c->lost) {
        /* A command was cut off: as after a reset, the applet again. */
        c->lost = true;
        c->lost_reported = false;
    }
    if (!c->lost) {
        LONG prv = tx_begin(c, true);
        if (prv == SCARD_S_SUCCESS)
            return CARD_OK;
        if (prv != SCARD_W_RESET_CARD && prv != SCARD_W_REMOVED_CARD &&
            prv != SCARD_E_NO_SMARTCARD)
            return card_pcsc_rv(NULL, prv);
        c->lost = true;
        c->lost_reported = false;
    }
    int rv = recover(c);
    if (rv == CARD_E_NO_CARD || rv == CARD_E_COMM || rv == CARD_E_MUTE ||
        rv == CARD_E_HOST_MEMORY)
        return rv;
    if (rv != CARD_OK) {
        /* A card is there but not the one we had (or not one we speak
         * with any more): for the caller, ours was removed. */
        c->lost_reported = true;
        return CARD_E_REMOVED;
    }
    if (c->lost_reported)
        return CARD_OK;         /* already told by the command that saw it */
    /* Report it once, outside a transaction: the caller will not end it. */
    c->lost_reported = true;
    tx_end(c);
    return CARD_E_REMOVED;
}

void card_end(struct card *c)
{
    /* Even after a reset was seen: a stale transaction must not linger. */
    if (c)
        tx_end(c);
}

#define CALL(c, op, ...)                                        \
    do {                                                        \
        if (!(c) || !(c)->drv)                                  \
            return CARD_E_ARGS;                                 \
        if (!(c)->drv->op)                                      \
            return CARD_E_UNSUPPORTED;                          \
        return (c)->drv->op((c), ##__VA_ARGS__);                \
    } while (0)

void card_forget_probes(struct card *c)
{
    if (c)
        c->empty_refs = c->key_refs = 0;
}

int card_change_counter(struct card *c, uint64_t *counter)
{
    if (!counter)
        return CARD_E_ARGS;
    CALL(c, change_counter, counter);
}

int card_read_objects(struct card *c, struct card_objects *out)
{
    return card_read_objects_ex(c, out, CARD_READ_PENDING, NULL, NULL);
}

int card_read_objects_ex(struct card *c, struct card_objects *out, unsigned flags,
                         uint64_t *counter, bool *counted)
{
    if (!out)
        return CARD_E_ARGS;
    out->c = NULL;
    out->n = 0;
    if (counted)
        *counted = false;
    CALL(c, read_objects, out, flags, counter, counted);
}

bool card_lazy_pending(const struct card *c)
{
    return c && c->drv && c->drv->find_pending;
}

int card_find_pending(struct card *c, struct card_objects *out)
{
    if (!out)
        return CARD_E_ARGS;
    out->c = NULL;
    out->n = 0;
    CALL(c, find_pending, out);
}

int card_pin_status(struct card *c, int *tries_left)
{
    if (!tries_left)
        return CARD_E_ARGS;
    CALL(c, pin_status, tries_left);
}

int card_pin_verify(struct card *c, const char *pin, size_t len)
{
    if (!pin)
        return CARD_E_ARGS;
    CALL(c, pin_verify, pin, len);
}

int card_pin_change(struct card *c, const char *old, size_t oldlen,
                    const char *neu, size_t newlen)
{
    if (!old || !neu)
        return CARD_E_ARGS;
    CALL(c, pin_change, old, oldlen, neu, newlen);
}

int card_pin_unblock(struct card *c, const char *puk, size_t puklen,
                     const char *neu, size_t newlen)
{
    if (!puk || !neu)
        return CARD_E_ARGS;
    CALL(c, pin_unblock, puk, puklen, neu, newlen);
}

int card_logout(struct card *c)
{
    CALL(c, logout);
}

int card_sign(struct card *c, const struct card_container *k, enum card_sign_alg alg,
              const uint8_t *in, size_t inlen, uint8_t *sig, size_t *siglen)
{
    if (!k || !in || !sig || !siglen)
        return CARD_E_ARGS;
    CALL(c, sign, k, alg, in, inlen, sig, siglen);
}

int card_decrypt(struct card *c, const struct card_container *k,
                 const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
    if (!k || !in || !out || !outlen)
        return CARD_E_ARGS;
    CALL(c, decrypt, k, in, inlen, out, outlen);
}

int card_generate_key(struct card *c, enum card_key_type type, unsigned bits,
                      struct card_container *out)
{
    if (!out)
        return CARD_E_ARGS;
    memset(out, 0, sizeof(*out));
    CALL(c, generate_key, type, bits, out);
}

int card_write_cert(struct card *c, const uint8_t *id, size_t idlen,
                    const uint8_t *der, size_t len, const char *label)
{
    if (!id || !der || !len)
        return CARD_E_ARGS;
    CALL(c, write_cert, id, idlen, der, len, label);
}

int card_delete_cert(struct card *c, const uint8_t *id, size_t idlen)
{
    if (!id)
        return CARD_E_ARGS;
    CALL(c, delete_cert, id, idlen);
}

int card_delete_key(struct card *c, const uint8_t *id, size_t idlen)
{
    if (!id)
        return CARD_E_ARGS;
    CALL(c, delete_key, id, idlen);
}
