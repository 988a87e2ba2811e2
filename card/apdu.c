/* apdu.c: command APDUs on the wire (ISO 7816-4): short or extended
 * length, command chaining, 61xx/6Cxx handling, and the one status word
 * table. */
#include <stdlib.h>
#include <string.h>

#include "card/card_int.h"

#define RAW_MAX (65536 + 2)
#define CMD_MAX (7 + 65535 + 2)
/* A card that keeps answering 61xx is broken, not generous. */
#define GET_RESPONSE_MAX 64

static const struct sw_map {
    uint16_t sw, mask;
    int rv;
} sw_table[] = {
    { 0x9000, 0xFFFF, CARD_OK },
    { 0x63C0, 0xFFFF, CARD_E_PIN_LOCKED },      /* no tries left */
    { 0x63C0, 0xFFF0, CARD_E_PIN_INCORRECT },
    { 0x6983, 0xFFFF, CARD_E_PIN_LOCKED },
    { 0x6984, 0xFFFF, CARD_E_PIN_LOCKED },
    { 0x6982, 0xFFFF, CARD_E_SECURITY },
    { 0x6A82, 0xFFFF, CARD_E_NOT_FOUND },
    { 0x6A83, 0xFFFF, CARD_E_NOT_FOUND },
    { 0x6A88, 0xFFFF, CARD_E_NOT_FOUND },
    { 0x6A84, 0xFFFF, CARD_E_CARD_FULL },
    { 0x6A81, 0xFFFF, CARD_E_UNSUPPORTED },
    { 0x6D00, 0xFFFF, CARD_E_UNSUPPORTED },
    { 0x6E00, 0xFFFF, CARD_E_UNSUPPORTED },
    { 0x6884, 0xFFFF, CARD_E_UNSUPPORTED },     /* chaining not supported */
    { 0x6700, 0xFFFF, CARD_E_ARGS },            /* wrong length: our input */
    { 0x6A80, 0xFFFF, CARD_E_ARGS },
};

int card_sw_to_rv(uint16_t sw)
{
    for (size_t i = 0; i < sizeof(sw_table) / sizeof(sw_table[0]); i++)
        if ((sw & sw_table[i].mask) == sw_table[i].sw)
            return sw_table[i].rv;
    return CARD_E_UNEXPECTED_SW;
}

/* Encodes one APDU; returns its length, 0 when it cannot be encoded. */
static size_t encode(uint8_t *out, uint8_t cla, const struct card_apdu *a,
                     const uint8_t *data, size_t lc, bool le_present, size_t le,
                     bool ext)
{
    size_t n = 0;
    out[n++] = cla;
    out[n++] = a->ins;
    out[n++] = a->p1;
    out[n++] = a->p2;
    if (!ext) {
        if (lc > 255 || le > 256)
            return 0;
        if (lc) {
            out[n++] = (uint8_t)lc;
            memcpy(out + n, data, lc);
            n += lc;
        }
        if (le_present)
            out[n++] = (uint8_t)(le == 256 ? 0 : le);
        return n;
    }
    if (lc > 65535 || le > 65536)
        return 0;
    out[n++] = 0;
    if (lc) {
        out[n++] = (uint8_t)(lc >> 8);
        out[n++] = (uint8_t)lc;
        memcpy(out + n, data, lc);
        n += lc;
    }
    if (le_present) {
        out[n++] = (uint8_t)((le == 65536 ? 0 : le) >> 8);
        out[n++] = (uint8_t)(le == 65536 ? 0 : le);
    }
    return n;
}

/* PERFORM SECURITY OPERATION: DECIPHER (P1 80: plain data out). */
static bool deciphers(const uint8_t *cmd, size_t len)
{
    return len >= 4 && cmd[1] == 0x2A && cmd[2] == 0x80;
}

/* Sends one encoded APDU and collects its answer across 61xx and 6Cxx.
 * A decipher's answer is masked in the trace in every part, the GET
 * RESPONSE continuations included. */
static int exchange(struct card *c, uint8_t *cmd, size_t cmd_len, bool short_le,
                    uint8_t *acc, size_t *acc_len, uint16_t *sw)
{
    const bool secret = deciphers(cmd, cmd_len);
    uint8_t *raw = malloc(RAW_MAX);
    size_t have = 0;
    int rv = CARD_E_HOST_MEMORY;
    if (!raw)
        return rv;
    bool resent = false;
    size_t seen = 0;        /* how much of raw to wipe: it may hold secrets */
    for (int round = 0;; round++) {
        size_t rlen = RAW_MAX;
        rv = card_transmit_raw(c, cmd, cmd_len, raw, &rlen, secret);
        if (rv != CARD_OK)
            goto out;
        if (rlen > seen)
            seen = rlen;
        uint8_t sw1 = raw[rlen - 2], sw2 = raw[rlen - 1];
        if (sw1 == 0x6C && short_le && !resent) {
            /* Wrong Le: the card says the right one; send it again. */
            cmd[cmd_len - 1] = sw2;
            resent = true;
            continue;
        }
        if (have + rlen - 2 > *acc_len) {
            rv = CARD_E_BAD_RESPONSE;
            goto out;
        }
        memcpy(acc + have, raw, rlen - 2);
        have += rlen - 2;
        if (sw1 == 0x61) {
            if (round >= GET_RESPONSE_MAX) {
                rv = CARD_E_BAD_RESPONSE;
                goto out;
            }
            uint8_t gr[5] = { 0x00, 0xC0, 0x00, 0x00, sw2 };
            memcpy(cmd, gr, 5);
            cmd_len = 5;
            short_le = true;
            resent = true;      /* a 6Cxx to GET RESPONSE is not re-sent */
            continue;
        }
        *sw = (uint16_t)(sw1 << 8 | sw2);
        *acc_len = have;
        rv = CARD_OK;
        goto out;
    }
out:
    card_secure_zero(raw, seen);
    free(raw);
    return rv;
}

int card_apdu_transmit(struct card *c, const struct card_apdu *a,
                       uint8_t *resp, size_t *resp_len, uint16_t *sw)
{
    if (!c || !a || !sw || (a->lc && !a->data) || (!resp_len && a->le_present))
        return CARD_E_ARGS;
    size_t le = a->le;
    size_t cap = resp_len ? *resp_len : 0;
    uint8_t dummy[1];
    if (!resp) {
        resp = dummy;
        cap = 0;
    }
    bool ext = false;
    size_t chunk = a->lc;
    size_t max_short = c->max_send && c->max_send < 255 ? c->max_send : 255;
    if (a->force_chain && c->chaining && le <= 256) {
        chunk = max_short;
    } else if (a->lc > max_short || le > 256) {
        size_t max_ext = c->max_send ? c->max_send : 65535;
        if (c->ext_len && a->lc <= max_ext && le <= 65536) {
            ext = true;
        } else if (c->chaining && le <= 256) {
            chunk = c->ext_len ? max_ext : max_short;
            ext = c->ext_len && chunk > 255;
        } else if (c->chaining && c->ext_len) {
            chunk = max_ext;
            ext = true;
        } else {
            return CARD_E_ARGS;     /* too big for this card's transport */
        }
    }
    if (a->le_present && le == 0)
        le = ext ? 65536 : 256;

    uint8_t *cmd = malloc(CMD_MAX);
    if (!cmd)
        return CARD_E_HOST_MEMORY;
    int rv = CARD_OK;
    size_t off = 0;
    /* Every chunk but the last goes with CLA | 0x10 and must answer 90 00. */
    while (a->lc - off > chunk) {
        size_t n = encode(cmd, a->cla | 0x10, a, a->data + off, chunk, false, 0, ext);
        size_t none = 0;
        rv = n ? exchange(c, cmd, n, false, dummy, &none, sw) : CARD_E_ARGS;
        card_secure_zero(cmd, n);
        if (rv != CARD_OK)
            goto out;
        if (*sw != 0x9000)
            goto out;       /* the caller maps it */
        off += chunk;
    }
    /* A command without data has no data pointer to offset (NULL + 0 is
     * undefined behaviour in C). */
    const uint8_t *rest = a->lc ? a->data + off : NULL;
    size_t n = encode(cmd, a->cla, a, rest, a->lc - off, a->le_present, le, ext);
    if (!n) {
        rv = CARD_E_ARGS;
        goto out;
    }
    rv = exchange(c, cmd, n, !ext && a->le_present, resp, &cap, sw);
    card_secure_zero(cmd, n);
    if (rv == CARD_OK && resp_len)
        *resp_len = cap;
out:
    free(cmd);
    return rv;
}

int card_apdu_run(struct card *c, const struct card_apdu *a,
                  uint8_t *resp, size_t *resp_len)
{
    uint16_t sw = 0;
    int rv = card_apdu_transmit(c, a, resp, resp_len, &sw);
    if (rv != CARD_OK)
        return rv;
    return card_sw_to_rv(sw);
}
