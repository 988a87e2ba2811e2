/* step.c: one command APDU through the card, with the faults applied and
 * the image written before any answer leaves: what the run loop does for
 * each APDU, without the network. */
#include <stdio.h>
#include <string.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/core.h"

/* The command that crossed the tear point never completed: take the card
 * back to what the image file holds. */
static int reload(struct vc_card *card, const char *image)
{
    struct vc_card fresh;
    char err[256];

    if (vc_image_load(image, &fresh, err, sizeof err) != 0) {
        fprintf(stderr, "vcard: reloading the card: %s\n", err);
        return -1;
    }
    vc_card_free(card);
    *card = fresh;
    return 0;
}

enum vc_step vc_step(struct vc_card *card, const char *image,
                     struct vc_faults *f, const uint8_t *cmd, size_t len,
                     uint8_t *resp, size_t *rlen, bool *pin_data)
{
    bool persist = false;
    char err[256];

    *rlen = 0;
    *pin_data = true;           /* unknown until processed: mask */
    if (f->mute) {
        f->silenced++;
        return VC_SILENT;
    }
    if (f->vanish_after == 0) {
        f->vanish_after = -1;
        f->vanished = true;
        return VC_VANISH;
    }
    if (f->vanish_after > 0)
        f->vanish_after--;

    *rlen = card->prof->process(card->st, cmd, len, resp, &persist, pin_data);
    if (*rlen < 2 || *rlen > VC_RESP_MAX) {
        resp[0] = 0x6F;
        resp[1] = 0x00;
        *rlen = 2;
    }
    if (!persist)
        return VC_ANSWER;
    vc_clock_written(vc_apdu_data_len(cmd, len));
    if (f->tear_after >= 0) {
        long dl = (long)vc_apdu_data_len(cmd, len);

        if (f->tear_after == 0 || dl > f->tear_after) {
            f->tear_after = -1;
            f->vanished = true;
            memset(resp, 0, *rlen);
            *rlen = 0;
            return reload(card, image) == 0 ? VC_VANISH : VC_FATAL;
        }
        f->tear_after -= dl;
    }
    if (vc_image_save(image, card, err, sizeof err) != 0) {
        fprintf(stderr, "vcard: saving the card: %s\n", err);
        if (reload(card, image) != 0)
            return VC_FATAL;
        resp[0] = 0x65;         /* memory failure: nothing was written */
        resp[1] = 0x81;
        *rlen = 2;
    }
    return VC_ANSWER;
}
