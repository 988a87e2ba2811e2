/* fuzz_pkcs15.c: profile O's PKCS#15 directory files (card/pkcs15.c).
 *
 * The first byte picks the file kind (PrKDF, PuKDF, CDF, AODF, ODF,
 * TokenInfo); the rest is the file. Every entry decoded is encoded again
 * (as the driver does when it rewrites a directory) and must decode to
 * the same entry; decoding stops at the caller's maximum.
 */
#include <stdlib.h>
#include <string.h>

#include "card/card.h"
#include "card/pkcs15.h"

static void same_obj(const struct card_p15_obj *a, const struct card_p15_obj *b)
{
    if (a->kind != b->kind || a->ec != b->ec || strcmp(a->label, b->label) ||
        a->id_len != b->id_len || memcmp(a->id, b->id, a->id_len) ||
        a->path_len != b->path_len || memcmp(a->path, b->path, a->path_len))
        abort();
    if (a->kind == P15_CERT)
        return;
    /* Encoding keeps the flags PKCS#15 defines: usage bits 0-9, access 0-4. */
    if (a->key_ref != b->key_ref || (a->usage & 0x3FF) != b->usage ||
        (a->access & 0x1F) != b->access)
        abort();
    if (!a->ec && a->bits != b->bits)
        abort();
    if (a->kind == P15_PRKEY && (a->auth_id_len != b->auth_id_len ||
                                 memcmp(a->auth_id, b->auth_id, a->auth_id_len)))
        abort();
}

static void roundtrip(const struct card_p15_obj *o)
{
    size_t need = card_p15_encode(o, NULL, 0);
    if (!need)
        return;     /* not encodable (e.g. a label or id too long): refused */
    uint8_t *buf = malloc(need);
    if (card_p15_encode(o, buf, need) != need)
        abort();
    struct card_p15_obj back[2];
    size_t n = 0;
    if (card_p15_decode(o->kind, buf, need, back, 2, &n) != CARD_OK || n != 1)
        abort();
    same_obj(o, &back[0]);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t kind = data[0] % 6;
    const uint8_t *b = data + 1;
    size_t len = size - 1;
    /* A copy of exactly the file's size: reads past it are caught. */
    uint8_t *file = malloc(len ? len : 1);
    memcpy(file, b, len);
    if (kind < 4) {
        struct card_p15_obj o[4];
        size_t n = 99;
        int rv = card_p15_decode((enum card_p15_kind)kind, file, len, o, 4, &n);
        if (rv == CARD_OK) {
            if (n > 4)
                abort();
            for (size_t i = 0; i < n; i++) {
                if (o[i].kind != (enum card_p15_kind)kind || o[i].id_len > sizeof(o[i].id) ||
                    o[i].path_len > sizeof(o[i].path) || !memchr(o[i].label, 0, 64))
                    abort();
                if (kind != P15_AUTH)
                    roundtrip(&o[i]);
            }
        }
    } else if (kind == 4) {
        struct card_p15_odf odf;
        if (card_p15_decode_odf(file, len, &odf) == CARD_OK) {
            size_t need = card_p15_encode_odf(&odf, NULL, 0);
            uint8_t *e = malloc(need ? need : 1);
            struct card_p15_odf back;
            if (card_p15_encode_odf(&odf, e, need) != need ||
                card_p15_decode_odf(e, need, &back) != CARD_OK)
                abort();
            /* A path is its first len bytes (a shorter one later in the
             * file leaves older bytes after it). */
            const uint8_t *a[] = { odf.prkdf, odf.pukdf, odf.cdf, odf.aodf };
            const uint8_t *b2[] = { back.prkdf, back.pukdf, back.cdf, back.aodf };
            size_t al[] = { odf.prkdf_len, odf.pukdf_len, odf.cdf_len, odf.aodf_len };
            size_t bl[] = { back.prkdf_len, back.pukdf_len, back.cdf_len, back.aodf_len };
            for (int i = 0; i < 4; i++)
                if (al[i] != bl[i] || memcmp(a[i], b2[i], al[i]))
                    abort();
            free(e);
        }
    } else {
        struct card_p15_tokeninfo ti;
        if (card_p15_decode_tokeninfo(file, len, &ti) == CARD_OK) {
            if (!memchr(ti.label, 0, sizeof(ti.label)) ||
                !memchr(ti.manufacturer, 0, sizeof(ti.manufacturer)))
                abort();
            size_t need = card_p15_encode_tokeninfo(&ti, NULL, 0);
            uint8_t *e = malloc(need ? need : 1);
            struct card_p15_tokeninfo back;
            if (!need || card_p15_encode_tokeninfo(&ti, e, need) != need ||
                card_p15_decode_tokeninfo(e, need, &back) != CARD_OK ||
                back.version != ti.version || back.serial_len != ti.serial_len ||
                memcmp(back.serial, ti.serial, ti.serial_len) ||
                strcmp(back.label, ti.label) || strcmp(back.manufacturer, ti.manufacturer))
                abort();
            free(e);
        }
    }
    free(file);
    return 0;
}
