"""A fuzz run of the server's OpenAPI schema with schemathesis: no answer may be a 5xx.

schemathesis reads ``/openapi.json`` and generates requests for every operation:
*positive* cases (valid by the schema) and *negative* ones (wrong types, missing
fields, extra fields, odd strings). Whatever arrives, the server must answer with a
status it documents and never 5xx: a crash under fuzzing is a crash a user can trigger.
Generation is seeded (hypothesis ``derandomize``) and bounded by ``max_examples`` per
operation and mode.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.openapi import from_dict

from c08_serving_ops.loadgen import check_loopback


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # "METHOD path -> status" of every 5xx

    def row(self) -> dict[str, Any]:
        return {"cases": self.cases, "server_errors": len(self.server_errors),
                "statuses": dict(sorted(self.statuses.items()))}


def fuzz(base_url: str, max_examples: int = 25, headers: dict[str, str] | None = None,
         skip_paths: tuple[str, ...] = ()) -> FuzzReport:
    """Call every operation with ``max_examples`` positive and negative cases; record statuses and 5xx."""
    # BEGIN SOLUTION c08.8: the schema; per operation and mode a seeded hypothesis run; record 5xx
    check_loopback(base_url)
    spec = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    schema = from_dict(spec)
    report = FuzzReport()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # an operation the schema defines badly: nothing to call
            continue
        operation = result.ok()
        if operation.path in skip_paths:
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                report.cases += 1
                report.statuses[response.status_code] += 1
                if response.status_code >= 500:
                    report.server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

            try:
                run()
            except Unsatisfiable:  # no case of this mode exists (e.g. negative cases of a parameterless GET)
                continue
    return report
    # END SOLUTION
