"""The plan and its expansion (pure core): reading a schedule file, cadence
forms, periods, working days and durations, occurrences and milestones,
revisions between loads, rolling a plan to the next year, and the reminder
settings a plan file sets (checked on load; ``scheduler.reminders`` decides what they owe).

May use: the standard library, the shared words (``scheduler.errors``,
``bounds``, ``documents``, ``i18n``) and dateutil, holidays, ruamel.yaml.
No database, web, mail or clock; time is an argument.
"""
