/* notify.c: the expiry reminder as a desktop notification, spoken to the
 * notification server over the session bus with GDBus (the
 * org.freedesktop.Notifications interface). Urgency rises as expiry
 * nears; while a renewal is still possible the notification offers
 * "Renew now", which runs cardrenew --renew with the PIN asked through
 * pinentry, and a second notification says how it went. */
#include <gio/gio.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define ACTION_RENEW "renew"
/* How long a reminder offering "Renew now" waits for the holder: less
 * than a day, so the next day's timer run finds no earlier one waiting. */
#define WAIT_FOR_HOLDER_S (12 * 3600)

int cli_notify_urgency(long days_left)
{
    if (days_left <= 7)
        return CLI_URGENCY_CRITICAL;
    return days_left <= 14 ? CLI_URGENCY_NORMAL : CLI_URGENCY_LOW;
}

struct notice {
    const char *icon, *summary, *body;
    int urgency;
    bool offer_renew;
};

struct wait_state {
    GMainLoop *loop;
    guint32 id;
    bool renew;
};

/* A session bus, without GLib's autolaunch of a new one (a timer or a
 * script with no desktop must not start a bus of its own). */
static GDBusConnection *session_bus(char *err, size_t errlen)
{
    const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS"), *run = getenv("XDG_RUNTIME_DIR");
    char path[PATH_MAX];
    gchar *guessed = NULL;
    GError *ge = NULL;
    if (!addr || !*addr) {
        if (!run || snprintf(path, sizeof path, "%s/bus", run) >= (int)sizeof path ||
            access(path, F_OK) != 0) {
            snprintf(err, errlen, "no desktop session bus (DBUS_SESSION_BUS_ADDRESS is not "
                                  "set): the reminder is shown on the terminal only");
            return NULL;
        }
        guessed = g_strdup_printf("unix:path=%s", path);
        addr = guessed;
    }
    GDBusConnection *c = g_dbus_connection_new_for_address_sync(
        addr, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &ge);
    g_free(guessed);
    if (!c) {
        snprintf(err, errlen, "cannot reach the desktop session bus: %s", ge->message);
        g_error_free(ge);
        return NULL;
    }
    g_dbus_connection_set_exit_on_close(c, FALSE);
    return c;
}

static bool server_can(GDBusConnection *bus, const char *cap)
{
    GVariant *r = g_dbus_connection_call_sync(bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
                                              "GetCapabilities", NULL, G_VARIANT_TYPE("(as)"),
                                              G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    bool yes = false;
    if (!r)
        return false;
    GVariantIter *it;
    const gchar *s;
    g_variant_get(r, "(as)", &it);
    while (g_variant_iter_next(it, "&s", &s))
        yes = yes || strcmp(s, cap) == 0;
    g_variant_iter_free(it);
    g_variant_unref(r);
    return yes;
}

static int show(GDBusConnection *bus, const struct notice *n, guint32 *id, char *err,
                size_t errlen)
{
    GVariantBuilder actions, hints;
    GError *ge = NULL;
    gchar *body = server_can(bus, "body-markup") ? g_markup_escape_text(n->body, -1)
                                                 : g_strdup(n->body);
    g_variant_builder_init(&actions, G_VARIANT_TYPE("as"));
    if (n->offer_renew) {
        g_variant_builder_add(&actions, "s", ACTION_RENEW);
        g_variant_builder_add(&actions, "s", "Renew now");
    }
    g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&hints, "{sv}", "urgency", g_variant_new_byte((guchar)n->urgency));
    g_variant_builder_add(&hints, "{sv}", "category", g_variant_new_string("device"));
    GVariant *r = g_dbus_connection_call_sync(
        bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME, "Notify",
        g_variant_new("(susssasa{sv}i)", "cardrenew", 0u, n->icon, n->summary, body,
                      &actions, &hints, -1),
        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &ge);
    g_free(body);
    if (!r) {
        snprintf(err, errlen, "no desktop notification shown: %s", ge->message);
        g_error_free(ge);
        return -1;
    }
    g_variant_get(r, "(u)", id);
    g_variant_unref(r);
    return 0;
}

static void on_signal(GDBusConnection *c, const gchar *sender, const gchar *path,
                      const gchar *iface, const gchar *signal, GVariant *params, gpointer arg)
{
    struct wait_state *w = arg;
    guint32 id;
    (void)c, (void)sender, (void)path, (void)iface;
    if (strcmp(signal, "ActionInvoked") == 0) {
        const gchar *key;
        g_variant_get(params, "(u&s)", &id, &key);
        if (id != w->id)
            return;
        w->renew = strcmp(key, ACTION_RENEW) == 0;
        g_main_loop_quit(w->loop);
    } else if (strcmp(signal, "NotificationClosed") == 0) {
        guint32 reason;
        g_variant_get(params, "(uu)", &id, &reason);
        if (id == w->id)
            g_main_loop_quit(w->loop);
    }
}

static void on_closed(GDBusConnection *c, gboolean remote, GError *ge, gpointer arg)
{
    (void)c, (void)remote, (void)ge;
    g_main_loop_quit(((struct wait_state *)arg)->loop);
}

static gboolean on_timeout(gpointer arg)
{
    g_main_loop_quit(((struct wait_state *)arg)->loop);
    return G_SOURCE_REMOVE;
}

/* Shows n; when it offers "Renew now", waits for the holder's answer. */
static int show_and_wait(GDBusConnection *bus, const struct notice *n, bool *renew, char *err,
                         size_t errlen)
{
    struct wait_state w = { g_main_loop_new(NULL, FALSE), 0, false };
    guint sub = 0, closed = 0, tmo = 0;
    int rc;
    *renew = false;
    if (n->offer_renew) {
        /* Subscribed before Notify, so an immediate answer is not missed. */
        sub = g_dbus_connection_signal_subscribe(bus, NULL, NOTIFY_NAME, NULL, NOTIFY_PATH, NULL,
                                                 G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &w, NULL);
        closed = g_signal_connect(bus, "closed", G_CALLBACK(on_closed), &w);
    }
    rc = show(bus, n, &w.id, err, errlen);
    if (rc == 0 && n->offer_renew) {
        tmo = g_timeout_add_seconds(WAIT_FOR_HOLDER_S, on_timeout, &w);
        g_main_loop_run(w.loop);
        g_source_remove(tmo);
        *renew = w.renew;
    }
    if (sub)
        g_dbus_connection_signal_unsubscribe(bus, sub);
    if (closed)
        g_signal_handler_disconnect(bus, closed);
    g_main_loop_unref(w.loop);
    return rc;
}

/* The last non-empty line of s, into out. */
static void last_line(const char *s, char *out, size_t outlen)
{
    const char *end = s + strlen(s), *start;
    while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    for (start = end; start > s && start[-1] != '\n'; start--)
        ;
    snprintf(out, outlen, "%.*s", (int)(end - start), start);
}

static const char *strip_prefix(const char *line)
{
    static const char p[] = "cardrenew: ";
    return strncmp(line, p, sizeof p - 1) == 0 ? line + sizeof p - 1 : line;
}

/* Runs this cardrenew with --renew, the PIN from pinentry, and the
 * options that chose the card and the CA; shows the outcome. */
static void renew_now(GDBusConnection *bus, const struct cli_opts *o)
{
    char exe[PATH_MAX], err[CLI_ERR_MAX], line[512];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *argv[16];
    int a = 0, status = 0;
    gchar *out = NULL, *errs = NULL;
    GError *ge = NULL;
    if (k <= 0)
        return;
    exe[k] = '\0';
    argv[a++] = exe;
    argv[a++] = "--renew";
    argv[a++] = "--yes"; /* the holder chose "Renew now"; pinentry asks for the PIN */
    argv[a++] = "--pin-source";
    argv[a++] = "pinentry";
    const struct { const char *flag, *val; } pass[] = {
        { "--config", o->config }, { "--module", o->module }, { "--token", o->token },
        { "--ca", o->ca_url }, { "--ca-cert", o->ca_cert },
    };
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
        if (pass[i].val) {
            argv[a++] = pass[i].flag;
            argv[a++] = pass[i].val;
        }
    argv[a] = NULL;
    struct notice n = { "dialog-information", "Your smartcard is renewed", NULL,
                        CLI_URGENCY_NORMAL, false };
    if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errs,
                      &status, &ge)) {
        snprintf(line, sizeof line, "cannot start cardrenew --renew: %s", ge->message);
        g_error_free(ge);
        status = -1;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        last_line(out, line, sizeof line);
        /* The success line names the new expiry; the next line is advice. */
        const char *r = strstr(out, "Your smartcard is now renewed");
        if (r)
            snprintf(line, sizeof line, "%.*s", (int)strcspn(r, "\n"), r);
    } else {
        last_line(errs && *errs ? errs : out, line, sizeof line);
    }
    if (status != 0) {
        n.icon = "dialog-error";
        n.summary = "Your smartcard was not renewed";
        n.urgency = CLI_URGENCY_CRITICAL;
        fprintf(stderr, "cardrenew: the renewal from the reminder failed: %s\n",
                strip_prefix(line));
    }
    n.body = strip_prefix(line);
    bool unused;
    if (show_and_wait(bus, &n, &unused, err, sizeof err) != 0)
        fprintf(stderr, "cardrenew: %s\n", err);
    g_free(out);
    g_free(errs);
}

void cli_remind(const struct cli_opts *o, const struct renew_cert_info *c, size_t n, int rc,
                const char *line)
{
    const struct renew_cert_info *soon = cli_soonest(c, n);
    char err[CLI_ERR_MAX], d[32], body[512];
    bool renew;
    if (!soon || (rc != RENEW_CHECK_DUE && rc != RENEW_CHECK_EXPIRED))
        return;
    GDBusConnection *bus = session_bus(err, sizeof err);
    if (!bus) {
        fprintf(stderr, "cardrenew: %s\n", err);
        return;
    }
    cli_date(soon->not_after, d, sizeof d);
    struct notice note = { "dialog-warning", "Smartcard expiry notification", body,
                           cli_notify_urgency(soon->days_left), rc == RENEW_CHECK_DUE };
    if (rc == RENEW_CHECK_DUE) {
        snprintf(body, sizeof body, "The security certificate for your Smartcard expires on %s "
                 "(%ld day%s left). Renew it now: it takes about a minute and needs your PIN.",
                 d, soon->days_left, soon->days_left == 1 ? "" : "s");
    } else {
        note.icon = "dialog-error";
        note.summary = "Your Smartcard has expired";
        snprintf(body, sizeof body, "%s", line);
    }
    if (show_and_wait(bus, &note, &renew, err, sizeof err) != 0)
        fprintf(stderr, "cardrenew: %s\n", err);
    else if (renew)
        renew_now(bus, o);
    g_dbus_connection_flush_sync(bus, NULL, NULL);
    g_object_unref(bus);
}
