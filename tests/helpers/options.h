/* options.h: a command line of "-flag" and "-option VALUE" words read
 * against a table, for the test and benchmark tools.  Header-only: include
 * it once. */
#ifndef AS_OPTIONS_H
#define AS_OPTIONS_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* One option of a table: its word, and how and where its value is stored.
 * parse returns 0 for a value it refuses; a NULL parse makes a flag, which
 * takes no value and sets the int at dst to 1.  A table ends with a NULL
 * name. */
struct option_spec {
    const char *name;
    int (*parse)(const char *value, void *dst);
    void *dst;
};

/* The values of a repeatable option, in order; more than max are refused. */
struct option_list {
    const char **values;
    int n, max;
};

/* Values as atoi, atol and atof read them (never refused), or the word
 * itself (argv's: not copied). */
static inline int option_int(const char *v, void *dst)
{
    *(int *)dst = atoi(v);
    return 1;
}

static inline int option_long(const char *v, void *dst)
{
    *(long *)dst = atol(v);
    return 1;
}

static inline int option_double(const char *v, void *dst)
{
    *(double *)dst = atof(v);
    return 1;
}

static inline int option_string(const char *v, void *dst)
{
    *(const char **)dst = v;
    return 1;
}

/* Appends v to the struct option_list at dst. */
static inline int option_append(const char *v, void *dst)
{
    struct option_list *l = dst;

    if (l->n >= l->max)
        return 0;
    l->values[l->n++] = v;
    return 1;
}

/* The values of l in turn, for threads at once (next: the count of calls
 * they share); NULL if l has none. */
static inline const char *option_list_next(const struct option_list *l, atomic_uint *next)
{
    return l->n > 0 ? l->values[atomic_fetch_add(next, 1) % (unsigned)l->n] : NULL;
}

/* Reads argv[1] .. argv[argc - 1] against table: each word one of its
 * options, followed by its value unless it is a flag; a later value
 * overrides an earlier one.  Calls usage, which must not return, at a word
 * that is not in the table, an option without its value, or a value its
 * parse refuses. */
static inline void parse_options(int argc, char **argv, const struct option_spec *table,
                                 void (*usage)(void))
{
    for (int i = 1; i < argc; i++) {
        const struct option_spec *o = table;

        while (o->name != NULL && strcmp(o->name, argv[i]) != 0)
            o++;
        if (o->name == NULL)
            usage();
        else if (o->parse == NULL)
            *(int *)o->dst = 1;
        else if (i + 1 >= argc || !o->parse(argv[++i], o->dst))
            usage();
    }
}

#endif
