/* cmp-test-ca: a CMP test CA for cardrenew (see tests/ca/ca.h). */
#include "tests/ca/ca.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

static const char usage[] =
"usage: cmp-test-ca COMMAND --dir CADIR [options]\n"
"  init    [--subject DN]                    make the CA (any command does)\n"
"  issue   --pubkey PUB.pem --subject DN [--days N] [--expires-in DAYS]\n"
"          [--out CERT.pem]                  issue offline, as an RA would\n"
"  serve   [--host H] [--port N] [--port-file F] [--days N]\n"
"          [--misbehave refuse|delay:MS|drop|garbage|wrongkey|expired|notyet|\n"
"                       foreign|othersubject|isca|short] [--control F]\n"
"  secret                                    print 'REF SECRET' (one use)\n"
"  revoke  --serial HEX\n"
"  crl     --out CRL.pem\n"
"  list\n";

struct args {
    const char *cmd, *dir, *subject, *pubkey, *out, *serial;
    int days, have_expires, port;
    long expires_in;
    struct ca_serve_opts serve;
};

static int num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        { "dir", 1, 0, 'd' }, { "subject", 1, 0, 's' }, { "pubkey", 1, 0, 'k' },
        { "days", 1, 0, 'D' }, { "expires-in", 1, 0, 'e' }, { "out", 1, 0, 'o' },
        { "host", 1, 0, 'H' }, { "port", 1, 0, 'p' }, { "port-file", 1, 0, 'P' },
        { "misbehave", 1, 0, 'm' }, { "control", 1, 0, 'c' },
        { "serial", 1, 0, 'n' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    long v;
    int c;

    memset(a, 0, sizeof(*a));
    a->serve.host = "127.0.0.1";
    if (argc < 2 || argv[1][0] == '-') {
        fputs(usage, argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    a->cmd = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->dir = optarg; break;
        case 's': a->subject = optarg; break;
        case 'k': a->pubkey = optarg; break;
        case 'o': a->out = optarg; break;
        case 'n': a->serial = optarg; break;
        case 'H': a->serve.host = optarg; break;
        case 'P': a->serve.port_file = optarg; break;
        case 'c': a->serve.control = optarg; break;
        case 'D':
            if (num(optarg, 1, 36500, &v) != 0)
                goto bad;
            a->days = (int)v;
            break;
        case 'e':
            if (num(optarg, -36500, 36500, &v) != 0)
                goto bad;
            a->expires_in = v;
            a->have_expires = 1;
            break;
        case 'p':
            if (num(optarg, 0, 65535, &v) != 0)
                goto bad;
            a->serve.port = (int)v;
            break;
        case 'm':
            if (ca_mis_parse(optarg, &a->serve.mis) != 0)
                goto bad;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "cmp-test-ca: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (a->dir == NULL) {
        fprintf(stderr, "cmp-test-ca: --dir CADIR is required\n");
        return 2;
    }
    a->serve.days = a->days;
    return -1;
bad:
    fprintf(stderr, "cmp-test-ca: bad value '%s' for an option\n", optarg);
    return 2;
}

static int cmd_issue(const struct ca *ca, const struct args *a)
{
    EVP_PKEY *pub = NULL;
    X509_NAME *name = NULL;
    X509 *cert = NULL;
    FILE *f;
    char err[256];
    time_t nb, na;
    int rc = 1;

    if (a->pubkey == NULL || a->subject == NULL) {
        fprintf(stderr, "cmp-test-ca: issue needs --pubkey and --subject\n");
        return 2;
    }
    f = fopen(a->pubkey, "r");
    if (f != NULL) {
        pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (pub == NULL) {
        fprintf(stderr, "cmp-test-ca: cannot read a PEM public key from %s\n",
                a->pubkey);
        goto out;
    }
    name = ca_parse_name(a->subject);
    if (name == NULL) {
        fprintf(stderr, "cmp-test-ca: bad subject '%s' (want /C=GB/O=NHS/CN=Name)\n",
                a->subject);
        goto out;
    }
    ca_validity(ca, a->days, a->have_expires, a->expires_in, time(NULL), &nb, &na);
    cert = ca_issue(ca, pub, name, nb, na, 0, err, sizeof(err));
    if (cert == NULL) {
        fprintf(stderr, "cmp-test-ca: cannot issue: %s\n", err);
        goto out;
    }
    if (a->out != NULL && strcmp(a->out, "-") != 0) {
        char *pem;
        size_t len;

        if (ca_pem_cert(cert, &pem, &len) != 0
            || ca_write_atomic(a->out, pem, len, 0644) != 0) {
            fprintf(stderr, "cmp-test-ca: cannot write %s\n", a->out);
            free(pem);
            goto out;
        }
        free(pem);
    } else if (!PEM_write_X509(stdout, cert)) {
        goto out;
    }
    rc = 0;
out:
    X509_free(cert);
    X509_NAME_free(name);
    EVP_PKEY_free(pub);
    return rc;
}

static int cmd_secret(const struct ca *ca)
{
    char ref[CA_REF_MAX], secret[CA_SECRET_MAX];
    int rc = 1;

    if (ca_secret_new(ca->dir, ref, sizeof(ref), secret, sizeof(secret)) == 0) {
        printf("%s %s\n", ref, secret);
        rc = fflush(stdout) == 0 ? 0 : 1;
    } else {
        fprintf(stderr, "cmp-test-ca: cannot store a new secret\n");
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

static int cmd_revoke(const struct ca *ca, const struct args *a)
{
    char norm[80];
    int rc;

    if (a->serial == NULL || ca_serial_norm(a->serial, norm, sizeof(norm)) != 0) {
        fprintf(stderr, "cmp-test-ca: revoke needs --serial HEX\n");
        return 2;
    }
    rc = ca_db_revoke(ca->dir, norm, time(NULL));
    if (rc == 0)
        printf("revoked %s\n", norm);
    else if (rc == 1)
        fprintf(stderr, "cmp-test-ca: no certificate with serial %s\n", norm);
    else if (rc == 2)
        fprintf(stderr, "cmp-test-ca: %s is already revoked\n", norm);
    else
        fprintf(stderr, "cmp-test-ca: cannot update the database\n");
    return rc == 0 ? 0 : 1;
}

static int cmd_list(const struct ca *ca)
{
    struct ca_rec *recs;
    size_t n, i;

    if (ca_db_load(ca->dir, &recs, &n) != 0) {
        fprintf(stderr, "cmp-test-ca: cannot read the database\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        char when[32];
        time_t t = (time_t)recs[i].not_after;
        struct tm tm;

        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        printf("%s %s %s %s\n", recs[i].serial,
               recs[i].status == 'R' ? "revoked" : "valid", when, recs[i].subject);
    }
    free(recs);
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;
    struct ca ca;
    int rc = parse(argc, argv, &a);

    if (rc >= 0)
        return rc;
    if (strcmp(a.cmd, "init") && strcmp(a.cmd, "issue") && strcmp(a.cmd, "serve")
        && strcmp(a.cmd, "secret") && strcmp(a.cmd, "revoke")
        && strcmp(a.cmd, "crl") && strcmp(a.cmd, "list")) {
        fprintf(stderr, "cmp-test-ca: unknown command '%s'\n%s", a.cmd, usage);
        return 2;
    }
    if (ca_open(&ca, a.dir, strcmp(a.cmd, "init") == 0 ? a.subject : NULL) != 0)
        return 1;
    if (strcmp(a.cmd, "init") == 0) {
        rc = 0;
    } else if (strcmp(a.cmd, "issue") == 0) {
        rc = cmd_issue(&ca, &a);
    } else if (strcmp(a.cmd, "serve") == 0) {
        rc = ca_serve(&ca, &a.serve);
    } else if (strcmp(a.cmd, "secret") == 0) {
        rc = cmd_secret(&ca);
    } else if (strcmp(a.cmd, "revoke") == 0) {
        rc = cmd_revoke(&ca, &a);
    } else if (strcmp(a.cmd, "crl") == 0) {
        if (a.out == NULL) {
            fprintf(stderr, "cmp-test-ca: crl needs --out FILE\n");
            rc = 2;
        } else if (ca_crl_write(&ca, a.out) != 0) {
            fprintf(stderr, "cmp-test-ca: cannot write the CRL to %s\n", a.out);
            rc = 1;
        } else {
            rc = 0;
        }
    } else {
        rc = cmd_list(&ca);
    }
    ca_close(&ca);
    return rc;
}
