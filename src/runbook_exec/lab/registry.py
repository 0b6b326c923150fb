"""The lab's own registry: distribution v3 built from source, on a private 127.0.0.1 port.

Nothing can be pulled from the internet here, so a "pulled" image is one an engine pushed
to this registry and pulled back: that is what gives an image its repo digest
(``docker save IMAGE@sha256:…``) and what lets Docker 29 hold only some platforms of a
multi-platform index. Docker treats ``127.0.0.0/8`` as an insecure registry by default, so
no daemon flag is needed.
"""

from __future__ import annotations

import atexit
import functools
import socket
import urllib.error
import urllib.request
from pathlib import Path

from .. import engines
from ..daemons import Closing, Daemon
from ..errors import LabError
from ._containerd import make_workdir, remove_workdir

REGISTRY = "registry-3.1.2"


# The registry's usual port, so references printed by a runbook stay the same run to run;
# when it is taken (another runbook's registry), any free port.
PREFERRED_PORT = 5000


def _free_port(preferred: int = PREFERRED_PORT) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            # as Go's listener does, so a port in TIME_WAIT from the last run still counts
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise LabError("no free TCP port on 127.0.0.1 for the lab registry")


def render_config(root: Path, port: int) -> str:
    """distribution's config.yml: filesystem storage under ``root``, HTTP on loopback."""
    return "\n".join([
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "",
    ])


class Registry(Closing):
    """``with Registry() as reg:`` — ``reg.host`` is ``127.0.0.1:<port>``."""

    def __init__(self, *, ready_timeout: float = 15.0) -> None:
        self.engine = engines.require(engines.spec(REGISTRY))
        self.ready_timeout = ready_timeout
        self.port = 0
        self._base: Path | None = None
        self._daemon: Daemon | None = None

    @property
    def host(self) -> str:
        if not self.port:
            raise LabError("the lab registry is not running; call start() first")
        return f"127.0.0.1:{self.port}"

    @property
    def description(self) -> str:
        spec = self.engine.spec
        return f"registry {spec.version} ({spec.module_at}, go{spec.go}) on {self.host}"

    def start(self) -> Registry:
        if self._daemon is not None:
            return self
        self._base = base = make_workdir("runbook-registry-")
        atexit.register(self.close)
        try:
            # 5000 first (stable outputs); another run may take it between the probe and the
            # registry's own bind, so a lost race moves to a free port
            for preferred in (PREFERRED_PORT, 0, 0):
                self.port = _free_port(preferred)
                config = base / "config.yml"
                config.write_text(render_config(base, self.port), encoding="utf-8")
                url = f"http://{self.host}/v2/"
                self._daemon = Daemon(
                    "the registry",
                    [str(self.engine.bin("registry")), "serve", str(config)],
                    log=base / "registry.log",
                    where=url,
                    ready_timeout=self.ready_timeout,
                    grace=5.0,
                )
                try:
                    self._daemon.start(functools.partial(_answers, url))
                    break
                except LabError as exc:
                    self._daemon = None
                    if "address already in use" not in str(exc):
                        raise
            else:
                raise LabError("the lab registry lost the race for a port three times")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        atexit.unregister(self.close)
        if self._daemon is not None:
            self._daemon.close()
            self._daemon = None
        base, self._base = self._base, None
        if base is not None:
            remove_workdir(base)
        self.port = 0

    def __enter__(self) -> Registry:
        return self.start()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as res:  # noqa: S310 (loopback)
            return bool(res.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
