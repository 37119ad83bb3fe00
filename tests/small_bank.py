"""A small hand-made question bank for unit tests of grading, readiness and reports."""

from __future__ import annotations

from shared.bank import Bank, parse_bank

SMALL_BANK_JSON = """
{
  "id": "small-bank",
  "version": "1.0.0",
  "role": "Test role",
  "topics": [
    {"id": "py", "name": "Python core", "area": "python", "priority": "critical",
     "study": "Practise decorators and context managers."},
    {"id": "web", "name": "Web frameworks", "area": "python", "priority": "high",
     "study": "Compare FastAPI and Django."},
    {"id": "cloud", "name": "Azure services", "area": "azure", "priority": "medium",
     "study": "Map AWS services to Azure."},
    {"id": "events", "name": "Event-driven design", "area": "architecture", "priority": "critical",
     "study": "Review Service Bus dead-lettering and idempotent consumers."}
  ],
  "items": [
    {"id": "q-gil", "topic": "py", "kind": "single_choice", "section": "quiz",
     "prompt": "What does the GIL serialise?", "points": 1, "explanation": "Bytecode execution.",
     "choices": [{"key": "A", "text": "Bytecode execution"}, {"key": "B", "text": "Disk I/O"},
                 {"key": "C", "text": "Network I/O"}], "answer": ["A"]},
    {"id": "q-ctx", "topic": "py", "kind": "multiple_choice", "section": "quiz",
     "prompt": "Which methods make a context manager?", "points": 2, "explanation": "__enter__ and __exit__.",
     "choices": [{"key": "A", "text": "__enter__"}, {"key": "B", "text": "__exit__"},
                 {"key": "C", "text": "__call__"}, {"key": "D", "text": "__iter__"}], "answer": ["A", "B"]},
    {"id": "q-asgi", "topic": "web", "kind": "single_choice", "section": "quiz",
     "prompt": "FastAPI runs on?", "points": 1, "explanation": "ASGI.",
     "choices": [{"key": "A", "text": "WSGI"}, {"key": "B", "text": "ASGI"}], "answer": ["B"]},
    {"id": "map-lambda", "topic": "cloud", "kind": "short_answer", "section": "service_mapping",
     "prompt": "AWS Lambda: the Azure equivalent?", "points": 1, "explanation": "Lambda maps to Functions.",
     "aliases": ["Azure Functions", "Functions", "Function App"]},
    {"id": "map-s3", "topic": "cloud", "kind": "short_answer", "section": "service_mapping",
     "prompt": "AWS S3: the Azure equivalent?", "points": 1, "explanation": "S3 maps to Blob Storage.",
     "aliases": ["Azure Blob Storage", "Blob Storage"]},
    {"id": "scn-events", "topic": "events", "kind": "open_answer", "section": "scenarios",
     "prompt": "Design reliable order processing on Azure.", "points": 4,
     "explanation": "Queue, dead-letter, idempotency, identity.",
     "concepts": [
       {"id": "queue", "label": "a Service Bus queue decouples the steps", "weight": 1,
        "synonyms": ["Service Bus", "queue"]},
       {"id": "dlq", "label": "dead-lettering", "weight": 1,
        "synonyms": ["dead-letter", "dead lettering", "poison queue"]},
       {"id": "idem", "label": "idempotency", "weight": 1,
        "synonyms": ["idempotent", "idempotency", "deduplicate"],
        "misstatements": ["exactly-once delivery is guaranteed"]},
       {"id": "mi", "label": "managed identity", "weight": 1,
        "synonyms": ["managed identity", "Entra ID", "the platform's own identity instead of secrets"],
        "misstatements": ["hard-code the connection string"]}
     ]},
    {"id": "iq-frameworks", "topic": "web", "kind": "open_answer", "section": "scenarios",
     "prompt": "Django or FastAPI?", "points": 2, "explanation": "ASGI vs batteries.",
     "concepts": [
       {"id": "async", "label": "FastAPI is async-native", "weight": 1,
        "synonyms": ["ASGI", "async"], "misstatements": ["FastAPI is synchronous", "Django is async-first"]},
       {"id": "batteries", "label": "Django is batteries-included", "weight": 1,
        "synonyms": ["batteries included", "ORM", "admin"]}
     ]}
  ]
}
"""


def small_bank() -> Bank:
    """The small bank: four topics over three areas and all priorities, every item kind."""
    return parse_bank(SMALL_BANK_JSON)
