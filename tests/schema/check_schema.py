#!/usr/bin/python3
"""Checks schema/policy.schema.json against the policies the project ships and against test cases.

Run by Debian's /usr/bin/python3 (python3-jsonschema, python3-yaml):

  check_schema.py SOURCE_DIR repo    every *.yaml under SOURCE_DIR/{policies,examples,tests/policy}
                                     must validate (missing or empty directories pass)
  check_schema.py SOURCE_DIR cases   every file in tests/schema/good/ must validate, every file in
                                     tests/schema/bad/ must be rejected at the place its
                                     `# reject-at: PATH` line names; and `repo` itself must fail on
                                     a tree holding one invalid policy

YAML is read the way the engine's loader (yaml-cpp) reads it where PyYAML would differ: a
duplicate key in one mapping is an error; only `true`/`false` are booleans and only plain decimal
digits are integers (timestamps, `yes`, `0x10`, `1.5` stay strings).
"""

import json
import pathlib
import re
import sys
import tempfile

import jsonschema
import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader with yaml-cpp's reading of plain scalars, refusing duplicate mapping keys.

    The engine reads every scalar as text: `true`/`false` are its only booleans, a number is its
    decimal digits. So only those resolve to bool and int here; `yes`, `0x10`, `1_000`, `1.5`,
    `010` and timestamps stay strings (and a string where the schema wants a bool is an error,
    as it is for the loader).
    """


_Loader.yaml_implicit_resolvers = {}
for _tag, _rx, _first in (
        ("tag:yaml.org,2002:bool", r"^(?:true|false)$", "tf"),
        ("tag:yaml.org,2002:int", r"^(?:0|[1-9][0-9]*)$", "0123456789"),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])):
    _Loader.add_implicit_resolver(_tag, re.compile(_rx), list(_first))
_Loader.add_constructor("tag:yaml.org,2002:bool",
                        lambda loader, node: loader.construct_scalar(node) == "true")
_Loader.add_constructor("tag:yaml.org,2002:int",
                        lambda loader, node: int(loader.construct_scalar(node), 10))


def _construct_mapping(loader, node, deep=False):
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, "expected a mapping, found %s" % node.id, node.start_mark)
    loader.flatten_mapping(node)
    mapping = {}
    seen = {}
    for key_node, value_node in node.value:
        # Keys are text to the engine: `true:` (the program) is the string "true".
        if isinstance(key_node, yaml.ScalarNode):
            key = loader.construct_scalar(key_node)
        else:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "a key must be text",
                key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "duplicate key %r (first at line %d)" % (key, seen[key].line + 1),
                key_node.start_mark)
        seen[key] = key_node.start_mark
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path):
    with open(path, "rb") as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def error_path(err):
    return "/".join(str(p) for p in err.absolute_path) or "(root)"


def describe(err):
    return "%s: %s" % (error_path(err), err.message)


def make_validator(source_dir):
    schema_path = pathlib.Path(source_dir) / "schema" / "policy.schema.json"
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def problems(validator, path):
    """Every reason `path` is not a valid policy file (empty list: valid)."""
    try:
        doc = load_yaml(path)
    except yaml.YAMLError as e:
        return ["yaml: " + str(e).replace("\n", " ")]
    return [describe(e) for e in sorted(validator.iter_errors(doc), key=lambda e: e.path)]


def check_repo(source_dir, validator, out=sys.stdout):
    failures = 0
    count = 0
    for sub in ("policies", "examples", "tests/policy"):
        root = pathlib.Path(source_dir) / sub
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.yaml")):
            count += 1
            errs = problems(validator, path)
            if errs:
                failures += 1
                print("FAIL %s" % path, file=out)
                for e in errs:
                    print("     %s" % e, file=out)
            else:
                print("ok   %s" % path, file=out)
    print("%d policy files checked, %d invalid" % (count, failures), file=out)
    return failures == 0


def reject_at(path):
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# reject-at:"):
            return line[len("# reject-at:"):].strip()
    return None


def check_cases(source_dir, validator):
    here = pathlib.Path(source_dir) / "tests" / "schema"
    failures = 0
    good = sorted(p for p in (here / "good").iterdir() if p.is_file())
    bad = sorted(p for p in (here / "bad").iterdir() if p.is_file())
    if not good or not bad:
        print("FAIL no test cases found under %s" % here)
        return False
    for path in good:
        errs = problems(validator, path)
        if errs:
            failures += 1
            print("FAIL good/%s rejected:" % path.name)
            for e in errs:
                print("     %s" % e)
        else:
            print("ok   good/%s accepted" % path.name)
    for path in bad:
        want = reject_at(path)
        if want is None:
            failures += 1
            print("FAIL bad/%s has no '# reject-at: PATH' line" % path.name)
            continue
        errs = problems(validator, path)
        # Each error's place; a oneOf failure also counts the places inside it.
        try:
            doc = load_yaml(path)
            places = set()
            for e in validator.iter_errors(doc):
                places.add(error_path(e))
                for sub in e.context or ():
                    places.add(error_path(sub))
        except yaml.YAMLError:
            places = {"(yaml)"}
        if not errs:
            failures += 1
            print("FAIL bad/%s accepted" % path.name)
        elif want not in places:
            failures += 1
            print("FAIL bad/%s rejected, but not at %s:" % (path.name, want))
            for e in errs:
                print("     %s" % e)
        else:
            print("ok   bad/%s rejected at %s" % (path.name, want))

    # The repo check must pass on a tree without policy directories and fail on an invalid file.
    with tempfile.TemporaryDirectory() as tmp:
        sink = open("/dev/null", "w")
        if not check_repo(tmp, validator, out=sink):
            failures += 1
            print("FAIL repo check fails on a tree without policies/ and examples/")
        for sub in ("policies", "examples", "tests/policy"):
            d = pathlib.Path(tmp) / sub / "nested"
            d.mkdir(parents=True)
            (d / "x.yaml").write_text("version: 1\n")
        if not check_repo(tmp, validator, out=sink):
            failures += 1
            print("FAIL repo check fails on valid files")
        (pathlib.Path(tmp) / "examples" / "nested" / "y.yaml").write_text("version: 2\n")
        if check_repo(tmp, validator, out=sink):
            failures += 1
            print("FAIL repo check passes a tree holding an invalid examples/nested/y.yaml")
        else:
            print("ok   repo check rejects a tree holding an invalid policy")
        sink.close()

    print("%d good, %d bad cases, %d failures" % (len(good), len(bad), failures))
    return failures == 0


def main(argv):
    if len(argv) != 3 or argv[2] not in ("repo", "cases"):
        print("usage: check_schema.py SOURCE_DIR repo|cases", file=sys.stderr)
        return 2
    source_dir = argv[1]
    validator = make_validator(source_dir)
    ok = check_repo(source_dir, validator) if argv[2] == "repo" else check_cases(source_dir,
                                                                                   validator)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
