/* autostaple: the operator's command.  Dispatches to a subcommand
 * (commands.h); anything else runs a program under the library (run.c). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return as_cmd_check(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "status") == 0)
        return as_cmd_status(argc - 1, argv + 1);
    return as_cmd_run(argc, argv);
}
