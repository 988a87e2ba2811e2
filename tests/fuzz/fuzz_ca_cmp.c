/* fuzz_ca_cmp.c: the test CA's CMP input (tests/ca/ca_srv.c and the DER
 * it reads itself, ca_der.c) on any bytes, against a CA made once in a
 * temporary directory (removed at exit). Whatever comes in, the answer is
 * a DER CMP message or a refusal, never a crash or a leak; an answer
 * given decodes as CMP. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/ca/ca.h"

static struct ca ca;
static struct ca_srv *srv;
static char dir[] = "/tmp/cardrenew-fuzz-ca-XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    ca_srv_free(srv);
    ca_close(&ca);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    if (!mkdtemp(dir) || ca_open(&ca, dir, "/CN=Fuzz CA") != 0 ||
        !(srv = ca_srv_new(&ca, 0)))
        abort();
    atexit(cleanup);
    /* A one-time secret, so a MAC-protected request can name a reference
     * the CA knows. */
    char ref[CA_REF_MAX], secret[CA_SECRET_MAX];
    if (ca_secret_new(dir, ref, sizeof(ref), secret, sizeof(secret)) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *der = malloc(size ? size : 1);
    memcpy(der, data, size);
    struct ca_msg_info info;
    if (ca_msg_info(der, size, &info) == 0) {
        if (info.kid_len > sizeof(info.kid))
            abort();
        ca_msg_info_free(&info);
    }
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = ca_srv_handle(srv, der, size, CA_MODE_NORMAL, &out, &outlen);
    if (rc == 0) {
        const unsigned char *p = out;
        OSSL_CMP_MSG *m = d2i_OSSL_CMP_MSG(NULL, &p, (long)outlen);
        if (!m || p != out + outlen)
            abort();
        OSSL_CMP_MSG_free(m);
    } else if (out || outlen) {
        abort();
    }
    OPENSSL_free(out);
    free(der);
    return 0;
}
