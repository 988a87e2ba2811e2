/* pinentry.c: --pin-source pinentry. The PIN is asked by a pinentry
 * program (Debian's pinentry-gnome3, -gtk2, -curses; the "pinentry"
 * alternative by default, $CARDRENEW_PINENTRY if set) over the Assuan
 * protocol that gpg-agent and ssh use: SETDESC/SETPROMPT/GETPIN on its
 * stdin, "D <percent-escaped PIN>" then "OK" on its stdout. Every buffer
 * that held the PIN is wiped; the PIN is never written anywhere. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"

#define ASSUAN_LINE_MAX 1002 /* the protocol's limit, plus CR LF */

struct peer {
    int to, from;
    pid_t pid;
};

static int send_line(struct peer *p, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = write(p->to, s + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* One line without its newline; comments and status lines skipped. */
static int read_line(struct peer *p, char *line, size_t size)
{
    for (;;) {
        size_t n = 0;
        for (;;) {
            char ch;
            ssize_t r = read(p->from, &ch, 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            if (ch == '\n')
                break;
            if (n + 1 >= size)
                return -1;
            line[n++] = ch;
        }
        line[n] = '\0';
        if (line[0] != '#' && strncmp(line, "S ", 2) != 0)
            return 0;
    }
}

/* Sends a command and reads its answer: 0 on OK, else -1 with the
 * pinentry's ERR text in err. */
static int command(struct peer *p, const char *cmd, char *err, size_t errlen)
{
    char line[ASSUAN_LINE_MAX];
    if (send_line(p, cmd) != 0 || read_line(p, line, sizeof line) != 0) {
        snprintf(err, errlen, "the PIN entry program stopped answering");
        return -1;
    }
    if (strncmp(line, "OK", 2) == 0)
        return 0;
    snprintf(err, errlen, "the PIN entry program refused: %s", line);
    return -1;
}

/* Appends text to out with %, CR and LF percent-escaped (Assuan). */
static void escape_into(char *out, size_t size, const char *text)
{
    size_t n = strlen(out);
    for (; *text && n + 4 < size; text++) {
        if (*text == '%' || *text == '\r' || *text == '\n')
            n += (size_t)snprintf(out + n, size - n, "%%%02X", (unsigned char)*text);
        else
            out[n++] = *text;
    }
    out[n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int cli_pinentry_decode(const char *data, char *buf, size_t bufsize, size_t *len)
{
    size_t n = 0;
    for (const char *s = data; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (lo < 0)
                goto bad;
            c = hi << 4 | lo;
            s += 2;
        }
        if (n + 1 >= bufsize || c == 0)
            goto bad;
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    *len = n;
    return 0;
bad:
    renew_wipe(buf, bufsize);
    *len = 0;
    return -1;
}

static int start(struct peer *p, const char *prog, char *err, size_t errlen)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        goto fail;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        goto fail;
    }
    p->pid = fork();
    if (p->pid < 0) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        goto fail;
    }
    if (p->pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        execlp(prog, prog, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to = in[1];
    p->from = out[0];
    return 0;
fail:
    snprintf(err, errlen, "cannot start the PIN entry program %s: %s", prog, strerror(errno));
    return -1;
}

static void finish(struct peer *p)
{
    int st;
    close(p->to);
    close(p->from);
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
}

int cli_pin_pinentry(char *buf, size_t bufsize, size_t *len, char *err, size_t errlen)
{
    const char *prog = getenv("CARDRENEW_PINENTRY");
    char line[ASSUAN_LINE_MAX], cmd[ASSUAN_LINE_MAX];
    struct peer p;
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    int rc = -1;
    *len = 0;
    if (!prog || !*prog)
        prog = "pinentry";
    /* A pinentry that exits early must not kill us with SIGPIPE. */
    sigaction(SIGPIPE, &ign, &old);
    if (start(&p, prog, err, errlen) != 0)
        goto out;
    if (read_line(&p, line, sizeof line) != 0 || strncmp(line, "OK", 2) != 0) {
        snprintf(err, errlen, "%s does not speak the pinentry (Assuan) protocol: is it a "
                              "pinentry program?", prog);
        goto done;
    }
    /* pinentry-curses draws on the terminal named here (ours are pipes). */
    const char *tty = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
    const char *term = getenv("TERM");
    if (tty) {
        snprintf(cmd, sizeof cmd, "OPTION ttyname=%s\n", tty);
        if (command(&p, cmd, err, errlen) != 0)
            goto done;
        if (term && *term && strlen(term) < 64) {
            snprintf(cmd, sizeof cmd, "OPTION ttytype=%s\n", term);
            if (command(&p, cmd, err, errlen) != 0)
                goto done;
        }
    }
    snprintf(cmd, sizeof cmd, "SETDESC ");
    escape_into(cmd, sizeof cmd - 1, "Renewing the certificate on your smartcard.\n"
                                     "Enter the smartcard passcode (PIN).");
    strcat(cmd, "\n");
    if (command(&p, "SETTITLE cardrenew\n", err, errlen) != 0 ||
        command(&p, cmd, err, errlen) != 0 ||
        command(&p, "SETPROMPT PIN:\n", err, errlen) != 0 ||
        command(&p, "SETOK Renew\n", err, errlen) != 0)
        goto done;
    if (send_line(&p, "GETPIN\n") != 0 || read_line(&p, line, sizeof line) != 0) {
        snprintf(err, errlen, "the PIN entry program stopped answering");
        goto done;
    }
    if (strncmp(line, "D ", 2) == 0) {
        int bad = cli_pinentry_decode(line + 2, buf, bufsize, len);
        renew_wipe(line, sizeof line);
        if (bad) {
            snprintf(err, errlen, "the PIN is longer than %d characters", CLI_PIN_MAX);
            goto done;
        }
        if (read_line(&p, line, sizeof line) != 0 || strncmp(line, "OK", 2) != 0) {
            snprintf(err, errlen, "the PIN entry program did not finish the PIN");
            goto done;
        }
        rc = 0;
    } else if (strncmp(line, "OK", 2) == 0) {
        snprintf(err, errlen, "no PIN was entered");
    } else if (strstr(line, "cancel") || strstr(line, "Cancel")) {
        snprintf(err, errlen, "the PIN entry was cancelled: nothing was changed");
    } else {
        snprintf(err, errlen, "the PIN entry program refused: %s", line);
    }
    /* Read BYE's answer so the pinentry can say it before we hang up. */
    if (send_line(&p, "BYE\n") == 0)
        read_line(&p, line, sizeof line);
done:
    finish(&p);
out:
    sigaction(SIGPIPE, &old, NULL);
    if (rc != 0) {
        renew_wipe(buf, bufsize);
        *len = 0;
    }
    return rc;
}
