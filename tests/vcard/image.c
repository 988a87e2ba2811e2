/* image.c: the card image file. The whole card state lives in one file,
 * replaced atomically (write a temporary, fsync, rename, fsync the
 * directory) so a crash leaves either the old or the new card. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "tests/vcard/core.h"

#define IMG_MAGIC "CRVCARD1"
#define IMG_VERSION 1
#define IMG_NAME_MAX 15
#define IMG_DIGEST 32
#define IMG_MAX (16u * 1024 * 1024)

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static int sha256(const uint8_t *buf, size_t len, uint8_t out[IMG_DIGEST])
{
    unsigned int n = 0;
    return EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int vc_image_parse(const uint8_t *buf, size_t len, struct vc_card *card,
                   char *err, size_t errlen)
{
    uint8_t dg[IMG_DIGEST];
    char name[IMG_NAME_MAX + 1];
    size_t nlen, hdr;
    uint32_t blen;

    card->prof = NULL;
    card->st = NULL;
    if (len < 8 + 4 + 1 || memcmp(buf, IMG_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a card image (bad magic)");
        return -1;
    }
    if (get32(buf + 8) != IMG_VERSION) {
        snprintf(err, errlen, "card image version %u not supported",
                 (unsigned)get32(buf + 8));
        return -1;
    }
    nlen = buf[12];
    hdr = 13 + nlen + 4;
    if (nlen == 0 || nlen > IMG_NAME_MAX || len < hdr) {
        snprintf(err, errlen, "card image header truncated or malformed");
        return -1;
    }
    memcpy(name, buf + 13, nlen);
    name[nlen] = '\0';
    blen = get32(buf + 13 + nlen);
    if (blen > len - hdr || len - hdr - blen != IMG_DIGEST) {
        snprintf(err, errlen, "card image truncated (%zu bytes, expected %zu)",
                 len, hdr + (size_t)blen + IMG_DIGEST);
        return -1;
    }
    if (sha256(buf, hdr + blen, dg) != 0 ||
        memcmp(dg, buf + hdr + blen, IMG_DIGEST) != 0) {
        snprintf(err, errlen, "card image corrupt (checksum mismatch)");
        return -1;
    }
    card->prof = vc_profile_find(name);
    if (!card->prof) {
        snprintf(err, errlen, "card image has profile \"%s\", not in this build",
                 name);
        return -1;
    }
    card->st = card->prof->load(buf + hdr, blen);
    if (!card->st) {
        snprintf(err, errlen, "card image: profile %s state is malformed", name);
        card->prof = NULL;
        return -1;
    }
    return 0;
}

int vc_image_load(const char *path, struct vc_card *card, char *err,
                  size_t errlen)
{
    uint8_t *buf = NULL;
    struct stat sb;
    size_t got = 0;
    int fd, rc = -1;

    card->prof = NULL;
    card->st = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > IMG_MAX) {
        snprintf(err, errlen, "%s: not a card image file", path);
        goto out;
    }
    buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: read failed", path);
            goto out;
        }
        got += (size_t)n;
    }
    if (vc_image_parse(buf, got, card, err, errlen) == 0)
        rc = 0;
    else {
        /* Prefix the file name: the reason alone does not say which. */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errlen, "%s: %s", path, tmp);
    }
out:
    if (buf)
        OPENSSL_cleanse(buf, got);
    free(buf);
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int vc_image_save(const char *path, const struct vc_card *card, char *err,
                  size_t errlen)
{
    uint8_t *blob = NULL, *img = NULL;
    size_t blen = 0, nlen = strlen(card->prof->name), hdr, total = 0;
    char *tmp = NULL, *dcopy = NULL;
    int fd = -1, rc = -1;

    if (nlen == 0 || nlen > IMG_NAME_MAX) {
        snprintf(err, errlen, "bad profile name");
        return -1;
    }
    if (card->prof->save(card->st, &blob, &blen) != 0 || blen > IMG_MAX) {
        snprintf(err, errlen, "profile %s could not save its state",
                 card->prof->name);
        goto out;
    }
    hdr = 13 + nlen + 4;
    total = hdr + blen + IMG_DIGEST;
    img = malloc(total);
    if (!img || asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        tmp = NULL;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memcpy(img, IMG_MAGIC, 8);
    put32(img + 8, IMG_VERSION);
    img[12] = (uint8_t)nlen;
    memcpy(img + 13, card->prof->name, nlen);
    put32(img + 13 + nlen, (uint32_t)blen);
    memcpy(img + hdr, blob, blen);
    if (sha256(img, hdr + blen, img + hdr + blen) != 0) {
        snprintf(err, errlen, "digest failed");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, img, total) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    dcopy = strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp)
        unlink(tmp);
    if (blob)
        OPENSSL_cleanse(blob, blen);
    if (img)
        OPENSSL_cleanse(img, total);
    free(blob);
    free(img);
    free(tmp);
    free(dcopy);
    return rc;
}

void vc_card_free(struct vc_card *card)
{
    if (card->prof && card->st)
        card->prof->free(card->st);
    card->prof = NULL;
    card->st = NULL;
}
