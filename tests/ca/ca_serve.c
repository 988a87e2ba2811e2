/* ca_serve.c: HTTP on loopback, a thread per connection, one request per
 * connection, clean stop on SIGTERM/SIGINT. Misbehaviour comes from the
 * start flags or, per request, from the first line of the --control file. */
#include "tests/ca/ca.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define CONN_MAX 64
#define IO_TIMEOUT_S 10
#define REQUEST_DEADLINE_S 30

struct server {
    const struct ca_serve_opts *o;
    struct ca_srv *srv;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int active;
};

struct conn {
    struct server *sv;
    int fd;
};

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *type, const void *body,
                    size_t len)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, ca_http_reason(status), type, len);

    send_all(fd, hdr, (size_t)n);
    send_all(fd, body, len);
}

static void respond_error(int fd, int status, const char *text)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
                     ca_http_reason(status), text);

    respond(fd, status, "text/plain", body, (size_t)n);
}

static struct ca_mis current_mode(const struct ca_serve_opts *o)
{
    struct ca_mis m = o->mis;
    uint8_t *buf;
    size_t len;

    if (o->control != NULL && ca_read_file(o->control, 256, &buf, &len) == 0) {
        buf[strcspn((char *)buf, "\r\n")] = 0;
        if (ca_mis_parse((char *)buf, &m) != 0) {
            fprintf(stderr, "cmp-test-ca: %s: unknown mode, using the start flags\n",
                    o->control);
            m = o->mis;
        }
        free(buf);
    }
    return m;
}

static void serve_one(struct server *sv, int fd)
{
    size_t cap = CA_HTTP_HDR_MAX + CA_HTTP_BODY_MAX, have = 0;
    char *buf = malloc(cap + 1);
    struct ca_http_req r;
    struct ca_mis m;
    uint8_t *out = NULL;
    size_t outlen;
    time_t deadline = time(NULL) + REQUEST_DEADLINE_S;
    int st = 0, rc;

    if (buf == NULL)
        return;
    /* Read the header, then exactly Content-Length bytes of body, all
     * within one deadline so a trickling client cannot hold a thread. */
    for (;;) {
        ssize_t n;

        if (time(NULL) > deadline)
            goto out;
        n = recv(fd, buf + have, cap - have, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;           /* peer gone or timed out: nothing to say */
        have += (size_t)n;
        buf[have] = 0;
        if (st == 0) {
            st = ca_http_parse(buf, have, &r);
            if (st < 0) {
                respond_error(fd, -st, "expected POST /.well-known/cmp with "
                              "Content-Type application/pkixcmp and a body of "
                              "at most 65536 bytes");
                goto out;
            }
            if (st == 1 && r.expect_continue && have < r.hdr_len + r.body_len) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

                send_all(fd, cont, sizeof(cont) - 1);
            }
        }
        if (st == 1 && have >= r.hdr_len + r.body_len)
            break;
        if (have == cap) {
            respond_error(fd, 413, "request too large");
            goto out;
        }
    }
    m = current_mode(sv->o);
    if (m.mode == CA_MODE_DROP) {
        fprintf(stderr, "cmp-test-ca: drop: closing without an answer\n");
        goto out;
    }
    if (m.mode == CA_MODE_DELAY) {
        struct timespec ts = { m.delay_ms / 1000, (m.delay_ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    if (m.mode == CA_MODE_GARBAGE) {
        static const char junk[] = "this is not a DER-encoded PKIMessage\n";

        respond(fd, 200, "application/pkixcmp", junk, sizeof(junk) - 1);
        goto out;
    }
    rc = ca_srv_handle(sv->srv, (uint8_t *)buf + r.hdr_len, r.body_len, m.mode,
                       &out, &outlen);
    if (rc == 0)
        respond(fd, 200, "application/pkixcmp", out, outlen);
    else if (rc == -1)
        respond_error(fd, 400, "the body is not a DER-encoded CMP message");
    else
        respond_error(fd, 500, "cannot produce a CMP response");
out:
    OPENSSL_free(out);
    free(buf);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct server *sv = c->sv;

    serve_one(sv, c->fd);
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&sv->mu);
    if (--sv->active == 0)
        pthread_cond_broadcast(&sv->idle);
    pthread_mutex_unlock(&sv->mu);
    return NULL;
}

static int listen_on(const char *host, int port, int *bound)
{
    struct addrinfo hints = { 0 }, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char pstr[16];
    int fd = -1, one = 1;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(pstr, sizeof(pstr), "%d", port);
    if (getaddrinfo(host, pstr, &hints, &ai) != 0 || ai == NULL) {
        fprintf(stderr, "cmp-test-ca: cannot resolve %s\n", host);
        goto fail;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0
        || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        fprintf(stderr, "cmp-test-ca: cannot listen on %s:%d: %s\n", host, port,
                strerror(errno));
        goto fail;
    }
    *bound = ntohs(ss.ss_family == AF_INET6
                   ? ((struct sockaddr_in6 *)&ss)->sin6_port
                   : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    if (ai != NULL)
        freeaddrinfo(ai);
    return -1;
}

static void accept_one(struct server *sv, int lfd)
{
    struct timeval tv = { IO_TIMEOUT_S, 0 };
    pthread_attr_t attr;
    pthread_t th;
    struct conn *c;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
            struct timespec ts = { 0, 50000000L };  /* do not spin */

            nanosleep(&ts, NULL);
        }
        return;
    }
    pthread_mutex_lock(&sv->mu);
    if (sv->active >= CONN_MAX) {
        pthread_mutex_unlock(&sv->mu);
        respond_error(fd, 503, "too many connections");
        close(fd);
        return;
    }
    sv->active++;
    pthread_mutex_unlock(&sv->mu);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c = malloc(sizeof(*c));
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (c != NULL) {
        c->sv = sv;
        c->fd = fd;
    }
    if (c == NULL || pthread_create(&th, &attr, conn_main, c) != 0) {
        free(c);
        close(fd);
        pthread_mutex_lock(&sv->mu);
        sv->active--;
        pthread_mutex_unlock(&sv->mu);
    }
    pthread_attr_destroy(&attr);
}

int ca_serve(const struct ca *ca, const struct ca_serve_opts *o)
{
    struct server sv = { .o = o };
    sigset_t set;
    int lfd, sfd = -1, port = 0, rc = 1, drained = 1;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before any thread exists, so only the signalfd sees them. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0
        || (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "cmp-test-ca: cannot set up signal handling\n");
        return 1;
    }
    lfd = listen_on(o->host, o->port, &port);
    sv.srv = ca_srv_new(ca, o->days);
    if (lfd < 0 || sv.srv == NULL)
        goto out;
    pthread_mutex_init(&sv.mu, NULL);
    pthread_cond_init(&sv.idle, NULL);
    if (o->port_file != NULL) {
        char line[32];
        int n = snprintf(line, sizeof(line), "%d\n", port);

        if (ca_write_atomic(o->port_file, line, (size_t)n, 0644) != 0) {
            fprintf(stderr, "cmp-test-ca: cannot write %s\n", o->port_file);
            goto stop;
        }
    }
    fprintf(stderr, "cmp-test-ca: serving http://%s:%d/.well-known/cmp\n",
            o->host, port);
    for (;;) {
        struct pollfd pf[2] = { { lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        if (pf[0].revents & POLLIN)
            accept_one(&sv, lfd);
    }
    rc = 0;
    fprintf(stderr, "cmp-test-ca: stopping\n");
stop:
    close(lfd);
    lfd = -1;
    {
        /* Let connections in flight finish (their I/O has a timeout). */
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += IO_TIMEOUT_S + 2;
        pthread_mutex_lock(&sv.mu);
        while (sv.active > 0)
            if (pthread_cond_timedwait(&sv.idle, &sv.mu, &until) != 0)
                break;
        drained = sv.active == 0;
        pthread_mutex_unlock(&sv.mu);
    }
    if (!drained) {
        fprintf(stderr, "cmp-test-ca: connections still busy at exit\n");
        _exit(rc);
    }
out:
    if (lfd >= 0)
        close(lfd);
    ca_srv_free(sv.srv);
    close(sfd);
    return rc;
}
