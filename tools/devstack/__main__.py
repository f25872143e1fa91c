"""`python -m devstack ...` (imports stay under the guard: worker processes re-import this module)."""

if __name__ == "__main__":
    from devstack.cli import main

    raise SystemExit(main())
