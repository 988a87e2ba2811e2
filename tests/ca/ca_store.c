/* ca_store.c: the CA's own key and self-signed root, made on first use. */
#include "tests/ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define DEFAULT_SUBJECT "/C=GB/O=NHS/OU=cardrenew test/CN=cardrenew Test CA"

static int add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *make_root(EVP_PKEY *key, const char *subject)
{
    X509 *cert = X509_new();
    X509_NAME *name = ca_parse_name(subject);
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    BIGNUM *bn = BN_new();
    X509V3_CTX v3;
    time_t now = time(NULL);

    if (cert == NULL || name == NULL || serial == NULL || bn == NULL)
        goto fail;
    if (!BN_rand(bn, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)
        || BN_to_ASN1_INTEGER(bn, serial) == NULL
        || !X509_set_version(cert, 2)
        || !X509_set_serialNumber(cert, serial)
        || !X509_set_subject_name(cert, name)
        || !X509_set_issuer_name(cert, name)
        || X509_time_adj_ex(X509_getm_notBefore(cert), -3 * 365 - 1, 0, &now) == NULL
        || X509_time_adj_ex(X509_getm_notAfter(cert), 20 * 365 + 5, 0, &now) == NULL
        || !X509_set_pubkey(cert, key))
        goto fail;
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    if (!add_ext(cert, &v3, NID_basic_constraints, "critical,CA:TRUE")
        || !add_ext(cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature")
        || !add_ext(cert, &v3, NID_subject_key_identifier, "hash")
        || !add_ext(cert, &v3, NID_authority_key_identifier, "keyid:always")
        || !X509_sign(cert, key, EVP_sha256()))
        goto fail;
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_NAME_free(name);
    return cert;
fail:
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_NAME_free(name);
    X509_free(cert);
    return NULL;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, int mode)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;
    int rc = -1;

    if (b == NULL)
        return -1;
    if (key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                    : PEM_write_bio_X509(b, cert)) {
        n = BIO_get_mem_data(b, &p);
        rc = ca_write_atomic(path, p, (size_t)n, mode);
    }
    BIO_free(b);
    return rc;
}

static int init_dir(struct ca *ca, const char *kpath, const char *cpath,
                    const char *subject)
{
    ca->key = EVP_EC_gen("P-256");
    if (ca->key == NULL) {
        fprintf(stderr, "cmp-test-ca: cannot generate the CA key\n");
        return -1;
    }
    ca->cert = make_root(ca->key, subject != NULL ? subject : DEFAULT_SUBJECT);
    if (ca->cert == NULL) {
        fprintf(stderr, "cmp-test-ca: cannot make the root certificate "
                "(is the subject like /C=GB/O=NHS/CN=Name?)\n");
        return -1;
    }
    /* Key first: a directory with ca.pem always has the key behind it. */
    if (write_pem(kpath, ca->key, NULL, 0600) != 0
        || write_pem(cpath, NULL, ca->cert, 0644) != 0) {
        fprintf(stderr, "cmp-test-ca: cannot write %s\n", cpath);
        return -1;
    }
    return 0;
}

static int load(struct ca *ca, const char *kpath, const char *cpath)
{
    FILE *f = fopen(kpath, "r");

    if (f != NULL) {
        ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    f = fopen(cpath, "r");
    if (f != NULL) {
        ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (ca->key == NULL || ca->cert == NULL
        || !X509_check_private_key(ca->cert, ca->key)) {
        fprintf(stderr, "cmp-test-ca: %s or %s is unreadable or they do not "
                "match\n", kpath, cpath);
        return -1;
    }
    return 0;
}

int ca_open(struct ca *ca, const char *dir, const char *subject)
{
    char kpath[4096], cpath[4096], sub[4096];
    int lk, rc = -1;

    memset(ca, 0, sizeof(*ca));
    if (strlen(dir) > 3000 || ca_mkdir(dir) != 0) {
        fprintf(stderr, "cmp-test-ca: cannot create the CA directory %s\n", dir);
        return -1;
    }
    ca->dir = strdup(dir);
    lk = ca_lock(dir);
    if (ca->dir == NULL || lk < 0) {
        fprintf(stderr, "cmp-test-ca: cannot lock %s\n", dir);
        ca_unlock(lk);
        ca_close(ca);
        return -1;
    }
    snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
    snprintf(cpath, sizeof(cpath), "%s/ca.pem", dir);
    if (access(cpath, F_OK) == 0)
        rc = load(ca, kpath, cpath);
    else
        rc = init_dir(ca, kpath, cpath, subject);
    snprintf(sub, sizeof(sub), "%s/certs", dir);
    if (rc == 0 && ca_mkdir(sub) != 0)
        rc = -1;
    snprintf(sub, sizeof(sub), "%s/secrets", dir);
    if (rc == 0 && ca_mkdir(sub) != 0)
        rc = -1;
    ca_unlock(lk);
    if (rc != 0)
        ca_close(ca);
    return rc;
}

void ca_close(struct ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca->dir);
    memset(ca, 0, sizeof(*ca));
}
