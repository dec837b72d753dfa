"""The tests hash passwords with the lightest argon2id.

The product hashes with argon2's memory-hard defaults (64 MiB, 3 passes, 4
lanes): up to a second per hash or verification on a busy 2-core machine,
and the suite signs people in hundreds of times. Imported by conftest.py
before any test runs, this swaps the product's hasher for argon2id at its
lowest cost: still argon2id, still verified for real. A hash names its own
parameters, so a service a test starts in another process verifies these
cheaply too. ``PRODUCT_HASHER`` keeps the real one for the test that checks
its parameters.
"""

from __future__ import annotations

from argon2 import PasswordHasher

from scheduler.web import auth

PRODUCT_HASHER = auth.hasher
LIGHT = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
auth.hasher = LIGHT
