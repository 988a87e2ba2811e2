/* policy.c: expiry policy. A certificate is Expiring within the renewal
 * window and Expired from its notAfter on; an expired certificate cannot
 * sign its own renewal, so it needs an RA renewal. */
#include "renew/renew.h"

long renew_days_left(time_t not_after, time_t now)
{
    long long s = (long long)difftime(not_after, now);
    /* Part-days count as a day: a certificate issued "for 20 days" shows 20
     * until its last day; a part-day past expiry is day -1. */
    return s >= 0 ? (long)((s + 86399) / 86400) : -(long)((-s + 86399) / 86400);
}

enum renew_state renew_state_of(time_t not_after, time_t now, int window_days)
{
    if (difftime(not_after, now) <= 0)
        return RENEW_EXPIRED;
    if (difftime(not_after, now) <= (double)window_days * 86400)
        return RENEW_EXPIRING;
    return RENEW_ACTIVE;
}

const char *renew_state_name(enum renew_state s)
{
    switch (s) {
    case RENEW_ACTIVE: return "Active";
    case RENEW_EXPIRING: return "Expiring";
    default: return "Expired";
    }
}

int renew_check_code(enum renew_state s)
{
    switch (s) {
    case RENEW_ACTIVE: return RENEW_OK;
    case RENEW_EXPIRING: return RENEW_CHECK_DUE;
    default: return RENEW_CHECK_EXPIRED;
    }
}

/* --diagnose exits with its most serious finding: what stops everything
 * first (a blocked PIN), then a damaged journal (what it hides comes
 * next), a card only the RA can mend, an expired certificate, few PIN
 * tries, a renewal due. */
int renew_worse(int a, int b)
{
    static const int order[] = { RENEW_OK, RENEW_CHECK_DUE, RENEW_E_PIN, RENEW_E_EXPIRED,
                                 RENEW_E_CA, RENEW_E_TOKEN, RENEW_E_JOURNAL,
                                 RENEW_E_PIN_BLOCKED };
    int ra = -1, rb = -1;
    for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++) {
        ra = order[i] == a ? i : ra;
        rb = order[i] == b ? i : rb;
    }
    /* A code outside the list (a usage error, say) is worse than any. */
    if (ra < 0 || rb < 0)
        return ra < 0 ? a : b;
    return ra >= rb ? a : b;
}
