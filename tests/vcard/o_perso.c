/* o_perso.c: what an RA's issuing station does to a profile O card (key
 * generation with its PrKDF/PuKDF entries, certificate installation with
 * its CDF entry) and the damaged states behind the guidance's messages. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tests/vcard/o_card.h"

static int awp(const struct o_card *c)
{
    return vc_o_find_child(c, 0, O_FID_AWP);
}

static size_t df_room(struct o_card *c, uint16_t fid)
{
    int i = vc_o_find(c, fid);
    if (i < 0)
        return 0;
    return c->files[i].size - vc_o_df_used(c->files[i].data, c->files[i].size);
}

int vc_o_generate_perso(void *st, const char *keytype, EVP_PKEY **pub)
{
    struct o_card *c = st;
    enum o_keytype t;
    unsigned bits = 0;
    uint8_t pr[512], pu[768];
    *pub = NULL;
    if (strcmp(keytype, "rsa1024") == 0)
        t = O_KEY_RSA, bits = 1024;
    else if (strcmp(keytype, "rsa2048") == 0)
        t = O_KEY_RSA, bits = 2048;
    else if (strcmp(keytype, "p256") == 0)
        t = O_KEY_EC;
    else
        return -1;
    int ref = 0;
    for (int i = 0; i < O_KEY_SLOTS && !ref; i++)
        if (!c->slots[i].key)
            ref = i + 1;
    if (!ref)
        return -1;
    struct o_slot *s = &c->slots[ref - 1];
    memset(s, 0, sizeof *s);
    if (vc_o_keygen(s, t, bits))
        return -1;
    size_t np = vc_o_enc_prkdf(pr, sizeof pr, s->key, (uint8_t)ref);
    size_t nu = vc_o_enc_pukdf(pu, sizeof pu, s->key, (uint8_t)ref);
    uint8_t *der = NULL;
    int dl = i2d_PUBKEY(s->key, &der);
    const uint8_t *p = der;
    if (np && nu && dl > 0 && np <= df_room(c, O_FID_PRKDF) &&
        nu <= df_room(c, O_FID_PUKDF))
        *pub = d2i_PUBKEY(NULL, &p, dl);
    OPENSSL_free(der);
    if (!*pub) {
        EVP_PKEY_free(s->key);
        memset(s, 0, sizeof *s);
        return -1;
    }
    vc_o_df_append(c, O_FID_PRKDF, pr, np);
    vc_o_df_append(c, O_FID_PUKDF, pu, nu);
    vc_o_bump(c);
    return 0;
}

static int slot_of(const struct o_card *c, const EVP_PKEY *k)
{
    for (int i = 0; i < O_KEY_SLOTS; i++)
        if (c->slots[i].key && EVP_PKEY_eq(c->slots[i].key, k) == 1)
            return i + 1;
    return 0;
}

int vc_o_install_cert(void *st, X509 *cert)
{
    struct o_card *c = st;
    EVP_PKEY *k = X509_get0_pubkey(cert);
    int ref = k ? slot_of(c, k) : 0;
    uint8_t *der = NULL, id[20], entry[256];
    char label[65] = "Certificate";
    if (!ref)
        return -1;
    int dl = i2d_X509(cert, &der);
    if (dl <= 0)
        return -1;
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
                              label, sizeof label);
    uint16_t fid = (uint16_t)(0x3400 | ref);
    size_t en = 0;
    int rc = -1, a = awp(c);
    if (a >= 0 && vc_o_key_id(c->slots[ref - 1].key, id) == 0)
        en = vc_o_enc_cdf(entry, sizeof entry, id, label, fid);
    if (en) {
        int old = vc_o_find_child(c, (uint16_t)a, fid);
        if (old >= 0)
            vc_o_file_drop(c, old);
        vc_o_df_remove(c, O_FID_CDF, fid, 0);
        if (vc_o_fs_used(c) + (size_t)dl <= O_FS_CAPACITY && en <= df_room(c, O_FID_CDF)) {
            int i = vc_o_file_add(c, (uint16_t)a, fid, false, (size_t)dl, O_ACL_PIN);
            if (i >= 0 && vc_o_file_set(c, i, der, (size_t)dl) == 0 &&
                vc_o_df_append(c, O_FID_CDF, entry, en) == 0)
                rc = 0;
        }
    }
    OPENSSL_free(der);
    if (rc == 0)
        vc_o_bump(c);
    return rc;
}

/* The first key that has a certificate file: its key is replaced by a
 * fresh one of the same type, so key and certificate differ. */
static int mismatch(struct o_card *c)
{
    int a = awp(c);
    for (int i = 0; i < O_KEY_SLOTS; i++) {
        struct o_slot *s = &c->slots[i];
        if (!s->key || vc_o_find_child(c, (uint16_t)a, (uint16_t)(0x3401 + i)) < 0)
            continue;
        struct o_slot fresh = { 0 };
        bool ec = EVP_PKEY_is_a(s->key, "EC");
        if (vc_o_keygen(&fresh, ec ? O_KEY_EC : O_KEY_RSA,
                        (unsigned)EVP_PKEY_get_bits(s->key)))
            return -1;
        EVP_PKEY_free(s->key);
        s->key = fresh.key;
        return 0;
    }
    return -1;
}

/* A CDF entry pointing at nothing: the first entry's file goes, or, with
 * no entry, one is added for a file that does not exist. */
static int dangling(struct o_card *c)
{
    uint16_t fid;
    if (vc_o_cdf_first(c, &fid) == 0) {
        int i = vc_o_find(c, fid);
        if (i >= 0)
            vc_o_file_drop(c, i);
        return 0;
    }
    uint8_t id[20], e[128];
    if (RAND_bytes(id, sizeof id) != 1)
        return -1;
    size_t n = vc_o_enc_cdf(e, sizeof e, id, "Certificate", 0x340C);
    return n ? vc_o_df_append(c, O_FID_CDF, e, n) : -1;
}

static int empty(struct o_card *c)
{
    int a = awp(c);
    for (int i = 0; i < O_KEY_SLOTS; i++) {
        EVP_PKEY_free(c->slots[i].key);
        memset(&c->slots[i], 0, sizeof c->slots[i]);
    }
    for (int i = 0; i < O_MAX_FILES; i++)
        if (c->files[i].used && c->files[i].parent == a &&
            (c->files[i].fid & 0xFF00) == 0x3400)
            vc_o_file_drop(c, i);
    static const uint16_t dfs[] = { O_FID_PRKDF, O_FID_PUKDF, O_FID_CDF };
    for (size_t k = 0; k < sizeof dfs / sizeof dfs[0]; k++) {
        int i = vc_o_find(c, dfs[k]);
        if (i >= 0)
            memset(c->files[i].data, 0, c->files[i].size);
    }
    c->se_tmpl = 0;
    return 0;
}

int vc_o_damage(void *st, const char *kind)
{
    struct o_card *c = st;
    int rc;
    if (strcmp(kind, "mismatch") == 0)
        rc = mismatch(c);
    else if (strcmp(kind, "dangling") == 0)
        rc = dangling(c);
    else if (strcmp(kind, "empty") == 0)
        rc = empty(c);
    else
        return -1;
    if (rc == 0)
        vc_o_bump(c);
    return rc;
}
