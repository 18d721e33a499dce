/* Refresh and retry times. */
#include "schedule.h"
#include "tap.h"

int main(void)
{
    const time_t now = 1000000;

    /* A fresh response valid for an hour: refresh around the middle. */
    time_t lo = as_next_refresh(now, now, now + 3600, 0.0);
    time_t mid = as_next_refresh(now, now, now + 3600, 0.5);
    time_t hi = as_next_refresh(now, now, now + 3600, 0.999);
    is_long(mid, now + 1800, "half of the window with no jitter");
    is_long(lo, now + 1440, "jitter reaches 40%% of the window");
    ok(hi >= now + 2150 && hi <= now + 2160, "and 60%% (%ld)", (long)(hi - now));

    /* A response fetched late in its window: not past its expiry margin. */
    time_t late = as_next_refresh(now, now - 7 * 86400, now + 600, 0.5);
    ok(late >= now + 1 && late <= now + 600 - 60,
       "an old response is refreshed before it lapses (%ld)", (long)(late - now));

    /* Long-lived responses: never later than 5 minutes before expiry. */
    time_t longer = as_next_refresh(now, now, now + 7 * 86400, 0.999);
    ok(longer <= now + 7 * 86400 - 300, "at least 5 minutes before nextUpdate");

    /* Expired or nearly: soon, but not in a busy loop. */
    is_long(as_next_refresh(now, now - 100, now - 1, 0.5), now + 1, "at least a second");

    /* Backoff: doubling from retry_min, jittered to [d/2, d], capped. */
    is_long(as_next_retry(now, 1, 4, 3600, 0, 0.999) - now, 3, "first retry within seconds");
    is_long(as_next_retry(now, 1, 4, 3600, 0, 0.0) - now, 2, "jitter halves at most");
    is_long(as_next_retry(now, 3, 4, 3600, 0, 0.999) - now, 15, "third retry ~16 s");
    time_t capped = as_next_retry(now, 40, 4, 3600, 0, 0.999) - now;
    ok(capped > 3590 && capped <= 3600, "capped at retry_max (%ld)", (long)capped);
    ok(as_next_retry(now, 40, 4, 3600, 0, 0.0) - now >= 1800, "cap jitter stays >= half");

    /* Sum of the first minute's retries: a handful, not one per second. */
    int attempts = 0;
    time_t t = now;
    for (int n = 1; t < now + 60; n++, attempts++)
        t = as_next_retry(t, n, 5, 3600, 0, 0.0);
    ok(attempts <= 6, "%d attempts in the first minute with retry_min 5", attempts);

    /* A day-long outage at the defaults, worst-case jitter: the busiest
     * minute after the first ten holds at most one attempt, and the day at
     * most a few dozen. */
    int per_minute[24 * 60] = { 0 }, total = 0, busiest_late = 0;
    t = now;
    for (int n = 1; t < now + 24 * 3600; n++, total++) {
        per_minute[(t - now) / 60]++;
        t = as_next_retry(t, n, 5, 3600, 0, 0.0);
    }
    for (int m = 10; m < 24 * 60; m++)
        if (per_minute[m] > busiest_late)
            busiest_late = per_minute[m];
    ok(busiest_late <= 1, "after ten minutes at most %d attempt a minute", busiest_late);
    ok(total <= 60, "%d attempts in a day of outage", total);

    /* A held response about to lapse pulls the retry in. */
    time_t held = as_next_retry(now, 10, 5, 3600, now + 600, 0.999);
    ok(held <= now + 600 && held > now, "retry before the held response lapses (%ld)",
       (long)(held - now));
    return tap_done();
}
