"""The command line (edge): one module per group of subcommands; ``main.py``
only calls ``scheduler.cli.main``. Errors become one line on stderr and
exit status 1 here, nowhere else.

May use: everything below it (core, store, notifiers, daemon, web).
"""
