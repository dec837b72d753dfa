"""Command line of the media production scheduler:

    python main.py load [PATH...]
    python main.py occurrences [--plan CODE] [--agency CODE] [--obligation CODE]
                               [--from DATE] [--to DATE] [--format table|json|csv]
    python main.py milestones  (same filters)
    python main.py plan roll SOURCE --year 2025 [--rename OLD=NEW ...] [--name CODE=NAME ...]
    python main.py serve [--host 127.0.0.1] [--port 8000] [--no-scheduler]
    python main.py worker | remind [--dry-run]
    python main.py feeds export
    python main.py users add EMAIL --role ROLE [--role ROLE ...] [--agency CODE] [--name NAME] [--lang vi|en]
    python main.py users list | users disable EMAIL | users password EMAIL  (password on standard input)
    python main.py subscribe --email ADDRESS [--plan CODE] [--agency CODE] [--obligation CODE]
                             [--channel NAME] [--milestones/--no-milestones]
    python main.py subscriptions list | subscriptions revoke ID
    python main.py tokens create --user EMAIL | tokens list | tokens revoke ID
    python main.py deliver OCCURRENCE_ID --by EMAIL --at DATETIME [--duration 10m] [--url URL]
                           [--title ...] [--topic CODE ...] [--file PATH ...] [--supersedes SEQ]
    python main.py excuse OCCURRENCE_ID --by EMAIL --reason TEXT
    python main.py verify [--checkpoint FILE] | ledger checkpoint
    python main.py report --period 2024-Q3 [--plan CODE] [--agency CODE] [--obligation CODE]
                          [--format json|csv|xlsx|html] [--cutoff] [--out PATH]

Every command takes --now (act as if it were that moment) and the settings
(--lang vi|en, --database-url...). The commands live in scheduler/cli/.
"""

from scheduler.cli.main import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
