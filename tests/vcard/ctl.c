/* ctl.c: the client side of the control channel (`vcard ctl`). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/vcard/core.h"

int vc_ctl_send(const char *path, const char *line)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char ans[256];
    size_t got = 0;
    int fd, rc = 1;

    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "vcard ctl: control path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "vcard ctl: %s: %s (is the card running?)\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
        fprintf(stderr, "vcard ctl: write: %s\n", strerror(errno));
        goto out;
    }
    while (got < sizeof ans - 1) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pf, 1, 5000) <= 0) {
            fprintf(stderr, "vcard ctl: no answer from %s\n", path);
            goto out;
        }
        n = read(fd, ans + got, sizeof ans - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(ans, '\n', got))
            break;
    }
    ans[got] = '\0';
    ans[strcspn(ans, "\n")] = '\0';
    if (!got) {
        fprintf(stderr, "vcard ctl: empty answer from %s\n", path);
        goto out;
    }
    printf("%s\n", ans);
    rc = strncmp(ans, "ok", 2) == 0 ? 0 : 1;
out:
    close(fd);
    return rc;
}
