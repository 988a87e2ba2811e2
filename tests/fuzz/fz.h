/* fz.h: reading a fuzz input as a stream of choices.
 *
 * Every read past the end gives zeros, so a short input means "the
 * plainest choice from here on": a harness maps 0 to the ordinary path.
 */
#ifndef CARDRENEW_FUZZ_FZ_H
#define CARDRENEW_FUZZ_FZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
    uint16_t hi = fz_u8(f);
    return (uint16_t)(hi << 8 | fz_u8(f));
}

/* Up to want bytes, borrowed from the input; *got says how many. */
static inline const uint8_t *fz_bytes(struct fz *f, size_t want, size_t *got)
{
    const uint8_t *p = f->p;
    *got = want < f->n ? want : f->n;
    f->p += *got;
    f->n -= *got;
    return p;
}

/* Splits an input in two streams: the first two bytes give the length of
 * the second (taken from the end), so a mutation of one leaves the other
 * where it was. */
static inline void fz_split(const uint8_t *data, size_t size, struct fz *a, struct fz *b)
{
    struct fz all = { data, size };
    size_t blen = fz_u16(&all);
    if (blen > all.n)
        blen = all.n;
    a->p = all.p;
    a->n = all.n - blen;
    b->p = all.p + a->n;
    b->n = blen;
}

#endif
