"""`patrondesk demo`: realistic demo users in bulk, the same data for the same seed
(models/demo/generator.py says how)."""

from models.demo.generator import (
    LOCALES,
    PERSON,
    STAFF_PASSWORD,
    TABLES,
    Batch,
    DemoContext,
    DemoError,
    DemoReport,
    GroupInfo,
    _from_worker,
    build_pools,
    demo_batches,
    generate_demo,
    load_context,
)

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
