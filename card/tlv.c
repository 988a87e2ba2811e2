/* tlv.c: BER-TLV parsing and building, never trusting a length. */
#include <string.h>

#include "card/card.h"
#include "card/tlv.h"

int card_tlv_next(const uint8_t **p, const uint8_t *end, struct card_tlv *t)
{
    const uint8_t *q = *p;
    if (q >= end || *q == 0x00 || *q == 0xFF)
        return CARD_E_NOT_FOUND;
    uint32_t tag = *q;
    t->constructed = (*q & 0x20) != 0;
    if ((*q++ & 0x1F) == 0x1F) {
        /* Subsequent tag bytes: bit 8 set means another follows. */
        int n = 0;
        do {
            if (q >= end || ++n > 2)
                return CARD_E_BAD_RESPONSE;
            tag = tag << 8 | *q;
        } while (*q++ & 0x80);
    }
    if (q >= end)
        return CARD_E_BAD_RESPONSE;
    size_t len = *q++;
    if (len & 0x80) {
        size_t nb = len & 0x7F;
        if (nb == 0 || nb > 3 || (size_t)(end - q) < nb)
            return CARD_E_BAD_RESPONSE;     /* indefinite or oversized */
        len = 0;
        while (nb--)
            len = len << 8 | *q++;
    }
    if ((size_t)(end - q) < len)
        return CARD_E_BAD_RESPONSE;
    t->tag = tag;
    t->val = q;
    t->len = len;
    *p = q + len;
    return CARD_OK;
}

int card_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, struct card_tlv *t)
{
    const uint8_t *p = buf, *end = buf + len;
    int rv;
    if (!buf)
        return CARD_E_NOT_FOUND;
    while ((rv = card_tlv_next(&p, end, t)) == CARD_OK)
        if (t->tag == tag)
            return CARD_OK;
    return rv;
}

size_t card_tlv_hdr(uint8_t *out, size_t cap, uint32_t tag, size_t len)
{
    uint8_t h[8];
    size_t n = 0;
    if (tag > 0xFFFFFF || tag == 0)
        return 0;
    if (tag > 0xFFFF)
        h[n++] = (uint8_t)(tag >> 16);
    if (tag > 0xFF)
        h[n++] = (uint8_t)(tag >> 8);
    h[n++] = (uint8_t)tag;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else if (len <= 0xFF) {
        h[n++] = 0x81;
        h[n++] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        h[n++] = 0x82;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else if (len <= 0xFFFFFF) {
        h[n++] = 0x83;
        h[n++] = (uint8_t)(len >> 16);
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        return 0;
    }
    if (out && cap >= n)
        memcpy(out, h, n);
    return n;
}

size_t card_tlv_put(uint8_t *out, size_t cap, uint32_t tag,
                    const uint8_t *val, size_t len)
{
    size_t h = card_tlv_hdr(out, cap, tag, len);
    if (!h)
        return 0;
    if (out && cap >= h + len && len)
        memmove(out + h, val, len);
    return h + len;
}
