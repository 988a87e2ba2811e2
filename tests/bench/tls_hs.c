/* tls_hs: TLS client-auth handshakes per second, the client's key on the
 * card through a PKCS#11 module (OpenSSL's pkcs11 engine, libp11) against
 * the same client with a software key, both against one local server that
 * requires a client certificate. Every handshake is a full one (no
 * session cache, no tickets): one client signature each. Prints figures,
 * never judges them; exits 1 only on an error.
 *
 *   tls_hs N MODULE CERT.pem tls13|tls12-sha1
 *   CARDRENEW_PIN  the user PIN (never argv)
 *   BENCH_TRACE    the virtual card's trace (vcard --clock real): the card
 *                  run's time again with the card's own time replaced by
 *                  the model's (its "clock" notes)
 * tls12-sha1: TLS 1.2 with RSA+SHA1 client signatures, what a profile G
 * card can make; tls13: TLS 1.3 (RSA-PSS). */
#define OPENSSL_SUPPRESS_DEPRECATED     /* the engine API: libp11 has no provider here */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static bool tls12;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *what)
{
    fprintf(stderr, "tls_hs: %s\n", what);
    ERR_print_errors_fp(stderr);
    return 1;
}

/* Both sides the same rules: a G card signs PKCS#1 v1.5 with SHA-1 only. */
static int configure(SSL_CTX *ctx)
{
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (!tls12)
        return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_security_level(ctx, 0);
    return SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) &&
           SSL_CTX_set1_client_sigalgs_list(ctx, "RSA+SHA1");
}

static EVP_PKEY *soft_key(void)
{
    return EVP_RSA_gen(2048);
}

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    if (!X509_sign(x, k, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int accept_any(int ok, X509_STORE_CTX *st)
{
    (void)ok;
    (void)st;
    return 1;       /* who the client is does not matter here; that it signs does */
}

/* The server: one handshake per connection, a client certificate
 * required, until killed. */
static void serve(int lfd)
{
    EVP_PKEY *k = soft_key();
    X509 *x = k ? self_signed(k, "localhost") : NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!x || !ctx || !configure(ctx) || SSL_CTX_use_certificate(ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, k) != 1)
        _exit(die("server setup"));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(errno == EINTR ? 0 : 1);
        SSL *s = SSL_new(ctx);
        SSL_set_fd(s, fd);
        char b;
        /* The client's one byte proves the handshake, its certificate
         * verify included, completed on both sides. */
        if (SSL_accept(s) == 1 && SSL_get0_peer_certificate(s) && SSL_read(s, &b, 1) == 1)
            SSL_write(s, &b, 1);
        SSL_free(s);
        close(fd);
    }
}

/* n full handshakes with this key and certificate; their wall time. */
static int handshakes(int n, unsigned short port, EVP_PKEY *k, X509 *x, double *ms)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || !configure(ctx) || SSL_CTX_use_certificate(ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, k) != 1)
        return die("client setup");
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            return die("connect");
        SSL *s = SSL_new(ctx);
        SSL_set_fd(s, fd);
        char b = 'x';
        if (SSL_connect(s) != 1 || SSL_write(s, &b, 1) != 1 || SSL_read(s, &b, 1) != 1) {
            SSL_free(s);
            close(fd);
            return die("handshake");
        }
        SSL_free(s);
        close(fd);
    }
    *ms = now_ms() - t0;
    SSL_CTX_free(ctx);
    return 0;
}

/* The card's own time and the model's (ms) in the trace since *off. */
static void card_clock(const char *path, long *off, double *card_ms, double *model_ms)
{
    *card_ms = *model_ms = 0;
    if (!path)
        return;
    struct stat a, b;
    if (stat(path, &a) != 0)
        return;
    for (;;) {          /* the card notes a command just after it answers */
        usleep(3000);
        if (stat(path, &b) != 0 || b.st_size == a.st_size)
            break;
        a = b;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[8192];
    if (fseek(f, *off, SEEK_SET) == 0) {
        while (fgets(line, sizeof(line), f)) {
            const char *sp = strchr(line, ' ');
            long mu, cu;
            if (sp && sscanf(sp, " # clock model_us=%ld card_us=%ld", &mu, &cu) == 2) {
                *model_ms += mu / 1e3;
                *card_ms += cu / 1e3;
            }
        }
        *off = ftell(f);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 5 || atoi(argv[1]) < 1 ||
        (strcmp(argv[4], "tls13") && strcmp(argv[4], "tls12-sha1"))) {
        fprintf(stderr, "usage: tls_hs N MODULE CERT.pem tls13|tls12-sha1 (PIN in CARDRENEW_PIN)\n");
        return 1;
    }
    int n = atoi(argv[1]);
    tls12 = !strcmp(argv[4], "tls12-sha1");
    const char *pin = getenv("CARDRENEW_PIN");
    const char *trace = getenv("BENCH_TRACE");
    if (!pin)
        return die("CARDRENEW_PIN not set");

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        return die("listen");
    /* The server before anything touches PKCS#11: a fork must not. */
    pid_t srv = fork();
    if (srv < 0)
        return die("fork");
    if (srv == 0)
        serve(lfd);
    close(lfd);
    unsigned short port = ntohs(sa.sin_port);
    int rc = 1;

    FILE *cf = fopen(argv[3], "r");
    X509 *card_cert = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
    if (cf)
        fclose(cf);
    EVP_PKEY *sk = soft_key();
    X509 *sx = sk ? self_signed(sk, "software key") : NULL;
    ENGINE *e = NULL;
    EVP_PKEY *ck = NULL;
    if (!card_cert || !sx) {
        die("certificates");
        goto out;
    }
    ENGINE_load_builtin_engines();
    e = ENGINE_by_id("pkcs11");
    if (!e || !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", argv[2], 0) ||
        !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0) || !ENGINE_init(e)) {
        die("the pkcs11 engine (libengine-pkcs11-openssl)");
        goto out;
    }
    ck = ENGINE_load_private_key(e, "pkcs11:type=private", NULL, NULL);
    if (!ck || X509_check_private_key(card_cert, ck) != 1) {
        die("the card's private key for the certificate");
        goto out;
    }
    /* One untimed handshake each: the card's first signature after the
     * log-in, the software key's first use. */
    double card_ms, soft_ms, cms, mms, w;
    long off = 0;
    if (handshakes(1, port, ck, card_cert, &w) || handshakes(1, port, sk, sx, &w))
        goto out;
    card_clock(trace, &off, &cms, &mms);
    if (handshakes(n, port, ck, card_cert, &card_ms))
        goto out;
    card_clock(trace, &off, &cms, &mms);
    if (handshakes(n, port, sk, sx, &soft_ms))
        goto out;
    printf("%-34s %12s %14s\n", tls12 ? "TLS 1.2, RSA+SHA1 client auth" : "TLS 1.3 client auth",
           "ms each", "per second");
    printf("%-34s %12.2f %14.1f\n", "card key through the module", card_ms / n, n * 1e3 / card_ms);
    printf("%-34s %12.2f %14.1f\n", "software key", soft_ms / n, n * 1e3 / soft_ms);
    if (mms > 0) {
        double real = card_ms - cms + mms;
        printf("%-34s %12.2f %14.1f\n", "card key, real-card clock", real / n, n * 1e3 / real);
    }
    printf("(%d full handshakes each, one client signature each, same client and server)\n", n);
    rc = 0;
out:
    EVP_PKEY_free(ck);
    if (e) {
        ENGINE_finish(e);
        ENGINE_free(e);
    }
    EVP_PKEY_free(sk);
    X509_free(sx);
    X509_free(card_cert);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    return rc;
}
