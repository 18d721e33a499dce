/* options.c: see options.h. */
#include <string.h>

#include "options.h"

int as_option_split(const char *arg, struct as_option *o)
{
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return 0;
    o->name = arg + 2;
    const char *eq = strchr(o->name, '=');
    o->len = eq != NULL ? (size_t)(eq - o->name) : strlen(o->name);
    o->value = eq != NULL ? eq + 1 : NULL;
    return 1;
}

int as_option_is(const struct as_option *o, const char *name)
{
    return strlen(name) == o->len && strncmp(o->name, name, o->len) == 0;
}

const char *as_option_value(const struct as_option *o, int argc, char **argv, int *i)
{
    if (o->value != NULL)
        return o->value;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}
