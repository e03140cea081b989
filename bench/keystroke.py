"""What a thin SSH terminal receives per keystroke typed in the search box, and how long until
the results are drawn, in a real 80x24 pseudo-terminal.

    python -m bench.keystroke [--users 1000000] [--db PATH] [--words 25]

Logs in, then types the first letters of real surnames one key at a time (clearing the box
between words) and prints `bytes_per_keystroke` (mean bytes written per key, target <= 10,000)
and `keystroke_p95_ms` (key sent to the last byte of the redraw, target <= 50), plus
`keystrokes`. A keystroke's redraw ends when the app has been quiet for 250 ms.
"""

from __future__ import annotations

import argparse
import random
import sys

from bench.common import ADMIN, ADMIN_PASSWORD, REPO, default_db, ensure_demo_db, percentile
from bench.pty_app import PtyApp


def surnames(db: str, count: int, seed: int) -> list[str]:
    from models.store.connection import close_database, open_database
    from models.store.tables import Person

    open_database(db)
    try:
        top = Person.select(Person.id).order_by(Person.id.desc()).first().id
        rng = random.Random(seed)
        names: list[str] = []
        while len(names) < count:
            person = Person.get_or_none(Person.id == rng.randint(1, top))
            if person and len(person.last_name) >= 4 and person.last_name.isalpha():
                names.append(person.last_name)
        return names
    finally:
        close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--db", help="database path or URL (default: the bench file for --users)")
    parser.add_argument("--words", type=int, default=25)
    parser.add_argument("--letters", type=int, default=4, help="letters typed per surname")
    args = parser.parse_args()
    db = args.db or default_db(args.users)
    ensure_demo_db(args.users, db)
    words = surnames(db, args.words, seed=7)

    app = PtyApp([sys.executable, "-m", "tui.cli", "--db", db], cols=80, rows=24, cwd=REPO)
    try:
        app.wait_for("Log in to PatronDesk")
        app.send(ADMIN)
        app.settle()
        app.send("\t")
        app.settle()
        app.send(ADMIN_PASSWORD + "\r")
        app.wait_for(" users ", timeout=60)
        app.settle(quiet=0.5)
        sizes: list[int] = []
        latencies: list[float] = []
        for word in words:
            for letter in word[: args.letters]:
                app.take()
                app.send(letter)
                size, seconds = app.settle(quiet=0.25)
                sizes.append(size)
                latencies.append(seconds * 1000)
            app.send("\x15")  # ctrl+u: clear the search box
            app.settle(quiet=0.4)
    finally:
        app.close()
    print(f"keystrokes: {len(sizes)}")
    print(f"bytes_per_keystroke: {sum(sizes) / len(sizes):.0f}")
    print(f"bytes_per_keystroke_max: {max(sizes)}")
    print(f"keystroke_p50_ms: {percentile(latencies, 50):.1f}")
    print(f"keystroke_p95_ms: {percentile(latencies, 95):.1f}")


if __name__ == "__main__":
    main()
