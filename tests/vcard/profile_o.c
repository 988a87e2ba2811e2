/* profile_o.c: the Series 8 (Oberthur IAS-ECC, AWP layout) card OS. */
#include <stdlib.h>
#include <string.h>

#include "tests/vcard/vcard.h"

static const uint8_t o_atr[] = {
    0x3B, 0xDD, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x80, 0xF9, 0xA0,
    0x00, 0x00, 0x00, 0x77, 0x01, 0x08, 0x00, 0x07, 0x90, 0x00, 0xFE,
};

struct o_stub { int unused; };

static void *o_create(const struct vc_new *p)
{
    (void)p;
    return calloc(1, sizeof(struct o_stub));
}

static void *o_load(const uint8_t *buf, size_t len)
{
    (void)buf;
    (void)len;
    return NULL;
}

static int o_save(void *st, uint8_t **buf, size_t *len)
{
    (void)st;
    *buf = NULL;
    *len = 0;
    return -1;
}

static void o_free(void *st) { free(st); }
static void o_reset(void *st) { (void)st; }

static size_t o_process(void *st, const uint8_t *apdu, size_t len,
                        uint8_t *resp, bool *persist, bool *pin_data)
{
    (void)st;
    (void)apdu;
    (void)len;
    *persist = false;
    *pin_data = false;
    resp[0] = 0x6D;
    resp[1] = 0x00;
    return 2;
}

static int o_generate(void *st, const char *keytype, EVP_PKEY **pub)
{
    (void)st;
    (void)keytype;
    *pub = NULL;
    return -1;
}

static int o_install_cert(void *st, X509 *cert)
{
    (void)st;
    (void)cert;
    return -1;
}

static int o_damage(void *st, const char *kind)
{
    (void)st;
    (void)kind;
    return -1;
}

const struct vc_profile vc_profile_o = {
    .name = "O",
    .atr = o_atr,
    .atr_len = sizeof o_atr,
    .create = o_create,
    .load = o_load,
    .save = o_save,
    .free = o_free,
    .reset = o_reset,
    .process = o_process,
    .perso_generate = o_generate,
    .perso_install_cert = o_install_cert,
    .damage = o_damage,
};
