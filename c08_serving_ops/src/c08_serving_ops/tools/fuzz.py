"""A fuzz run of the server's OpenAPI schema with schemathesis: every check, every operation, nothing found.

schemathesis reads ``/openapi.json`` and generates requests for every operation:
*positive* cases (valid by the schema) and *negative* ones (wrong types, missing
fields, extra fields, odd strings). Every answer goes through **all** of schemathesis'
checks (:data:`CHECK_NAMES`), not only "no 5xx": the status is one the operation declares,
its content type and body match the declared ones, a valid request is accepted (2xx; 401,
404, 429 and 413, a body over the byte limit, also pass), an invalid one refused (4xx), an
undeclared method is 405 with an ``Allow`` header. A failure means the schema and the server
disagree, and a client built from the schema would break. Generation is seeded (hypothesis
``derandomize``) and bounded by ``max_examples`` per operation and mode. What no JSON schema can
state is written in the schema's descriptions and given to schemathesis as a filter
(:func:`filter_body`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.hooks import HookContext
from schemathesis.openapi import from_dict

from c08_serving_ops.tools.loadgen import check_loopback

load_all_checks()
CHECK_NAMES = tuple(CHECKS.get_all_names())  # every check schemathesis has (14 in 4.32)
# A body over the server's byte limit is refused (413) whatever its shape: no JSON schema states a body's total
# size, so 413 counts as a refusal the schema allows, for valid and invalid cases alike (it is declared).
SIZE_REFUSED = 413


@dataclass
class FuzzReport:
    cases: int = 0
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # "METHOD path -> status" of every 5xx
    failures: list[str] = field(default_factory=list)  # "METHOD path -> status: check: body" of every failed check
    checks: tuple[str, ...] = CHECK_NAMES

    def row(self) -> dict[str, Any]:
        return {"cases": self.cases, "operations": self.operations, "checks": len(self.checks),
                "failures": len(self.failures), "server_errors": len(self.server_errors),
                "statuses": dict(sorted(self.statuses.items()))}


def filter_body(context: HookContext, body: Any) -> bool:
    """What JSON Schema cannot state, and the schema's description does: ids unique within one ``/documents`` call."""
    operation = context.operation
    if operation is None or operation.path != "/documents" or not isinstance(body, dict):
        return True
    documents = body.get("documents")
    if not isinstance(documents, list):
        return True
    ids = [repr(d.get("id")) for d in documents if isinstance(d, dict)]
    return len(ids) == len(set(ids))


def fuzz(base_url: str, max_examples: int = 25, headers: dict[str, str] | None = None,
         skip_paths: tuple[str, ...] = ()) -> FuzzReport:
    """Call every operation with ``max_examples`` positive and negative cases; run every check on each answer."""
    # BEGIN SOLUTION c08.8: the schema; a seeded run per operation and mode; every check; the failures
    check_loopback(base_url)
    spec = httpx.get(f"{base_url}/openapi.json", headers=headers, timeout=10).json()
    schema = from_dict(spec)
    for check in (schema.config.checks.positive_data_acceptance, schema.config.checks.negative_data_rejection):
        check.expected_statuses = [*check.expected_statuses, str(SIZE_REFUSED)]
    schema.hook(filter_body)
    report = FuzzReport()
    checks = CHECKS.get_all()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # an operation the schema defines badly: nothing to call
            continue
        operation = result.ok()
        if operation.path in skip_paths:
            continue
        report.operations += 1
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                report.cases += 1
                report.statuses[response.status_code] += 1
                where = f"{case.method} {case.formatted_path} -> {response.status_code}"
                if response.status_code >= 500:
                    report.server_errors.append(where)
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except FailureGroup as group:  # record and go on: one run reports every disagreement
                    report.failures += [f"{where}: {f.title}: {response.text[:300]}" for f in group.exceptions]

            try:
                run()
            except Unsatisfiable:  # no case of this mode exists (e.g. negative cases of a parameterless GET)
                continue
    return report
    # END SOLUTION


def main(argv: list[str] | None = None) -> int:
    """``python -m c08_serving_ops.tools.fuzz URL [--examples N] [--key KEY]``: the report as JSON; 1 on failure."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("url")
    parser.add_argument("--examples", type=int, default=25, help="cases per operation and mode (positive, negative)")
    parser.add_argument("--key", default=None, help="a bearer key, when the server requires one")
    parser.add_argument("--skip", action="append", default=[], help="a path not to fuzz (repeatable)")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else None
    report = fuzz(args.url, args.examples, headers, tuple(args.skip))
    print(json.dumps({**report.row(), "failure_list": report.failures[:50]}, indent=1))
    return 1 if report.failures or report.server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
