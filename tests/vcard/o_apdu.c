/* o_apdu.c: command APDU parsing (short and extended length) and the
 * answer rules of profile O: 61 xx chunks for GET RESPONSE, 6C xx for a
 * short Le that is wrong for a fixed-length answer. */
#include <stdlib.h>
#include <string.h>

#include "tests/vcard/o_card.h"

uint16_t vc_o_parse(const uint8_t *b, size_t len, struct o_apdu *a)
{
    memset(a, 0, sizeof *a);
    if (len < 4)
        return SW_WRONG_LEN;
    a->cla = b[0];
    a->ins = b[1];
    a->p1 = b[2];
    a->p2 = b[3];
    if (len == 4)
        return SW_OK;
    if (len == 5) {                          /* case 2 short */
        a->ne = b[4] ? b[4] : 256;
        return SW_OK;
    }
    if (b[4] != 0) {                         /* case 3 or 4 short */
        size_t lc = b[4];
        if (len == 5 + lc) {
            a->data = b + 5;
            a->lc = lc;
            return SW_OK;
        }
        if (len == 6 + lc) {
            a->data = b + 5;
            a->lc = lc;
            a->ne = b[5 + lc] ? b[5 + lc] : 256;
            return SW_OK;
        }
        return SW_WRONG_LEN;
    }
    if (len < 7)
        return SW_WRONG_LEN;
    a->ext = true;
    if (len == 7) {                          /* case 2 extended */
        size_t le = o_be16(b + 5);
        a->ne = le ? le : 65536;
        return SW_OK;
    }
    size_t lc = o_be16(b + 5);
    if (lc == 0)
        return SW_WRONG_LEN;
    if (len == 7 + lc) {
        a->data = b + 7;
        a->lc = lc;
        return SW_OK;
    }
    if (len == 9 + lc) {
        size_t le = o_be16(b + 7 + lc);
        a->data = b + 7;
        a->lc = lc;
        a->ne = le ? le : 65536;
        return SW_OK;
    }
    return SW_WRONG_LEN;
}

static size_t put_sw(uint8_t *out, size_t off, uint16_t sw)
{
    out[off] = (uint8_t)(sw >> 8);
    out[off + 1] = (uint8_t)sw;
    return off + 2;
}

static void drop_pending(struct o_card *c)
{
    if (c->pending)
        OPENSSL_cleanse(c->pending, c->pending_len);
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_off = 0;
}

/* Sends n bytes of the pending answer and says how much is left. */
static size_t send_chunk(struct o_card *c, size_t n, uint8_t *out)
{
    size_t left = c->pending_len - c->pending_off;
    if (n > left)
        n = left;
    if (n > VC_RESP_MAX - 2)
        n = VC_RESP_MAX - 2;
    memcpy(out, c->pending + c->pending_off, n);
    c->pending_off += n;
    left -= n;
    if (left == 0) {
        drop_pending(c);
        return put_sw(out, n, SW_OK);
    }
    return put_sw(out, n, (uint16_t)(0x6100 | (left > 255 ? 0 : left)));
}

size_t vc_o_emit(struct o_card *c, const struct o_apdu *a, struct o_resp *r,
                 uint8_t *out)
{
    drop_pending(c);
    if (r->sw != SW_OK || r->len == 0) {
        if (r->data)
            OPENSSL_cleanse(r->data, r->len);
        free(r->data);
        return put_sw(out, 0, r->sw);
    }
    /* Data with no Le, or more than Le allows, waits for GET RESPONSE;
     * a fixed answer under a short Le that cannot hold it gets 6C xx. */
    if (a->ne >= r->len) {
        memcpy(out, r->data, r->len);
        size_t n = put_sw(out, r->len, SW_OK);
        OPENSSL_cleanse(r->data, r->len);
        free(r->data);
        return n;
    }
    if (r->fixed && a->ne && !a->ext && a->ne < 256 && r->len <= 256) {
        uint16_t sw = (uint16_t)(0x6C00 | (r->len & 0xFF));
        OPENSSL_cleanse(r->data, r->len);
        free(r->data);
        return put_sw(out, 0, sw);
    }
    c->pending = r->data;
    c->pending_len = r->len;
    c->pending_off = 0;
    if (a->ne == 0) {
        size_t left = r->len;
        return put_sw(out, 0, (uint16_t)(0x6100 | (left > 255 ? 0 : left)));
    }
    return send_chunk(c, a->ne, out);
}

size_t vc_o_get_response(struct o_card *c, const struct o_apdu *a, uint8_t *out)
{
    if (a->p1 != 0 || a->p2 != 0) {
        drop_pending(c);
        return put_sw(out, 0, SW_BAD_P1P2);
    }
    if (!c->pending)
        return put_sw(out, 0, SW_COND_USE);
    if (a->lc)
        return put_sw(out, 0, SW_WRONG_LEN);
    size_t n = a->ne ? a->ne : 256;
    return send_chunk(c, n, out);
}
