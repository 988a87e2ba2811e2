/* config.c: cardrenew.conf (key = value, # comments) and precedence:
 * command-line flags > CARDRENEW_CA_URL / CARDRENEW_CA_CERT > the user's
 * file > the system's file, key by key: the user's file overrides only the
 * keys it sets (an empty value unsets one). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

static char *strip(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Seconds for the CA to answer: 1 to 600; -1 when not that. */
static int timeout_of(const char *v)
{
    char *end;
    long t = v ? strtol(v, &end, 10) : -1;
    return v && *v && !*end && t >= 1 && t <= 600 ? (int)t : -1;
}

int cli_config_parse(const char *text, const char *name, struct cli_config *c,
                     char *err, size_t errlen)
{
    int lineno = 0;
    const char *p = text;
    while (*p) {
        char line[1024];
        size_t n = strcspn(p, "\n");
        lineno++;
        if (n >= sizeof line) {
            snprintf(err, errlen, "%s:%d: line too long", name, lineno);
            return RENEW_E_USAGE;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (p[n] == '\n');
        char *s = strip(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", name, lineno);
            return RENEW_E_USAGE;
        }
        *eq = '\0';
        char *k = strip(s), *v = strip(eq + 1);
        char *dst = NULL;
        if (strcmp(k, "ca_url") == 0)
            dst = c->ca_url;
        else if (strcmp(k, "ca_cert") == 0)
            dst = c->ca_cert;
        else if (strcmp(k, "ca_tls_trust") == 0)
            dst = c->ca_tls_trust;
        else if (strcmp(k, "module") == 0)
            dst = c->module;
        else if (strcmp(k, "token") == 0)
            dst = c->token;
        else if (strcmp(k, "exec") == 0)
            dst = c->exec;
        else if (strcmp(k, "renew_days") == 0) {
            char *end;
            long d = strtol(v, &end, 10);
            if (!*v || *end || d < 0 || d > 3650) {
                snprintf(err, errlen, "%s:%d: renew_days must be a number of days (0-3650)",
                         name, lineno);
                return RENEW_E_USAGE;
            }
            c->renew_days = (int)d;
            continue;
        } else if (strcmp(k, "ca_timeout") == 0) {
            int t = timeout_of(v);
            if (t < 0) {
                snprintf(err, errlen, "%s:%d: ca_timeout must be a number of seconds (1-600)",
                         name, lineno);
                return RENEW_E_USAGE;
            }
            c->ca_timeout = t;
            continue;
        } else {
            snprintf(err, errlen, "%s:%d: unknown setting \"%s\" (known: ca_url, ca_cert, "
                     "ca_tls_trust, ca_timeout, renew_days, module, token, exec)", name, lineno, k);
            return RENEW_E_USAGE;
        }
        if (strlen(v) >= 512) {
            snprintf(err, errlen, "%s:%d: value too long", name, lineno);
            return RENEW_E_USAGE;
        }
        strcpy(dst, v);
    }
    return 0;
}

static int load_file(const char *path, struct cli_config *c, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char buf[16384];
    if (!f) {
        snprintf(err, errlen, "cannot read the configuration %s: %s", path, strerror(errno));
        return RENEW_E_USAGE;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int toobig = !feof(f);
    fclose(f);
    if (toobig) {
        snprintf(err, errlen, "the configuration %s is too large", path);
        return RENEW_E_USAGE;
    }
    buf[n] = '\0';
    return cli_config_parse(buf, path, c, err, errlen);
}

static void config_init(struct cli_config *c)
{
    memset(c, 0, sizeof *c);
    c->renew_days = -1;
    c->ca_timeout = -1;
}

int cli_config_load_layers(const char *sys, const char *user, struct cli_config *c,
                           char *err, size_t errlen)
{
    const char *layers[] = { sys, user };
    config_init(c);
    for (size_t i = 0; i < 2; i++) {
        int rc = layers[i] && layers[i][0] && access(layers[i], F_OK) == 0
                     ? load_file(layers[i], c, err, errlen) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

int cli_config_load(const char *path, struct cli_config *c, char *err, size_t errlen)
{
    if (path) {
        config_init(c);
        return load_file(path, c, err, errlen);
    }
    char user[600], sys[600];
    const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    user[0] = '\0';
    if (x && *x == '/')
        snprintf(user, sizeof user, "%s/cardrenew/cardrenew.conf", x);
    else if (home && *home == '/')
        snprintf(user, sizeof user, "%s/.config/cardrenew/cardrenew.conf", home);
    snprintf(sys, sizeof sys, "%s/cardrenew/cardrenew.conf", cli_sysconfdir());
    return cli_config_load_layers(sys, user, c, err, errlen);
}

static const char *pick(const char *flag, const char *env, const char *file)
{
    if (flag && *flag)
        return flag;
    if (env && *env)
        return env;
    return file && *file ? file : NULL;
}

void cli_settings_resolve(const struct cli_opts *o, const struct cli_config *c,
                          const char *env_url, const char *env_cert, struct cli_settings *s)
{
    s->ca_url = pick(o->ca_url, env_url, c->ca_url);
    s->ca_cert = pick(o->ca_cert, env_cert, c->ca_cert);
    s->module = pick(o->module, getenv("CARDRENEW_MODULE"), c->module);
    s->token = pick(o->token, NULL, c->token);
    s->exec = pick(o->exec, NULL, c->exec);
    s->days = o->days >= 0 ? o->days : c->renew_days >= 0 ? c->renew_days : RENEW_DEFAULT_DAYS;
    s->ca_tls_trust = pick(NULL, NULL, c->ca_tls_trust);
    int env_timeout = timeout_of(getenv("CARDRENEW_CA_TIMEOUT"));
    s->ca_timeout = env_timeout > 0 ? env_timeout : c->ca_timeout > 0 ? c->ca_timeout : 0;
}

struct renew_ca cli_settings_ca(const struct cli_settings *s)
{
    return (struct renew_ca){ .url = s->ca_url, .cert_file = s->ca_cert,
                              .timeout = s->ca_timeout, .tls_trust = s->ca_tls_trust };
}
