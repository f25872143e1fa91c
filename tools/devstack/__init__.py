"""devstack: the whole product on one machine, no AWS account and no Docker.

Kept import-free on purpose: every Lambda worker process imports this package first.
"""
