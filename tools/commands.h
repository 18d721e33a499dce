/* commands.h: the autostaple command's subcommands, one file each.  Each
 * takes the arguments after its name (argv[0] is the subcommand's name),
 * writes results on stdout and errors on stderr, and returns the exit
 * status. */
#ifndef AS_COMMANDS_H
#define AS_COMMANDS_H

/* autostaple [options] [--] COMMAND [ARGS...] (run.c): argv[0] is
 * "autostaple". */
int as_cmd_run(int argc, char **argv);
/* autostaple check CERTFILE ... (check.c) */
int as_cmd_check(int argc, char **argv);
/* autostaple status ... (status.c) */
int as_cmd_status(int argc, char **argv);

#endif
