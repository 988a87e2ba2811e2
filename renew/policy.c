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
