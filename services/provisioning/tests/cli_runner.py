"""Run the installed `a4c` console script against a test service, as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .helpers import TOKEN, Running

A4C = shutil.which("a4c", path=str(Path(sys.executable).parent)) or "a4c"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


async def a4c(service: Running, *args: str, token: str | None = TOKEN) -> Result:
    """Run the installed console script (a subprocess, so the server keeps serving on this loop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("A4C_PROVISIONING_")}
    env["A4C_PROVISIONING_ADDRESS"] = service.address
    if token:
        env["A4C_PROVISIONING_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        A4C, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def bootstrap_args(slug: str, *extra: str, **flags: str) -> list[str]:
    values = {
        "--name": f"Acme Health {slug}",
        "--slug": slug,
        "--admin-email": f"ada@{slug.lower()}.example",
        "--admin-given-name": "Ada",
        "--admin-family-name": "Lovelace",
    }
    values.update({f"--{k.replace('_', '-')}": v for k, v in flags.items()})
    return ["bootstrap", *(part for pair in values.items() for part in pair), *extra]
