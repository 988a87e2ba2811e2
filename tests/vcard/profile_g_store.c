/* profile_g_store.c: profile G's object store (EF 1600/0004) as the
 * issuing station sees it: table parsing and layout, personalisation,
 * the damaged states, and `vcard info`. */
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/vcard/profile_g.h"

static size_t der_len(const uint8_t *p, size_t max)
{
    size_t n;

    if (max < 4 || p[0] != 0x30 || p[1] != 0x82)
        return 0;
    n = 4 + ((size_t)p[2] << 8 | p[3]);
    return n <= max ? n : 0;
}

/* Entries in table order; each allocated one takes the next certificate
 * after offset 110, as OpenSC's gemsafeV1 hands them out. */
void vc_g_parse_table(const struct g_state *s, struct g_table *t)
{
    size_t p = 2, c = G_HDR;

    memset(t, 0, sizeof *t);
    t->used = (size_t)s->ef[0] << 8 | s->ef[1];
    if (t->used > G_EF_SIZE)
        t->used = G_EF_SIZE;
    while (t->n < G_NKEYS && p + 8 <= G_HDR && s->ef[p] == 0x01) {
        struct g_entry *e = &t->e[t->n];

        if (s->ef[p + 1] == 0xFE && p + 9 <= G_HDR) {
            e->allocated = true;
            e->ref = s->ef[p + 4];
            e->bits = (unsigned)s->ef[p + 5] << 8 | s->ef[p + 6];
            p += 9;
            if (c < t->used) {
                size_t n = der_len(s->ef + c, t->used - c);
                if (n) {
                    e->cert_off = c;
                    e->cert_len = n;
                    c += n;
                }
            }
        } else if (s->ef[p + 1] == 0xF0) {
            e->ref = s->ef[p + 4];
            p += 8;
        } else {
            break;
        }
        t->n++;
    }
}

int vc_g_rebuild(struct g_state *s, const struct g_table *t,
              const uint8_t *const *certs, const size_t *cert_lens)
{
    uint8_t *ef = calloc(1, G_EF_SIZE);
    size_t p = 2, c = G_HDR;

    if (!ef)
        return -1;
    for (int ref = G_REF0; ref < G_REF0 + G_NKEYS; ref++) {
        size_t i;

        for (i = 0; i < t->n && t->e[i].ref != ref; i++)
            ;
        if (i < t->n && t->e[i].allocated) {
            if (c + cert_lens[i] > G_EF_SIZE) {
                free(ef);
                return -1;
            }
            memcpy(ef + p, (const uint8_t[]){ 0x01, 0xFE, 0, 0, (uint8_t)ref,
                   (uint8_t)(t->e[i].bits >> 8), (uint8_t)t->e[i].bits, 0, 0 }, 9);
            p += 9;
            if (cert_lens[i]) {
                memcpy(ef + c, certs[i], cert_lens[i]);
                c += cert_lens[i];
            }
        } else {
            memcpy(ef + p, (const uint8_t[]){ 0x01, 0xF0, 0, 0, (uint8_t)ref,
                   0, 0, 0 }, 8);
            p += 8;
        }
    }
    ef[0] = (uint8_t)(c >> 8);
    ef[1] = (uint8_t)c;
    memcpy(s->ef, ef, G_EF_SIZE);
    free(ef);
    return 0;
}

/* The current table with every reference present once, certificates
 * copied out so the store can be laid out again. */
static int snapshot(struct g_state *s, struct g_table *t, uint8_t **certs,
                    size_t *lens)
{
    struct g_table cur;

    vc_g_parse_table(s, &cur);
    memset(t, 0, sizeof *t);
    for (int i = 0; i < G_NKEYS; i++) {
        certs[i] = NULL;
        lens[i] = 0;
    }
    for (int i = 0; i < G_NKEYS; i++) {
        t->e[i].ref = (uint8_t)(G_REF0 + i);
        for (size_t j = 0; j < cur.n; j++) {
            if (cur.e[j].ref != t->e[i].ref || !cur.e[j].allocated)
                continue;
            t->e[i].allocated = true;
            t->e[i].bits = cur.e[j].bits;
            if (cur.e[j].cert_len) {
                certs[i] = malloc(cur.e[j].cert_len);
                if (!certs[i])
                    return -1;
                memcpy(certs[i], s->ef + cur.e[j].cert_off, cur.e[j].cert_len);
                lens[i] = cur.e[j].cert_len;
            }
        }
    }
    t->n = G_NKEYS;
    return 0;
}

static void drop(uint8_t **certs)
{
    for (int i = 0; i < G_NKEYS; i++)
        free(certs[i]);
}

static int relayout(struct g_state *s, struct g_table *t, uint8_t **certs,
                    size_t *lens)
{
    int rc = vc_g_rebuild(s, t, (const uint8_t *const *)certs, lens);

    drop(certs);
    return rc;
}

int vc_g_perso_generate(void *st, const char *keytype, EVP_PKEY **pub)
{
    struct g_state *s = st;
    struct g_table t;
    unsigned bits;
    uint8_t *der = NULL;
    const uint8_t *p;
    int len;

    if (strcmp(keytype, "rsa1024") == 0)
        bits = 1024;
    else if (strcmp(keytype, "rsa2048") == 0)
        bits = 2048;
    else {
        fprintf(stderr, "profile G has RSA 1024 and 2048 keys only\n");
        return -1;
    }
    vc_g_parse_table(s, &t);
    for (int i = 0; i < G_NKEYS; i++) {
        bool used = s->key[i] != NULL;

        for (size_t j = 0; j < t.n; j++)
            if (t.e[j].ref == G_REF0 + i && t.e[j].allocated)
                used = true;
        if (used)
            continue;
        s->key[i] = vc_g_rsa_generate(bits);
        if (!s->key[i])
            return -1;
        len = i2d_PUBKEY(s->key[i], &der);
        p = der;
        *pub = len > 0 ? d2i_PUBKEY(NULL, &p, len) : NULL;
        OPENSSL_free(der);
        return *pub ? 0 : -1;
    }
    fprintf(stderr, "no free key reference on the card\n");
    return -1;
}

int vc_g_perso_install_cert(void *st, X509 *cert)
{
    struct g_state *s = st;
    struct g_table t;
    uint8_t *certs[G_NKEYS], *der = NULL;
    size_t lens[G_NKEYS];
    EVP_PKEY *cpub = X509_get0_pubkey(cert);
    int i, len;

    for (i = 0; i < G_NKEYS; i++)
        if (s->key[i] && cpub && EVP_PKEY_eq(s->key[i], cpub) == 1)
            break;
    if (i == G_NKEYS) {
        fprintf(stderr, "no key on the card matches the certificate\n");
        return -1;
    }
    len = i2d_X509(cert, &der);
    if (len < 256) {
        fprintf(stderr, "certificate too short for the G object store\n");
        OPENSSL_free(der);
        return -1;
    }
    if (snapshot(s, &t, certs, lens) != 0) {
        OPENSSL_free(der);
        drop(certs);
        return -1;
    }
    free(certs[i]);
    certs[i] = malloc((size_t)len);
    if (!certs[i]) {
        OPENSSL_free(der);
        drop(certs);
        return -1;
    }
    memcpy(certs[i], der, (size_t)len);
    lens[i] = (size_t)len;
    OPENSSL_free(der);
    t.e[i].allocated = true;
    t.e[i].bits = (unsigned)EVP_PKEY_get_bits(s->key[i]);
    if (relayout(s, &t, certs, lens) != 0) {
        fprintf(stderr, "object store full\n");
        return -1;
    }
    return 0;
}

int vc_g_damage(void *st, const char *kind)
{
    struct g_state *s = st;
    struct g_table t;
    uint8_t *certs[G_NKEYS];
    size_t lens[G_NKEYS];
    int i;

    if (strcmp(kind, "empty") == 0) {
        if (snapshot(s, &t, certs, lens) != 0) {
            drop(certs);
            return -1;
        }
        for (i = 0; i < G_NKEYS; i++) {
            t.e[i].allocated = false;
            EVP_PKEY_free(s->key[i]);
            s->key[i] = NULL;
        }
        return relayout(s, &t, certs, lens);
    }
    if (strcmp(kind, "mismatch") != 0 && strcmp(kind, "dangling") != 0) {
        fprintf(stderr, "damage kinds: mismatch, dangling, empty\n");
        return -1;
    }
    vc_g_parse_table(s, &t);
    for (size_t j = 0; j < t.n; j++) {
        uint8_t ref = t.e[j].ref;

        if (!t.e[j].allocated || ref < G_REF0 || ref >= G_REF0 + G_NKEYS ||
            !s->key[ref - G_REF0])
            continue;
        i = ref - G_REF0;
        if (kind[0] == 'd') {           /* the entry stays, its key goes */
            EVP_PKEY_free(s->key[i]);
            s->key[i] = NULL;
            return 0;
        }
        EVP_PKEY_free(s->key[i]);       /* a new key under the old cert */
        s->key[i] = vc_g_rsa_generate(t.e[j].bits == 2048 ? 2048 : 1024);
        return s->key[i] ? 0 : -1;
    }
    fprintf(stderr, "the card has no credential to damage\n");
    return -1;
}

void vc_g_info(void *st, FILE *out)
{
    struct g_state *s = st;
    struct g_table t;
    size_t nalloc = 0;

    vc_g_parse_table(s, &t);
    fprintf(out, "serial ");
    for (int i = 10; i < 18; i++)
        fprintf(out, "%02X", s->cplc[i]);
    fprintf(out, "\npin_tries %u\n", s->tries);
    for (size_t j = 0; j < t.n; j++)
        nalloc += t.e[j].allocated;
    fprintf(out, "containers %zu\n", nalloc);
    for (size_t j = 0; j < t.n; j++) {
        const struct g_entry *e = &t.e[j];
        bool has_key = e->ref >= G_REF0 && e->ref < G_REF0 + G_NKEYS &&
                       s->key[e->ref - G_REF0];
        char cn[128] = "-";

        if (!e->allocated)
            continue;
        if (e->cert_len) {
            const uint8_t *p = s->ef + e->cert_off;
            X509 *x = d2i_X509(NULL, &p, (long)e->cert_len);

            if (!x || X509_NAME_get_text_by_NID(X509_get_subject_name(x),
                                                NID_commonName, cn,
                                                sizeof cn) < 0)
                snprintf(cn, sizeof cn, "?");
            X509_free(x);
        }
        fprintf(out, "container %02X rsa%u key=%s cert=%s\n", e->ref, e->bits,
                has_key ? "yes" : "no", cn);
    }
    for (int i = 0; i < G_NKEYS; i++) {
        bool alloc = false;

        for (size_t j = 0; j < t.n; j++)
            alloc |= t.e[j].allocated && t.e[j].ref == G_REF0 + i;
        if (s->key[i] && !alloc)
            fprintf(out, "pending %02X rsa%d\n", G_REF0 + i,
                    EVP_PKEY_get_bits(s->key[i]));
    }
}
