#!/usr/bin/env python3
"""Translate the AWS SAM template into plain CloudFormation JSON, offline.

Uses the `samtranslator` package (what `sam` and `cfn-lint` run inside) without AWS credentials:
  * the region is fixed (ARNs and the partition are derived from it),
  * the managed-policy lookup that would call IAM is stubbed with an empty map (this template attaches
    no managed policies by name),
  * local CodeUri paths become an s3:// URI, since the translator only accepts S3 locations
    (`sam build` / `sam package` do the real replacement).

Usage: python3 scripts/sam-translate.py [template.yaml] [--region us-east-1] [--param Key=Value ...]
Writes the CloudFormation template as JSON to stdout; errors go to stderr with exit code 1.
"""

import argparse
import json
import os
import sys

PLACEHOLDER_CODE_URI = "s3://streamtally-offline-translate/code.zip"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", default="template.yaml")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="parameter value passed to the translator (repeatable)")
    return parser.parse_args(argv)


def replace_local_code_uris(template):
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            uri = props.get("CodeUri")
            if not (isinstance(uri, str) and uri.startswith("s3://")) and not isinstance(uri, dict):
                props["CodeUri"] = PLACEHOLDER_CODE_URI
        elif kind == "AWS::Serverless::LayerVersion":
            uri = props.get("ContentUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props["ContentUri"] = PLACEHOLDER_CODE_URI


def main(argv):
    args = parse_args(argv)
    # samtranslator reads the region from the default boto mechanisms; set it before importing.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ.setdefault("AWS_REGION", args.region)
    try:
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser import parser
        from samtranslator.translator.translator import Translator
        from samtranslator.yaml_helper import yaml_parse
    except ImportError as err:
        print(f"samtranslator is not installed ({err}); run `pip install aws-sam-translator`.", file=sys.stderr)
        return 2

    with open(args.template, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    replace_local_code_uris(template)

    parameter_values = {}
    for pair in args.param:
        key, sep, value = pair.partition("=")
        if not sep:
            print(f"--param expects KEY=VALUE, got {pair!r}", file=sys.stderr)
            return 1
        parameter_values[key] = value

    translator = Translator(managed_policy_map={}, sam_parser=parser.Parser())
    try:
        output = translator.translate(sam_template=template, parameter_values=parameter_values,
                                      passthrough_metadata=True)
    except InvalidDocumentException as err:
        for cause in err.causes:
            print(f"SAM translation error: {cause.message}", file=sys.stderr)
        return 1
    json.dump(output, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
