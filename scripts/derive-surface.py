#!/usr/bin/env python3
"""Derives the values surface of every known chart release from the vendor's own files.

    .tools/venv/bin/python3 scripts/derive-surface.py PRODUCT VALUES_DIR [README ...] [--check]

VALUES_DIR holds the chart's default values of each release as vX.Y.Z.values.yaml (and, where the vendor ships
one, its values schema as vX.Y.Z.values.schema.json). Each README is the chart's values reference at one release,
named ...-vX.Y.Z.md. The result is written to schema/PRODUCT/surface.json (docs/versions.md describes it);
--check only compares it with the committed file and exits 1 when they differ.

The keys of a release are:
  - every map key of its default values ('+'), lists being leaves;
  - keys that appear only commented out in the defaults ('o': optional keys, documented but unset), placed
    under the map the comment sits in;
  - keys its values schema or README names under a map the defaults already have ('o').
Nothing under a map whose keys are the user's (Kubernetes objects, arrays, subchart values: read from
opsta-lint's own schema of the major) is a key of the chart, so the data lists no key below one.
"""

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VERSION = re.compile(r"v(\d+\.\d+\.\d+)")
# A commented-out key: `# key: value` or `# key:`; the key starts lowercase (prose such as "Example:" or
# "NOTE:" does not).
COMMENTED_KEY = re.compile(r"^( *)#( +)([a-z][A-Za-z0-9_]*):( .*)?$")


def semver(text):
    return tuple(int(p) for p in text.split("."))


def release_of(path):
    match = VERSION.search(path.name)
    return match.group(1) if match else None


def key_paths(value, prefix=""):
    """Every map key path of a values tree, dotted (lists are leaves)."""
    out = {}
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}{key}"
            out[path] = child
            out.update(key_paths(child, path + "."))
    return out


def key_lines(text):
    """{line: (column, path, is_map)} of every map key reachable through maps only, from the YAML node tree."""
    out = {}

    def walk(node, prefix):
        if not isinstance(node, yaml.MappingNode):
            return
        for key, value in node.value:
            path = f"{prefix}{key.value}"
            out[key.start_mark.line] = (key.start_mark.column, path, isinstance(value, yaml.MappingNode))
            walk(value, path + ".")

    walk(yaml.compose(text), "")
    return out


def commented_keys(text, real):
    """Keys that appear only commented out. Each goes under the map it would belong to with `# ` removed: the
    closest key above it at a smaller column when that key is a map, else the key the comment block
    introduces (the next key, one level up) when that one is a map."""
    by_line = key_lines(text)
    is_map = lambda entry: entry[2] or real.get(entry[1]) == {}
    found = set()
    for number, line in enumerate(text.splitlines()):
        match = COMMENTED_KEY.match(line)
        if not match:
            continue
        col = len(match.group(1)) + len(match.group(2)) - 1
        above = [by_line[n] for n in range(number - 1, -1, -1) if n in by_line and by_line[n][0] < col][:1]
        below = [by_line[n] for n in sorted(by_line) if n > number][:1]
        if col == 0:
            parent = ""
        elif above and is_map(above[0]):
            parent = above[0][1] + "."
        elif below and below[0][0] == col - 2 and is_map(below[0]):
            parent = below[0][1] + "."
        else:
            continue
        found.add(parent + match.group(3))
    return found


def schema_keys(schema, prefix=""):
    """Property paths of a vendor values schema (draft-07, local $refs)."""
    out = set()

    def resolve(node):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if ref and ref.startswith("#/"):
            target = schema
            for part in ref[2:].split("/"):
                target = target[part]
            return target
        return node

    def walk(node, prefix, depth):
        node = resolve(node)
        if not isinstance(node, dict) or depth > 20:
            return
        for key, child in node.get("properties", {}).items():
            path = f"{prefix}{key}"
            out.add(path)
            walk(child, path + ".", depth + 1)

    walk(schema, prefix, 0)
    return out


def closed_without(schema, path):
    """True when opsta-lint's schema closes the map holding `path` and does not name its last key."""
    node = schema
    for key in path.split("."):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            node = schema["$defs"][ref.split("/")[-1]]
        properties = node.get("properties", {})
        if key in properties:
            node = properties[key]
        else:
            return node.get("additionalProperties") is False
    return False


def readme_keys(text):
    """Dotted key paths written in backquotes in a README."""
    return set(re.findall(r"`([a-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)`", text))


def open_paths(schema):
    """Paths where opsta-lint's schema leaves the keys to the user: Kubernetes objects, arrays, maps with
    `additionalProperties` other than false (subchart values, keyed maps)."""
    out = set()
    defs = schema.get("$defs", {})

    def walk(node, path):
        ref = node.get("$ref", "")
        if ref == "#/$defs/kubernetesObject" or node.get("type") == "array":
            out.add(path)
            return
        if ref.startswith("#/$defs/"):
            node = defs[ref.split("/")[-1]]
        extra = node.get("additionalProperties")
        if "properties" in node and extra is not False or isinstance(extra, dict) or extra is True:
            out.add(path)
            return
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}" if path else key)

    walk(schema, "")
    out.discard("")
    return out


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) < 2:
        sys.exit(__doc__)
    product, values_dir, readmes = args[0], Path(args[1]), [Path(a) for a in args[2:]]
    data_dir = ROOT / "schema" / product
    product_yaml = yaml.safe_load((data_dir / "product.yaml").read_text())

    majors = {m["major"]: m["schema"] for m in product_yaml["majors"]}
    releases = sorted(
        (release_of(p) for p in values_dir.glob("v*.values.yaml") if release_of(p)), key=semver
    )
    surfaces, defaults_of = {}, {}
    for release in releases:
        text = (values_dir / f"v{release}.values.yaml").read_text()
        real = key_paths(yaml.safe_load(text) or {})
        defaults_of[release] = real
        keys = {path: "+" for path in real}
        documented = set()
        schema_file = values_dir / f"v{release}.values.schema.json"
        if schema_file.is_file():
            documented |= schema_keys(json.loads(schema_file.read_text()))
        for readme in readmes:
            if release_of(readme) == release:
                documented |= readme_keys(readme.read_text())
        # A key that left the defaults of an earlier release is gone, even where the schema or README still
        # names it (the vendor's schema lags behind its values).
        left = {p for earlier in surfaces.values() for p, mark in earlier.items() if mark == "+"} - set(real)
        extra = commented_keys(text, real) | (documented - left)
        ours = json.loads((data_dir / majors[semver(release)[0]]).read_text())
        for path in sorted(extra, key=len):
            parent = path.rsplit(".", 1)[0] if "." in path else None
            if path in keys or (parent is not None and parent not in keys):
                continue
            # A comment under a map that opsta-lint's schema closes, naming a key the schema does not know, is
            # no key of the chart (e.g. `# fsGroup: 2000` left one level too high beside podSecurityContext).
            if not closed_without(ours, path):
                keys[path] = "o"
        surfaces[release] = keys

    opened = set()
    for major in product_yaml["majors"]:
        opened |= open_paths(json.loads((data_dir / major["schema"]).read_text()))
    every = sorted(set().union(*surfaces.values()))
    # keys under an open map are the user's, not the chart's
    every = [p for p in every if not any(p.startswith(o + ".") for o in opened)]

    pinned = [p for c in product_yaml.get("pinnedComponents", []) for p in c.get("forbiddenPaths", [])]
    tag = product_yaml.get("productVersionTag")
    if tag:
        pinned.append(tag["path"])
    defaults = {}
    for path in pinned:
        column = [defaults_of[r].get(path) for r in releases]
        if any(v is not None for v in column):
            defaults[path] = [v if v is None or isinstance(v, str) else json.dumps(v) for v in column]

    surface = {
        "comment": "Generated by scripts/derive-surface.py from the chart's default values (and, where known, "
        "its values schema and README) at each release; docs/versions.md describes the format. Do not edit.",
        "releases": releases,
        "keys": {p: "".join(surfaces[r].get(p, "-") for r in releases) for p in every},
        "defaults": defaults,
    }
    text = json.dumps(surface, indent=1) + "\n"
    out = data_dir / "surface.json"
    if check:
        if not out.is_file() or out.read_text() != text:
            sys.exit(f"{out} is not what scripts/derive-surface.py derives: run it again")
        return
    out.write_text(text)
    print(f"{out}: {len(releases)} releases, {len(every)} keys", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
