"""Pin images by digest in a kustomization's `images:` list, like `kustomize edit set image` does.

    python k8s/pin_images.py k8s/overlays/prod/kustomization.yaml \\
        a4c-dns=registry.example.com/a4c/dns:1.2.3@sha256:<64 hex> ...

Each argument is NAME=NEWNAME[:TAG]@sha256:DIGEST (NAME is the image name in the manifests). Only the
`images:` block is rewritten; the rest of the file, comments included, stays as it was. `make images
PUSH=1` runs this with the digests the registry returned; kubectl has no `kustomize edit`, hence this.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
BLOCK = re.compile(r"^images:\n(?:[ \t]+\S.*\n)*", re.MULTILINE)


def parse(argument: str) -> tuple[str, dict[str, str]]:
    """`NAME=NEWNAME[:TAG]@DIGEST` -> (NAME, the entry's new fields); ValueError names what is wrong."""
    name, sep, reference = argument.partition("=")
    image, at, digest = reference.partition("@")
    if not (sep and at and name and image):
        raise ValueError(f"{argument!r}: expected NAME=NEWNAME[:TAG]@sha256:DIGEST")
    if not DIGEST.match(digest):
        raise ValueError(f"{argument!r}: the digest must be sha256: and 64 hex digits")
    fields = {"digest": digest}
    repository, colon, tag = image.rpartition(":")
    if colon and "/" not in tag:
        fields |= {"newName": repository, "newTag": tag}
    else:
        fields["newName"] = image
    if fields["newName"] == name:
        del fields["newName"]
    return name, fields


def pin(text: str, pins: dict[str, dict[str, str]]) -> str:
    """The kustomization text with each named entry of `images:` updated (KeyError: no such entry)."""
    match = BLOCK.search(text)
    if match is None:
        raise KeyError("no images: block")
    images: list[dict[str, Any]] = yaml.safe_load(match.group(0))["images"]
    by_name = {entry["name"]: entry for entry in images}
    for name, fields in pins.items():
        if name not in by_name:
            raise KeyError(f"no image {name!r} in images:")
        by_name[name].update(fields)
    block = yaml.safe_dump({"images": images}, sort_keys=False, default_flow_style=False, indent=2)
    block = re.sub(r"^- ", "  - ", block, flags=re.MULTILINE)
    block = re.sub(r"^  (\w)", r"    \1", block, flags=re.MULTILINE)
    return text[: match.start()] + block + text[match.end() :]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        pins = dict(parse(argument) for argument in argv[1:])
        path.write_text(pin(path.read_text(), pins))
    except (ValueError, KeyError) as error:
        print(f"pin_images: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
