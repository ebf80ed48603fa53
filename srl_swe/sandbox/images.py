"""Building the bundled sandbox images (``sandboxes/``): the base image, then one image per repository.

``sandboxes/base/Dockerfile`` builds ``srl-swe/base:latest``; every other ``sandboxes/<name>/Dockerfile``
builds ``srl-swe/<name>:latest`` on top of it. Builds use the engine's cache, so a second build is
quick. ``network`` is the build-time network (``host`` by default: it works where the engine has no
bridge network, as on machines whose daemon runs with ``--bridge=none``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from srl_swe.sandbox.base import SandboxError

BASE = "base"


def image_name(name: str) -> str:
    return f"srl-swe/{name}:latest"


def sandbox_dirs(root: Path) -> list[Path]:
    """The base folder first, then every repository folder with a Dockerfile, sorted."""
    folders = sorted(p.parent for p in root.glob("*/Dockerfile"))
    return sorted(folders, key=lambda p: p.name != BASE)


def build_images(root: Path, client=None, network: str = "host",
                 on_image: Callable[[str], None] | None = None) -> list[str]:
    """Build every image under ``root``; returns their names. SandboxError names the failing folder."""
    import docker

    client = client or docker.from_env(timeout=1800)
    built = []
    for folder in sandbox_dirs(root):
        tag = image_name(folder.name)
        if on_image is not None:
            on_image(tag)
        try:
            client.images.build(path=str(folder), tag=tag, rm=True, forcerm=True, network_mode=network)
        except docker.errors.BuildError as exc:
            log = "".join(str(line.get("stream", line.get("error", ""))) for line in exc.build_log)[-2000:]
            raise SandboxError(f"building {tag} from {folder} failed:\n{log}") from None
        built.append(tag)
    return built
