/* o_pin.c: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER for the
 * user PIN (reference 81) and the PUK (reference 84). PINs arrive as ASCII
 * digits, optionally padded with FF. */
#include <string.h>
#include <openssl/crypto.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/o_card.h"

bool vc_o_pin_valid(const char *pin, size_t len, size_t min, size_t max)
{
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return false;
    return true;
}

static struct o_secret *secret(struct o_card *c, uint8_t ref)
{
    if (ref == O_PIN_REF)
        return &c->pin;
    if (ref == O_PUK_REF)
        return &c->puk;
    return NULL;
}

static bool *flag(struct o_card *c, uint8_t ref)
{
    return ref == O_PIN_REF ? &c->pin_ok : &c->puk_ok;
}

static size_t unpad(const uint8_t *d, size_t n)
{
    while (n && d[n - 1] == 0xFF)
        n--;
    return n;
}

/* Constant-time over the stored length. */
static bool matches(const struct o_secret *s, const uint8_t *d, size_t n)
{
    if (n != s->len)
        return false;
    return CRYPTO_memcmp(s->value, d, n) == 0;
}

static uint16_t tries_sw(const struct o_secret *s)
{
    return (uint16_t)(0x63C0 | (s->tries & 0x0F));
}

/* Checks a presented secret, counting a failure. */
static uint16_t check(struct o_card *c, uint8_t ref, const uint8_t *d,
                      size_t n, bool *persist)
{
    struct o_secret *s = secret(c, ref);
    bool *ok = flag(c, ref);
    if (s->tries == 0)
        return SW_BLOCKED;
    vc_clock_pin();
    if (!matches(s, d, n)) {
        s->tries--;
        *ok = false;
        *persist = true;
        return tries_sw(s);
    }
    if (s->tries != s->max) {
        s->tries = s->max;
        *persist = true;
    }
    *ok = true;
    return SW_OK;
}

uint16_t vc_o_verify(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    if (a->p1 != 0x00)
        return SW_BAD_P1P2;
    struct o_secret *s = secret(c, a->p2);
    if (!s)
        return SW_REF_NOT_FND;
    if (a->lc == 0) {
        if (s->tries == 0)
            return SW_BLOCKED;
        return *flag(c, a->p2) ? SW_OK : tries_sw(s);
    }
    if (a->lc > 16)
        return SW_WRONG_LEN;
    return check(c, a->p2, a->data, unpad(a->data, a->lc), persist);
}

/* Splits old||new: two blocks padded to 8 bytes each, or the old secret
 * unpadded (its length is the stored one) followed by the new. */
static bool split(const struct o_secret *s, const uint8_t *d, size_t n,
                  size_t *old_len, const uint8_t **nw, size_t *nw_len)
{
    if (n == 16) {
        *old_len = unpad(d, 8);
        *nw = d + 8;
        *nw_len = unpad(d + 8, 8);
        return true;
    }
    if (n <= s->len)
        return false;
    *old_len = s->len;
    *nw = d + s->len;
    *nw_len = unpad(d + s->len, n - s->len);
    return true;
}

static void set_secret(struct o_secret *s, const uint8_t *d, size_t n)
{
    OPENSSL_cleanse(s->value, sizeof s->value);
    memcpy(s->value, d, n);
    s->len = (uint8_t)n;
    s->tries = s->max;
}

uint16_t vc_o_change(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    if (a->p1 != 0x00)
        return SW_BAD_P1P2;
    struct o_secret *s = secret(c, a->p2);
    if (!s)
        return SW_REF_NOT_FND;
    if (a->lc == 0 || a->lc > 32)
        return SW_WRONG_LEN;
    if (s->tries == 0)
        return SW_BLOCKED;
    size_t old_len, nw_len;
    const uint8_t *nw;
    if (!split(s, a->data, a->lc, &old_len, &nw, &nw_len))
        return check(c, a->p2, a->data, unpad(a->data, a->lc), persist);
    uint16_t sw = check(c, a->p2, a->data, old_len, persist);
    if (sw != SW_OK)
        return sw;
    size_t min = a->p2 == O_PIN_REF ? O_PIN_MIN : O_PUK_LEN;
    size_t max = a->p2 == O_PIN_REF ? O_PIN_MAX : O_PUK_LEN;
    if (!vc_o_pin_valid((const char *)nw, nw_len, min, max))
        return SW_BAD_DATA;
    set_secret(s, nw, nw_len);
    *persist = true;
    return SW_OK;
}

/* P1 00: PUK||new PIN; 01: PUK; 02: new PIN after VERIFY of the PUK;
 * 03: nothing, after VERIFY of the PUK. */
uint16_t vc_o_unblock(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    if (a->p1 > 3)
        return SW_BAD_P1P2;
    if (a->p2 != O_PIN_REF)
        return SW_REF_NOT_FND;
    if (a->lc > 32)
        return SW_WRONG_LEN;
    const uint8_t *nw = NULL;
    size_t nw_len = 0;
    bool has_puk = a->p1 == 0 || a->p1 == 1;
    bool has_new = a->p1 == 0 || a->p1 == 2;
    if (has_puk) {
        size_t puk_len;
        if (a->lc == 0)
            return SW_WRONG_LEN;
        if (a->p1 == 0) {
            if (!split(&c->puk, a->data, a->lc, &puk_len, &nw, &nw_len))
                return check(c, O_PUK_REF, a->data, unpad(a->data, a->lc), persist);
        } else {
            puk_len = unpad(a->data, a->lc);
        }
        uint16_t sw = check(c, O_PUK_REF, a->data, puk_len, persist);
        if (sw != SW_OK)
            return sw;
    } else {
        if (c->puk.tries == 0)
            return SW_BLOCKED;
        if (!c->puk_ok)
            return SW_SEC_STATUS;
        if (a->p1 == 2) {
            nw = a->data;
            nw_len = unpad(a->data, a->lc);
        } else if (a->lc) {
            return SW_WRONG_LEN;
        }
    }
    if (has_new) {
        if (!nw || !vc_o_pin_valid((const char *)nw, nw_len, O_PIN_MIN, O_PIN_MAX))
            return SW_BAD_DATA;
        set_secret(&c->pin, nw, nw_len);
    } else {
        c->pin.tries = c->pin.max;
    }
    c->pin_ok = false;
    *persist = true;
    return SW_OK;
}
