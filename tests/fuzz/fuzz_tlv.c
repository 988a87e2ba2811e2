/* fuzz_tlv.c: card/tlv.c on any bytes.
 *
 * Every TLV card_tlv_next accepts lies inside the input, moves the
 * cursor forward, and encodes back (card_tlv_put) to bytes that parse to
 * the same tag and value; card_tlv_find agrees with a walk by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "card/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct card_tlv t;
    uint32_t first_tag = 0;
    bool have_first = false;
    int rv;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK) {
        if (p > end || t.val < data || t.val + t.len != p || t.tag == 0)
            abort();
        if (!have_first) {
            first_tag = t.tag;
            have_first = true;
        }
        /* Encode it again; the result must read back the same. */
        size_t need = card_tlv_put(NULL, 0, t.tag, t.val, t.len);
        if (!need)
            abort();        /* every tag and length read can be written */
        uint8_t *buf = malloc(need);
        if (card_tlv_put(buf, need, t.tag, t.val, t.len) != need)
            abort();
        const uint8_t *q = buf;
        struct card_tlv u;
        if (card_tlv_next(&q, buf + need, &u) != CARD_OK || q != buf + need ||
            u.tag != t.tag || u.len != t.len || u.constructed != t.constructed ||
            (t.len && memcmp(u.val, t.val, t.len)))
            abort();
        free(buf);
        /* Into a buffer one byte short: nothing is written past it. */
        if (need > 1) {
            uint8_t *small = malloc(need - 1);
            card_tlv_put(small, need - 1, t.tag, t.val, t.len);
            free(small);
        }
    }
    if (rv != CARD_E_NOT_FOUND && rv != CARD_E_BAD_RESPONSE)
        abort();
    if (have_first) {
        if (card_tlv_find(data, size, first_tag, &t) != CARD_OK || t.tag != first_tag)
            abort();
    }
    return 0;
}
