"""`patrondesk demo`: realistic demo users in bulk, the same data for the same seed.

How it stays fast (on a 2-core machine, SQLite: 100,000 users in about 20 s, 1,000,000 in about
8 minutes; the name-index trigger and the search indexes of migration 0003 take over half of it):
- Faker is called only to build small pools (first names, last names, addresses, companies,
  phone numbers per locale) once per seed; each user is then combined from the pools with one
  `random.Random`.
- Rows are plain tuples made by a pure generator (`demo_batches`) from a `DemoContext` read from
  the database once, so the generator can be tested without writing anything. From
  `WORKER_THRESHOLD` users it runs in a second process, overlapping the writes.
- Rows are written with the bulk writer the import uses (`models.store.bulk.BulkWriter`: sqlite3
  `executemany`, psycopg2 `execute_values`), one transaction per `CHUNK_USERS` users.
- Ids of person, account, loan and fee rows are allocated from max(id) + 1
(`models.store.bulk.next_id`),
  so child rows can point at them without reading them back; PostgreSQL sequences are moved past
  them afterwards.
  Unique values (username, email, primary id, identifiers) contain the person or account id, so a
  second run on the same database never collides with the first.

Demo data is meant for an idle database: a user added by someone else while `demo` runs could
take an id this run allocated. Email addresses use the reserved example domains (RFC 2606), so a
letter job run on demo data mails nobody real.

The modules, in the order they build on each other:
- `data`: locales, domains, texts and weights; the shared constants and `DemoError`;
- `tables`: the tables filled, as `models.store.bulk.Table`s with their demo defaults;
- `context`: what the generator reads from the database once (`load_context`);
- `pools`: the Faker pools (`build_pools`);
- `rows` and `generator`: the pure generator (`demo_batches`), one user's account and person in
  `generator`, the rows around them (identifiers, notes, statistics, loans, fees, blocks) in `rows`;
- `worker`: the generator in a second process;
- `write`: `generate_demo`, the batches written through `models.store.bulk.BulkWriter`.
"""

from models.demo.context import DemoContext, GroupInfo, load_context
from models.demo.data import LOCALES, STAFF_PASSWORD, DemoError
from models.demo.generator import Batch, demo_batches
from models.demo.pools import build_pools
from models.demo.tables import PERSON, TABLES
from models.demo.worker import _from_worker
from models.demo.write import DemoReport, generate_demo

__all__ = [
    "LOCALES",
    "PERSON",
    "STAFF_PASSWORD",
    "TABLES",
    "Batch",
    "DemoContext",
    "DemoError",
    "DemoReport",
    "GroupInfo",
    "_from_worker",
    "build_pools",
    "demo_batches",
    "generate_demo",
    "load_context",
]
