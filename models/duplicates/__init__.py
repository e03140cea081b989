"""Duplicate people (issue 24): blocking keys and the transliterating fold (`keys`), the score
of a pair with its reasons (`match`), the look-up while a new user is typed (`typing`), the scan
of a whole organization (`scan`) and the pairs staff marked "not a duplicate" (`marks`)."""
