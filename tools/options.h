/* options.h: the commands' long options, "--NAME VALUE" or "--NAME=VALUE",
 * split one way for all three (run.c, check.c, status.c). */
#ifndef AS_OPTIONS_H
#define AS_OPTIONS_H

#include <stddef.h>

struct as_option {
    const char *name;   /* after "--", len bytes, up to '=' or the end */
    size_t len;
    const char *value;  /* after '=', NULL if none */
};

/* Is arg a long option ("--" and at least one character more)?  If so,
 * its parts in *o. */
int as_option_split(const char *arg, struct as_option *o);

/* Is o the option called name? */
int as_option_is(const struct as_option *o, const char *name);

/* o's value: after its '=', else the next argument (*i then moves past
 * it); NULL if there is none. */
const char *as_option_value(const struct as_option *o, int argc, char **argv, int *i);

#endif
