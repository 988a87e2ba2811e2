/* vcard: a virtual smartcard for vsmartcard-vpcd, with a card image file.
 * PINs come from VCARD_PIN or --pin-file, the O PUK from VCARD_PUK; never
 * from argv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "tests/vcard/core.h"

static const char usage[] =
"usage: vcard new --profile G|O --image FILE [--holder NAME] [--serial HEX20]\n"
"             [--pin-file FILE]      (PIN: VCARD_PIN or --pin-file; O PUK: VCARD_PUK)\n"
"       vcard keygen --image FILE --type rsa1024|rsa2048|p256 --pubout PUB.pem\n"
"       vcard install-cert --image FILE --cert CERT.pem\n"
"       vcard damage --image FILE --kind mismatch|dangling|empty\n"
"       vcard info --image FILE\n"
"       vcard run --image FILE [--host 127.0.0.1] [--port 35963] [--trace FILE]\n"
"             [--control PATH] [--vanish-after N] [--tear-after K] [--mute]\n"
"             [--latency-us N] [--clock real]\n"
"       vcard ctl --control PATH COMMAND...\n"
"       vcard wait-ready [--readers N] [--timeout-ms MS]\n"
"       vcard send [--reader N] < APDUS   (hex, one a line; via PC/SC)\n";

struct opts {
    const char *profile, *image, *holder, *serial, *pin_file, *type, *pubout,
               *cert, *kind, *host, *trace, *control, *clock;
    long port, readers, reader, timeout_ms;
    struct vc_faults faults;
    int rest;                   /* index of the first non-option argument */
};

static int num(const char *s, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return errno || end == s || *end || *out < 0 || *out > max ? -1 : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct { const char *name; size_t off; } str[] = {
        { "--profile", offsetof(struct opts, profile) },
        { "--image", offsetof(struct opts, image) },
        { "--holder", offsetof(struct opts, holder) },
        { "--serial", offsetof(struct opts, serial) },
        { "--pin-file", offsetof(struct opts, pin_file) },
        { "--type", offsetof(struct opts, type) },
        { "--pubout", offsetof(struct opts, pubout) },
        { "--cert", offsetof(struct opts, cert) },
        { "--kind", offsetof(struct opts, kind) },
        { "--host", offsetof(struct opts, host) },
        { "--trace", offsetof(struct opts, trace) },
        { "--control", offsetof(struct opts, control) },
        { "--clock", offsetof(struct opts, clock) },
    };
    int i;

    o->host = "127.0.0.1";
    o->port = 35963;
    o->readers = 1;
    o->timeout_ms = 10000;
    vc_faults_clear(&o->faults);
    for (i = 2; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *lp = NULL, max = 1000000000L;
        size_t k;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--mute") == 0) {
            o->faults.mute = true;
            continue;
        }
        for (k = 0; k < sizeof str / sizeof str[0]; k++)
            if (strcmp(a, str[k].name) == 0)
                break;
        if (!v) {
            fprintf(stderr, "vcard: %s needs a value\n", a);
            return -1;
        }
        if (k < sizeof str / sizeof str[0]) {
            *(const char **)((char *)o + str[k].off) = v;
            i++;
            continue;
        }
        if (strcmp(a, "--port") == 0) {
            lp = &o->port;
            max = 65535;
        } else if (strcmp(a, "--vanish-after") == 0)
            lp = &o->faults.vanish_after;
        else if (strcmp(a, "--tear-after") == 0)
            lp = &o->faults.tear_after;
        else if (strcmp(a, "--latency-us") == 0) {
            lp = &o->faults.latency_us;
            max = 60000000L;
        } else if (strcmp(a, "--readers") == 0) {
            lp = &o->readers;
            max = 4;
        } else if (strcmp(a, "--reader") == 0) {
            lp = &o->reader;
            max = 15;
        } else if (strcmp(a, "--timeout-ms") == 0)
            lp = &o->timeout_ms;
        if (!lp) {
            fprintf(stderr, "vcard: unknown option %s\n", a);
            return -1;
        }
        if (num(v, max, lp) != 0) {
            fprintf(stderr, "vcard: %s: not a number in range: %s\n", a, v);
            return -1;
        }
        i++;
    }
    o->rest = i;
    return 0;
}

static int need(const char *v, const char *what)
{
    if (!v)
        fprintf(stderr, "vcard: %s is required\n", what);
    return v ? 0 : -1;
}

/* The PIN from VCARD_PIN, or the first line of --pin-file. */
static int read_pin(const char *file, char *pin, size_t len)
{
    const char *env = getenv("VCARD_PIN");
    FILE *f;

    if (!file) {
        if (!env || strlen(env) >= len) {
            fprintf(stderr, "vcard: set VCARD_PIN or give --pin-file\n");
            return -1;
        }
        strcpy(pin, env);
        return 0;
    }
    f = fopen(file, "re");
    if (!f) {
        fprintf(stderr, "vcard: %s: %s\n", file, strerror(errno));
        return -1;
    }
    if (!fgets(pin, (int)len, f)) {
        fclose(f);
        fprintf(stderr, "vcard: %s: empty\n", file);
        return -1;
    }
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    return 0;
}

static int hex10(const char *s, uint8_t out[10])
{
    if (strlen(s) != 20)
        return -1;
    for (int i = 0; i < 10; i++) {
        unsigned v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
            !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int cmd_new(const struct opts *o)
{
    char pin[32] = "", err[256];
    uint8_t serial[10];
    struct vc_new n = { .holder = o->holder ? o->holder : "Test Holder" };
    struct vc_card card = { 0 };
    int rc = 1;

    if (need(o->profile, "--profile") || need(o->image, "--image"))
        return 2;
    card.prof = vc_profile_find(o->profile);
    if (!card.prof) {
        fprintf(stderr, "vcard: profile %s is not in this build\n", o->profile);
        return 2;
    }
    if (o->serial && hex10(o->serial, serial) != 0) {
        fprintf(stderr, "vcard: --serial takes 20 hex digits\n");
        return 2;
    }
    if (read_pin(o->pin_file, pin, sizeof pin) != 0)
        goto out;
    n.pin = pin;
    n.puk = getenv("VCARD_PUK");
    n.serial = o->serial ? serial : NULL;
    card.st = card.prof->create(&n);
    if (!card.st) {
        fprintf(stderr, "vcard: cannot create a %s card (PIN must be 6-16 "
                "digits for G; see the profile for O)\n", card.prof->name);
        goto out;
    }
    if (vc_image_save(o->image, &card, err, sizeof err) != 0) {
        fprintf(stderr, "vcard: %s\n", err);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(pin, sizeof pin);
    vc_card_free(&card);
    return rc;
}

static int load(const struct opts *o, struct vc_card *card)
{
    char err[256];

    if (need(o->image, "--image"))
        return -1;
    if (vc_image_load(o->image, card, err, sizeof err) != 0) {
        fprintf(stderr, "vcard: %s\n", err);
        return -1;
    }
    return 0;
}

static int save(const struct opts *o, struct vc_card *card)
{
    char err[256];

    if (vc_image_save(o->image, card, err, sizeof err) != 0) {
        fprintf(stderr, "vcard: %s\n", err);
        return -1;
    }
    return 0;
}

static int cmd_keygen(const struct opts *o)
{
    struct vc_card card;
    EVP_PKEY *pub = NULL;
    FILE *f = NULL;
    int rc = 1;

    if (need(o->type, "--type") || need(o->pubout, "--pubout") ||
        load(o, &card))
        return 2;
    if (card.prof->perso_generate(card.st, o->type, &pub) != 0) {
        fprintf(stderr, "vcard: key generation (%s) failed\n", o->type);
        goto out;
    }
    f = fopen(o->pubout, "we");
    if (!f || PEM_write_PUBKEY(f, pub) != 1) {
        fprintf(stderr, "vcard: cannot write %s\n", o->pubout);
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "vcard: cannot write %s\n", o->pubout);
        goto out;
    }
    f = NULL;
    rc = save(o, &card) ? 1 : 0;
out:
    if (f)
        fclose(f);
    EVP_PKEY_free(pub);
    vc_card_free(&card);
    return rc;
}

static int cmd_install(const struct opts *o)
{
    struct vc_card card;
    X509 *x = NULL;
    FILE *f;
    int rc = 1;

    if (need(o->cert, "--cert") || load(o, &card))
        return 2;
    f = fopen(o->cert, "re");
    if (f) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!x) {
        fprintf(stderr, "vcard: %s: not a PEM certificate\n", o->cert);
        goto out;
    }
    if (card.prof->perso_install_cert(card.st, x) != 0) {
        fprintf(stderr, "vcard: installing the certificate failed\n");
        goto out;
    }
    rc = save(o, &card) ? 1 : 0;
out:
    X509_free(x);
    vc_card_free(&card);
    return rc;
}

static int cmd_damage(const struct opts *o)
{
    struct vc_card card;
    int rc = 1;

    if (need(o->kind, "--kind") || load(o, &card))
        return 2;
    if (card.prof->damage(card.st, o->kind) != 0)
        fprintf(stderr, "vcard: damage %s failed\n", o->kind);
    else
        rc = save(o, &card) ? 1 : 0;
    vc_card_free(&card);
    return rc;
}

static int cmd_info(const struct opts *o)
{
    struct vc_card card;

    if (load(o, &card))
        return 2;
    printf("profile %s\n", card.prof->name);
    if (card.prof->info)
        card.prof->info(card.st, stdout);
    vc_card_free(&card);
    return 0;
}

static int cmd_run(const struct opts *o)
{
    struct vc_run_opts r = {
        .image = o->image, .host = o->host, .port = (int)o->port,
        .trace = o->trace, .control = o->control, .clock = o->clock,
        .faults = o->faults,
    };

    if (need(o->image, "--image"))
        return 2;
    return vc_run(&r);
}

static int cmd_ctl(const struct opts *o, int argc, char **argv)
{
    char line[200] = "";

    if (need(o->control, "--control"))
        return 2;
    if (o->rest >= argc) {
        fprintf(stderr, "vcard ctl: give a command (vanish N, tear K, mute, "
                "unmute, latency US, back, clear, status)\n");
        return 2;
    }
    for (int i = o->rest; i < argc; i++) {
        if (strlen(line) + strlen(argv[i]) + 2 > sizeof line) {
            fprintf(stderr, "vcard ctl: command too long\n");
            return 2;
        }
        if (i > o->rest)
            strcat(line, " ");
        strcat(line, argv[i]);
    }
    return vc_ctl_send(o->control, line);
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    const char *cmd = argc > 1 ? argv[1] : "";

    if (argc < 2 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (parse(argc, argv, &o) != 0)
        return 2;
    if (o.rest < argc && strcmp(cmd, "ctl") != 0) {
        fprintf(stderr, "vcard: unexpected argument %s\n", argv[o.rest]);
        return 2;
    }
    if (strcmp(cmd, "new") == 0)
        return cmd_new(&o);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(&o);
    if (strcmp(cmd, "install-cert") == 0)
        return cmd_install(&o);
    if (strcmp(cmd, "damage") == 0)
        return cmd_damage(&o);
    if (strcmp(cmd, "info") == 0)
        return cmd_info(&o);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(&o);
    if (strcmp(cmd, "ctl") == 0)
        return cmd_ctl(&o, argc, argv);
    if (strcmp(cmd, "wait-ready") == 0) {
        if (vc_wait_ready((int)o.readers, (int)o.timeout_ms) == 0)
            return 0;
        fprintf(stderr, "vcard: no card in %ld reader(s) after %ld ms\n",
                o.readers, o.timeout_ms);
        return 1;
    }
    if (strcmp(cmd, "send") == 0)
        return vc_send_apdus((int)o.reader, stdin, stdout);
    fprintf(stderr, "vcard: unknown command %s\n%s", cmd, usage);
    return 2;
}
