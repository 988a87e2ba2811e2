/* run.c: the card as a vpcd client. vpcd (inside pcscd) listens; the card
 * connects, then answers length-prefixed messages: 1 byte is a control
 * (0 power off, 1 power on, 2 reset, 4 send the ATR), more is an APDU.
 * One poll loop serves vpcd and the control socket, so faults can be
 * armed while the card is muted or away. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/core.h"

#define MAX_CLIENTS 8
#define BACKOFF_MIN_MS 20
#define BACKOFF_MAX_MS 1000

struct client {
    int fd;
    size_t len;
    char buf[256];
};

struct runner {
    const struct vc_run_opts *o;
    struct vc_card card;
    struct vc_faults f;
    FILE *trace;
    int vfd, lfd;
    struct client cl[MAX_CLIENTS];
    int backoff_ms;
    long long next_try_ms;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quickack(int fd)
{
    int one = 1;

    /* Linux clears QUICKACK after use; set it before every read so vpcd's
     * split length/payload writes are not held up by a delayed ACK. */
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static int recv_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r;

        quickack(fd);
        r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR && !stop_flag)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, const uint8_t *data, size_t len)
{
    uint8_t buf[2 + VC_RESP_MAX];
    size_t off = 0, total = len + 2;

    if (len > VC_RESP_MAX)
        return -1;
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    memcpy(buf + 2, data, len);
    while (off < total) {
        ssize_t w = send(fd, buf + off, total - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

static int connect_vpcd(const char *host, int port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
    char ports[16];
    int fd = -1, one = 1;

    snprintf(ports, sizeof ports, "%d", port);
    if (getaddrinfo(host, ports, &hints, &res) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void drop_vpcd(struct runner *r, const char *why)
{
    if (r->vfd >= 0) {
        close(r->vfd);
        r->vfd = -1;
    }
    vc_trace_note(r->trace, why);
    r->next_try_ms = now_ms() + r->backoff_ms;
}

static void vanish(struct runner *r, const char *why)
{
    r->f.vanished = true;
    drop_vpcd(r, why);
}

static int handle_apdu(struct runner *r, const uint8_t *cmd, size_t len)
{
    uint8_t resp[VC_RESP_MAX];
    size_t rlen;
    bool pin;
    enum vc_step st;
    long model_us, card_us;
    char note[80];

    vc_clock_begin();
    st = vc_step(&r->card, r->o->image, &r->f, cmd, len, resp, &rlen, &pin);
    vc_clock_end(len, rlen, &model_us, &card_us);
    switch (st) {
    case VC_SILENT:
        vc_trace_apdu(r->trace, cmd, len, NULL, 0, pin);
        return 0;
    case VC_VANISH:
        vc_trace_apdu(r->trace, cmd, len, NULL, 0, pin);
        vanish(r, "vanished: no answer (a torn command is undone)");
        return 0;
    case VC_FATAL:
        return -1;
    case VC_ANSWER:
        break;
    }
    if (r->f.latency_us > 0)
        usleep((useconds_t)r->f.latency_us);
    if (send_frame(r->vfd, resp, rlen) != 0)
        drop_vpcd(r, "vpcd connection lost while answering");
    vc_trace_apdu(r->trace, cmd, len, resp, rlen, pin);
    if (vc_clock_on()) {
        /* Read by tests/bench: the modelled time and the card's own. */
        snprintf(note, sizeof note, "clock model_us=%ld card_us=%ld",
                 model_us, card_us);
        vc_trace_note(r->trace, note);
    }
    OPENSSL_cleanse(resp, rlen);
    return 0;
}

static int handle_vpcd(struct runner *r)
{
    static uint8_t msg[65536];
    uint8_t hdr[2];
    size_t len;
    int rc = 0;

    if (recv_all(r->vfd, hdr, 2) != 0) {
        drop_vpcd(r, "vpcd closed the connection");
        return 0;
    }
    len = (size_t)hdr[0] << 8 | hdr[1];
    if (len && recv_all(r->vfd, msg, len) != 0) {
        drop_vpcd(r, "vpcd closed the connection mid-message");
        return 0;
    }
    if (len == 1) {
        switch (msg[0]) {
        case 0: case 1: case 2:
            r->card.prof->reset(r->card.st);
            vc_trace_note(r->trace, msg[0] == 0 ? "power off" :
                          msg[0] == 1 ? "power on" : "reset");
            break;
        case 4:
            if (send_frame(r->vfd, r->card.prof->atr, r->card.prof->atr_len))
                drop_vpcd(r, "vpcd connection lost sending the ATR");
            break;
        default:
            break;
        }
    } else if (len > 1) {
        rc = handle_apdu(r, msg, len);
    }
    OPENSSL_cleanse(msg, len);
    return rc;
}

static int listen_control(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat sb;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "vcard: control path too long: %s\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        chmod(path, 0600) != 0 || listen(fd, 4) != 0) {
        fprintf(stderr, "vcard: control socket %s: %s\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void client_close(struct client *c)
{
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static void handle_client(struct runner *r, struct client *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    char *nl, ans[200];

    if (n <= 0) {
        client_close(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    while ((nl = strchr(c->buf, '\n'))) {
        bool was_away = r->f.vanished;

        *nl = '\0';
        vc_faults_command(&r->f, c->buf, ans, sizeof ans - 1);
        vc_trace_note(r->trace, c->buf);
        if (!was_away && r->f.vanished && r->vfd >= 0)
            drop_vpcd(r, "vanished at once");
        if (was_away && !r->f.vanished) {
            r->backoff_ms = BACKOFF_MIN_MS;
            r->next_try_ms = now_ms();
        }
        strcat(ans, "\n");
        if (write(c->fd, ans, strlen(ans)) < 0) {
            client_close(c);
            return;
        }
        memmove(c->buf, nl + 1, c->len - (size_t)(nl + 1 - c->buf) + 1);
        c->len = strlen(c->buf);
    }
    if (c->len >= sizeof c->buf - 1)
        client_close(c);    /* a line too long to be a command */
}

static void accept_client(struct runner *r)
{
    int fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (r->cl[i].fd < 0) {
            r->cl[i].fd = fd;
            r->cl[i].len = 0;
            return;
        }
    }
    close(fd);
}

static int loop(struct runner *r)
{
    while (!stop_flag) {
        struct pollfd pf[2 + MAX_CLIENTS];
        int map[2 + MAX_CLIENTS], n = 0, timeout = -1;

        if (r->vfd < 0 && !r->f.vanished) {
            long long wait = r->next_try_ms - now_ms();

            if (wait <= 0) {
                r->vfd = connect_vpcd(r->o->host, r->o->port);
                if (r->vfd >= 0) {
                    r->backoff_ms = BACKOFF_MIN_MS;
                    vc_trace_note(r->trace, "connected to vpcd");
                } else {
                    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ?
                                    BACKOFF_MAX_MS : r->backoff_ms * 2;
                    r->next_try_ms = now_ms() + r->backoff_ms;
                    wait = r->backoff_ms;
                }
            }
            if (r->vfd < 0)
                timeout = (int)wait;
        }
        if (r->vfd >= 0) {
            pf[n] = (struct pollfd){ .fd = r->vfd, .events = POLLIN };
            map[n++] = -1;
        }
        if (r->lfd >= 0) {
            pf[n] = (struct pollfd){ .fd = r->lfd, .events = POLLIN };
            map[n++] = -2;
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (r->cl[i].fd >= 0) {
                pf[n] = (struct pollfd){ .fd = r->cl[i].fd, .events = POLLIN };
                map[n++] = i;
            }
        }
        if (poll(pf, (nfds_t)n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            perror("vcard: poll");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (map[i] == -1) {
                if (r->vfd == pf[i].fd && handle_vpcd(r) != 0)
                    return -1;
            } else if (map[i] == -2) {
                accept_client(r);
            } else if (r->cl[map[i]].fd == pf[i].fd) {
                handle_client(r, &r->cl[map[i]]);
            }
        }
    }
    return 0;
}

int vc_run(const struct vc_run_opts *o)
{
    struct runner r = { .o = o, .vfd = -1, .lfd = -1,
                        .backoff_ms = BACKOFF_MIN_MS };
    struct sigaction sa = { .sa_handler = on_signal };
    char err[256];
    int rc = 1;

    for (int i = 0; i < MAX_CLIENTS; i++)
        r.cl[i].fd = -1;
    r.f = o->faults;
    if (vc_image_load(o->image, &r.card, err, sizeof err) != 0) {
        fprintf(stderr, "vcard: %s\n", err);
        return 1;
    }
    if (o->clock) {
        const struct vc_clock_model *m = vc_clock_model(r.card.prof->name);

        if (strcmp(o->clock, "real") != 0 || !m) {
            fprintf(stderr, "vcard: --clock %s: want \"real\" (profiles G, O)\n",
                    o->clock);
            goto out;
        }
        vc_clock_use(m);
    }
    if (o->trace) {
        r.trace = fopen(o->trace, "ae");
        if (!r.trace) {
            fprintf(stderr, "vcard: trace %s: %s\n", o->trace, strerror(errno));
            goto out;
        }
    }
    if (o->control && (r.lfd = listen_control(o->control)) < 0)
        goto out;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = loop(&r) == 0 ? 0 : 1;
out:
    if (r.vfd >= 0)
        close(r.vfd);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (r.cl[i].fd >= 0)
            close(r.cl[i].fd);
    if (r.lfd >= 0) {
        close(r.lfd);
        unlink(o->control);
    }
    if (r.trace)
        fclose(r.trace);
    vc_card_free(&r.card);
    return rc;
}
