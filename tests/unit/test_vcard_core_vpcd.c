/* The vpcd side of the core, with this test playing vpcd: framing of
 * controls and APDUs, the ATR, reconnecting after vpcd goes away, and the
 * control socket (vanish now / back). The card runs in a child process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/vcard/core.h"

struct fx {
    char dir[64], img[96], ctl[96];
    int lfd, port;
    pid_t child;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    struct vc_new n = { .pin = "123456" };
    struct vc_card c = { .prof = &vc_profile_g };
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    char err[256];

    strcpy(x->dir, "/tmp/test_vcard_vpcd.XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->img, sizeof x->img, "%s/card.img", x->dir);
    snprintf(x->ctl, sizeof x->ctl, "%s/ctl", x->dir);
    c.st = c.prof->create(&n);
    assert_int_equal(vc_image_save(x->img, &c, err, sizeof err), 0);
    vc_card_free(&c);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    x->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(x->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(x->lfd, 2), 0);
    assert_int_equal(getsockname(x->lfd, (struct sockaddr *)&sa, &sl), 0);
    x->port = ntohs(sa.sin_port);

    x->child = fork();
    assert_true(x->child >= 0);
    if (x->child == 0) {
        struct vc_run_opts o = { .image = x->img, .host = "127.0.0.1",
                                 .port = x->port, .control = x->ctl };
        int rc;

        close(x->lfd);
        vc_faults_clear(&o.faults);
        rc = vc_run(&o);
        free(x);
        _exit(rc);
    }
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    int st = -1;

    kill(x->child, SIGTERM);
    assert_int_equal(waitpid(x->child, &st, 0), x->child);
    close(x->lfd);
    unlink(x->img);
    rmdir(x->dir);
    free(x);
    /* the card exits cleanly on SIGTERM */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    return 0;
}

static int accept_card(struct fx *x, int timeout_ms)
{
    struct pollfd pf = { .fd = x->lfd, .events = POLLIN };

    if (poll(&pf, 1, timeout_ms) != 1)
        return -1;
    return accept(x->lfd, NULL, NULL);
}

static void send_msg(int fd, const uint8_t *m, size_t n)
{
    uint8_t b[300];

    b[0] = (uint8_t)(n >> 8);
    b[1] = (uint8_t)n;
    memcpy(b + 2, m, n);
    assert_int_equal(send(fd, b, n + 2, 0), (ssize_t)(n + 2));
}

/* One length-prefixed answer; -1 if the connection closed. */
static int recv_msg(int fd, uint8_t *m, size_t max)
{
    uint8_t h[2];
    size_t n, got = 0;

    if (recv(fd, h, 2, MSG_WAITALL) != 2)
        return -1;
    n = (size_t)h[0] << 8 | h[1];
    assert_true(n <= max);
    while (got < n) {
        ssize_t r = recv(fd, m + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return (int)n;
}

static void test_framing_and_reconnect(void **state)
{
    struct fx *x = *state;
    uint8_t m[300];
    int fd = accept_card(x, 5000), n;

    assert_true(fd >= 0);
    send_msg(fd, (const uint8_t *)"\x01", 1);           /* power on */
    send_msg(fd, (const uint8_t *)"\x04", 1);           /* ATR? */
    n = recv_msg(fd, m, sizeof m);
    assert_int_equal(n, (int)vc_profile_g.atr_len);
    assert_memory_equal(m, vc_profile_g.atr, vc_profile_g.atr_len);
    send_msg(fd, (const uint8_t *)"\x80\xCA\xDF\x03\x08", 5);
    n = recv_msg(fd, m, sizeof m);
    assert_int_equal(n, 10);
    assert_memory_equal(m + 8, "\x90\x00", 2);
    send_msg(fd, (const uint8_t *)"\x10\xA4\x04\x00", 4);
    n = recv_msg(fd, m, sizeof m);
    assert_int_equal(n, 2);
    assert_memory_equal(m, "\x68\x84", 2);
    /* vpcd goes away: the card comes back by itself */
    close(fd);
    fd = accept_card(x, 5000);
    assert_true(fd >= 0);
    send_msg(fd, (const uint8_t *)"\x02", 1);           /* reset */
    send_msg(fd, (const uint8_t *)"\x80\xCA\xDF\x03\x08", 5);
    assert_int_equal(recv_msg(fd, m, sizeof m), 10);
    close(fd);
}

static void test_control_vanish_and_back(void **state)
{
    struct fx *x = *state;
    uint8_t m[300];
    int fd = accept_card(x, 5000);

    assert_true(fd >= 0);
    send_msg(fd, (const uint8_t *)"\x80\xCA\xDF\x03\x08", 5);
    assert_int_equal(recv_msg(fd, m, sizeof m), 10);
    assert_int_equal(vc_ctl_send(x->ctl, "vanish now"), 0);
    assert_int_equal(recv_msg(fd, m, sizeof m), -1);     /* closed */
    close(fd);
    assert_int_equal(accept_card(x, 400), -1);           /* stays away */
    assert_int_equal(vc_ctl_send(x->ctl, "bogus"), 1);
    assert_int_equal(vc_ctl_send(x->ctl, "back"), 0);
    fd = accept_card(x, 5000);
    assert_true(fd >= 0);
    /* vanish 1: one more answer, then the next APDU is not answered */
    assert_int_equal(vc_ctl_send(x->ctl, "vanish 1"), 0);
    send_msg(fd, (const uint8_t *)"\x80\xCA\xDF\x03\x08", 5);
    assert_int_equal(recv_msg(fd, m, sizeof m), 10);
    send_msg(fd, (const uint8_t *)"\x80\xCA\xDF\x03\x08", 5);
    assert_int_equal(recv_msg(fd, m, sizeof m), -1);
    close(fd);
    assert_int_equal(vc_ctl_send(x->ctl, "clear"), 0);
    fd = accept_card(x, 5000);
    assert_true(fd >= 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_framing_and_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_vanish_and_back, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(t, NULL, NULL);
}
