"""Rebuild the vendored schemas in this folder from registry packages (see README.md here).

    python deploy/k8s/schemas/vendor.py KUBERNETES_DEFINITIONS STRIMZI_CRD_DIR KEDA_SCHEMA_DIR

KUBERNETES_DEFINITIONS: kubernetes_validate/kubernetes-json-schema/v1.33.0-local-strict/
_definitions.json from the kubernetes-validate wheel (PyPI); STRIMZI_CRD_DIR: the CRDs that
fabric8's crd-generator-cli writes for the io.strimzi:api jar (Maven Central); KEDA_SCHEMA_DIR:
a folder with KIND.json, the JSON schema of cloudcoil-models-keda's model of each KIND in
KEDA_KINDS (PyPI). Only what the manifests use is kept: the definitions the listed kinds reach,
and the listed custom resources.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES_KINDS = {
    "v1/ConfigMap": "io.k8s.api.core.v1.ConfigMap",
    "v1/Namespace": "io.k8s.api.core.v1.Namespace",
    "v1/Secret": "io.k8s.api.core.v1.Secret",
    "v1/Service": "io.k8s.api.core.v1.Service",
    "v1/ServiceAccount": "io.k8s.api.core.v1.ServiceAccount",
    "apps/v1/Deployment": "io.k8s.api.apps.v1.Deployment",
    "apps/v1/StatefulSet": "io.k8s.api.apps.v1.StatefulSet",
    "batch/v1/Job": "io.k8s.api.batch.v1.Job",
    "policy/v1/PodDisruptionBudget": "io.k8s.api.policy.v1.PodDisruptionBudget",
}
STRIMZI_CRDS = ("kafkas", "kafkanodepools", "kafkatopics", "kafkausers")
KEDA_KINDS = ("ScaledObject", "TriggerAuthentication")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found.add(ref.removeprefix("#/$defs/"))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def kubernetes(definitions_path: Path) -> dict[str, Any]:
    everything = json.loads(definitions_path.read_text())["$defs"]
    kept: dict[str, Any] = {}
    todo = list(KUBERNETES_KINDS.values())
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = everything[name]
        todo.extend(_refs(everything[name]) - kept.keys())
    return {"kinds": KUBERNETES_KINDS, "$defs": dict(sorted(kept.items()))}


def _strict(node: Any, *, loose_maps: bool) -> Any:
    """Objects with declared properties refuse unknown ones (a typo fails the test instead of
    being pruned by the API server). With `loose_maps` (the Strimzi CRDs), the generator's
    `additionalProperties: {type: object}` for a Map<String, Object> such as a topic's `config`
    becomes free-form, as Strimzi's published CRDs have it (x-kubernetes-preserve-unknown-fields).
    """
    if isinstance(node, list):
        return [_strict(value, loose_maps=loose_maps) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _strict(value, loose_maps=loose_maps) for key, value in node.items()}
    extra = node.get("additionalProperties")
    if loose_maps and set(node.get("properties", {})) == {"type"}:
        # A polymorphic member (storage, authentication, logging): the generator renders only
        # the discriminator of its Jackson subtypes, so the subtypes' fields stay unchecked.
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif loose_maps and extra == {"type": "object"}:
        del node["additionalProperties"]
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        node["additionalProperties"] = False
    return node


def strimzi(crd_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for plural in STRIMZI_CRDS:
        crd = yaml.safe_load((crd_dir / f"{plural}.kafka.strimzi.io-v1.yml").read_text())
        for version in crd["spec"]["versions"]:
            key = f"kafka.strimzi.io/{version['name']}/{crd['spec']['names']['kind']}"
            schema = version["schema"]["openAPIV3Schema"]
            # As Strimzi's published CRDs have them; metadata is checked as an ObjectMeta.
            schema["properties"]["apiVersion"] = {"type": "string"}
            schema["properties"]["kind"] = {"type": "string"}
            schema["properties"]["metadata"] = {"type": "object"}
            out[key] = _strict(schema, loose_maps=True)
    return out


def keda(schema_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in KEDA_KINDS:
        schema = json.loads((schema_dir / f"{kind}.json").read_text())
        schema["properties"]["metadata"] = {"type": "object"}
        out[f"keda.sh/v1alpha1/{kind}"] = _strict(schema, loose_maps=False)
    return out


def main() -> None:
    definitions, strimzi_dir, keda_dir = (Path(arg) for arg in sys.argv[1:4])
    (HERE / "kubernetes-v1.33-strict.json").write_text(
        json.dumps(kubernetes(definitions), indent=1, sort_keys=True) + "\n"
    )
    crds = {**strimzi(strimzi_dir), **keda(keda_dir)}
    (HERE / "custom-resources.json").write_text(json.dumps(crds, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
