/* tlv.h: BER-TLV as smartcards use it: tags of up to 3 bytes, definite
 * lengths up to 3 bytes, every read bounds-checked. */
#ifndef CARDRENEW_CARD_TLV_H
#define CARDRENEW_CARD_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct card_tlv {
    uint32_t tag;           /* as the bytes read, e.g. 0x7F49, 0xBF9001 */
    bool constructed;
    const uint8_t *val;
    size_t len;
};

/* Reads the TLV at *p (not past end) and moves *p past it. CARD_OK;
 * CARD_E_NOT_FOUND at the end or at 00/FF padding; CARD_E_BAD_RESPONSE
 * when truncated or malformed. */
int card_tlv_next(const uint8_t **p, const uint8_t *end, struct card_tlv *t);
/* The first sibling with this tag, in buf; CARD_E_NOT_FOUND if none. */
int card_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, struct card_tlv *t);
/* Writes tag, length and value at out (when cap allows) and returns the
 * encoded size either way; 0 when the tag or length cannot be encoded. */
size_t card_tlv_put(uint8_t *out, size_t cap, uint32_t tag,
                    const uint8_t *val, size_t len);
/* The size of the tag and length bytes alone. */
size_t card_tlv_hdr(uint8_t *out, size_t cap, uint32_t tag, size_t len);

#endif
