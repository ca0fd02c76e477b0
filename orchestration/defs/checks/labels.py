"""The first words of every check's description: what a failure does, in the same words on every check.

The UI lists some 300 checks; the dozen hand-written ones (source health, Great Expectations, deck) start with
GATE, ALERT, WARNING or DECK CHECK, the dbt tests with "dbt test" (see dbt_descriptions.py).
"""


def gate(description: str, stops: str) -> str:
    """A blocking check upstream of the deck: a failure stops `stops` (and the deck) in that run."""
    return f"GATE (blocking: on failure {stops} and the deck do not run). {description}"


def deck_check(description: str, blocking: bool) -> str:
    """A check of the written deck: a blocking failure fails the run and skips the preview."""
    effect = "blocking: on failure the run fails and deck_preview is skipped" if blocking else "WARN, not blocking"
    return f"DECK CHECK ({effect}). {description}"


def alert(description: str) -> str:
    """ERROR severity, not blocking: the run goes on and the failure stays red on the asset."""
    return f"ALERT (ERROR, not blocking). {description}"


def warning(description: str) -> str:
    return f"WARNING (not blocking). {description}"
