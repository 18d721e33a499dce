/* schedule.c: see schedule.h. */
#include "schedule.h"

/* Leave this much (or a tenth of the window if smaller) before expiry. */
#define MARGIN 300

time_t as_next_refresh(time_t now, time_t this_update, time_t expires, double r)
{
    time_t window = expires - this_update;
    if (window < 1)
        window = 1;
    time_t at = this_update + (time_t)((double)window * (0.4 + 0.2 * r));
    time_t margin = window / 10 < MARGIN ? window / 10 : MARGIN;
    if (at > expires - margin)
        at = expires - margin;
    if (at < now + 1)
        at = now + 1;
    return at;
}

time_t as_next_retry(time_t now, int n, long retry_min, long retry_max,
                     time_t held_expires, double r)
{
    double delay = (double)retry_min;
    for (int i = 1; i < n && delay < (double)retry_max; i++)
        delay *= 2;
    if (delay > (double)retry_max)
        delay = (double)retry_max;
    delay = delay / 2 + delay / 2 * r;
    if (delay < 1)
        delay = 1;
    time_t at = now + (time_t)delay;
    /* Try once more shortly before a held response lapses. */
    time_t last_chance = held_expires - MARGIN / 5;
    if (held_expires > now && at > last_chance && last_chance > now + retry_min)
        at = last_chance;
    return at;
}
