"""Generates corral/api/v1 (messages, type stubs, gRPC stubs) from proto/corral/api/v1,
and corral/api/v1/api_descriptor.binpb: every file's descriptor with its comments
(source info), which `corral explain` reads.

    python proto/generate.py [OUTPUT_ROOT]

OUTPUT_ROOT defaults to the repository root; the staleness test generates into
a temporary directory and compares.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
# Only the service file gets gRPC stubs; the others hold messages alone.
SERVICE_FILES = ("api.proto", "agent.proto")
DESCRIPTOR_SET = "api_descriptor.binpb"


def generate(output_root: Path) -> None:
    sources = sorted(PROTO_ROOT.glob("corral/api/v1/*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    out = output_root / "corral" / "api" / "v1"
    out.mkdir(parents=True, exist_ok=True)
    (out / "__init__.py").touch()
    common = [
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
    ]
    for source in sources:
        args = ["protoc", *common]
        if source.name in SERVICE_FILES:
            args.append(f"--grpc_python_out={output_root}")
        if protoc.main([*args, str(source.relative_to(PROTO_ROOT))]) != 0:
            sys.exit(f"protoc failed on {source}")
    descriptor_args = [
        "protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--descriptor_set_out={out / DESCRIPTOR_SET}",
        "--include_source_info", "--include_imports",
        *(str(source.relative_to(PROTO_ROOT)) for source in sources),
    ]
    if protoc.main(descriptor_args) != 0:
        sys.exit("protoc failed writing the descriptor set")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT.parent)
