/* clock.c: the real-card clock (see clock.h; figures cited in README.md).
 * One card per process, one APDU at a time: plain statics suffice. */
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>

#include "tests/vcard/clock.h"

/* Both ATRs ask for TA1 = 0x18 (Fi 372, Di 12): at a reader's usual
 * 4 MHz an etu is 7.75 us, and a T=1 character 11 etu: 85 us a byte. */
static const struct vc_clock_model models[] = {
    { "G", 4000, 85, 200000, 30000000, 150000, 300000, 20000, 60 },
    { "O", 3000, 85, 100000, 12000000, 60000, 150000, 10000, 50 },
};

static const struct vc_clock_model *model;
static long charged_us;
static struct timespec started;

const struct vc_clock_model *vc_clock_model(const char *profile)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (profile && strcmp(models[i].profile, profile) == 0)
            return &models[i];
    return NULL;
}

void vc_clock_use(const struct vc_clock_model *m)
{
    model = m;
}

bool vc_clock_on(void)
{
    return model != NULL;
}

/* An operation's cost scales with the key: RSA by the cube of its size
 * for a private-key operation (CRT halves both factors alike), by about
 * the fourth power for generation (more candidates, each dearer). */
static long scaled(long base, int bits, int power)
{
    double f = bits / 2048.0, v = 1;

    for (int i = 0; i < power; i++)
        v *= f;
    return (long)(base * v);
}

void vc_clock_key_op(EVP_PKEY *k)
{
    if (!model || !k)
        return;
    if (EVP_PKEY_is_a(k, "EC"))
        charged_us += model->p256_sign_us;
    else
        charged_us += scaled(model->rsa2048_priv_us, EVP_PKEY_get_bits(k), 3);
}

void vc_clock_key_gen(EVP_PKEY *k)
{
    if (!model || !k)
        return;
    if (EVP_PKEY_is_a(k, "EC"))
        charged_us += model->p256_gen_us;
    else
        charged_us += scaled(model->rsa2048_gen_us, EVP_PKEY_get_bits(k), 4);
}

void vc_clock_pin(void)
{
    if (model)
        charged_us += model->pin_us;
}

void vc_clock_written(size_t bytes)
{
    if (model)
        charged_us += (long)bytes * model->eeprom_byte_us;
}

void vc_clock_begin(void)
{
    charged_us = 0;
    clock_gettime(CLOCK_MONOTONIC, &started);
}

void vc_clock_end(size_t clen, size_t rlen, long *model_us, long *card_us)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    *card_us = (now.tv_sec - started.tv_sec) * 1000000L +
               (now.tv_nsec - started.tv_nsec) / 1000;
    /* T=1 adds a 3-byte prologue and a 1-byte LRC to each block. */
    *model_us = model ? model->apdu_us +
                (long)(clen + rlen + 8) * model->byte_us + charged_us : 0;
    charged_us = 0;
}
