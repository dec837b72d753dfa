"""The command line (edge): one module per group of subcommands, each
declaring its parser beside the functions it runs: ``plans`` (load,
occurrences, milestones, plan roll), ``people`` (users, subscribe,
subscriptions, tokens), ``ledger`` (deliver, excuse, verify, ledger
checkpoint), ``reports`` (report), ``service`` (serve, worker, remind, feeds
export). ``context`` is what every command gets; ``listing`` the tables, JSON
and CSV. ``main.py`` only calls ``scheduler.cli.main``, which builds the
parser; errors become one line on stderr and exit status 1 there, nowhere
else.

May use: everything below it (core, store, notifiers, daemon, web).
"""
