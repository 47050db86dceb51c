"""The result cache: verdicts, measurements and model proposals remembered across runs (see docs/cache.md).

`keys` says what a result depends on, `store` keeps results (diskcache), `codec` turns them into JSON.
"""
