"""Deliveries and the evidence ledger (pure core): what a delivery holds and
when it is late or non-conforming, the hash chain and signed checkpoints, and
the rules for evidence files (trusted type, safe name). The bytes on disk and
the ledger's rows are ``scheduler.store``'s.

May use: ``scheduler.plan``, ``scheduler.people``, the shared words and
cryptography, filetype. No database, web or clock.
"""
