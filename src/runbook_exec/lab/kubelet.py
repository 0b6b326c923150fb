"""A standalone kubelet in a lab node: its configuration, static pods, and its events.

Without an API server the kubelet runs "standalone": pods come from manifest files in
``staticPodPath``, and events, which it cannot send anywhere, are logged by its event
broadcaster at verbosity 3 (``"Event occurred" object=... reason=... message=...``,
``StartStructuredLogging(3)`` in cmd/kubelet/app/server.go). Those log lines are the same
events ``kubectl describe pod`` shows on a cluster; :func:`parse_events` reads them.

The configuration keeps what a node without a control plane, a CNI or systemd needs: the
cgroupfs driver with no QoS cgroups, no swap check, no iptables chains, host-network pods
only, and (kubelet >= 1.35, which refuses cgroup v1 by default) ``failCgroupV1: false``.
Pure functions here; :class:`~runbook_exec.lab.kindnode.KindCluster` runs them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MANIFESTS = "/etc/kubernetes/manifests"
CONFIG = "/etc/kubernetes/kubelet.yaml"
LOG_DIR = "/var/log/kubelet"
LOG_FILE = f"{LOG_DIR}/kubelet.log"
ENDPOINT = "unix:///run/containerd/containerd.sock"


def minor(version: str) -> int:
    """``1.26.15`` → 26."""
    return int(version.split(".")[1])


def kubelet_config(version: str) -> str:
    """The KubeletConfiguration (v1beta1) for a standalone kubelet of ``version``, as JSON
    (YAML's subset; the kubelet's strict decoder rejects fields its release lacks, so
    ``containerRuntimeEndpoint`` (1.27+) and ``failCgroupV1`` (1.31+) are added only where
    they exist)."""
    conf: dict[str, object] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "staticPodPath": MANIFESTS,
        "fileCheckFrequency": "1s",
        "syncFrequency": "10s",
        "cgroupDriver": "cgroupfs",
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "failSwapOn": False,
        "localStorageCapacityIsolation": False,
        "makeIPTablesUtilChains": False,
        "protectKernelDefaults": False,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "1Mi"},
        "serializeImagePulls": True,
    }
    if minor(version) >= 27:
        conf["containerRuntimeEndpoint"] = ENDPOINT
    if minor(version) >= 31:
        conf["failCgroupV1"] = False
    return json.dumps(conf, indent=2) + "\n"


def kubelet_argv(version: str, *, node: str) -> list[str]:
    """``kube-log-runner`` (the klog ``--log-file`` flag's replacement since 1.26) running
    the kubelet with its events logged (``-v=3``)."""
    argv = ["kube-log-runner", f"-log-file={LOG_FILE}", "kubelet", f"--config={CONFIG}",
            f"--hostname-override={node}", "-v=3"]
    if minor(version) < 27:
        argv.append(f"--container-runtime-endpoint={ENDPOINT}")
    return argv


def static_pod(name: str, image: str, *, pull_policy: str = "IfNotPresent",
               attempt: int = 1) -> str:
    """A static pod manifest (JSON) running ``image`` on the host network.

    ``IfNotPresent`` is said explicitly: with a ``:latest`` or untagged reference the
    default pull policy is ``Always``, and the kubelet would try a registry first."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default",
                     "annotations": {"lab.runbook-exec/attempt": str(attempt)}},
        "spec": {
            "hostNetwork": True,
            "restartPolicy": "Always",
            "containers": [{"name": "app", "image": image, "imagePullPolicy": pull_policy}],
        },
    }
    return json.dumps(pod, indent=2) + "\n"


@dataclass(frozen=True)
class Event:
    """One event as the kubelet logged it."""

    object: str
    type: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.type:<7} {self.reason:<10} {self.object}: {self.message}"


# klog's text format: key="quoted value" (Go strconv quoting) or key=bare
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def _unquote(value: str) -> str:
    if value.startswith('"'):
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    return value


def parse_events(log: str) -> list[Event]:
    """The ``"Event occurred"`` lines of a kubelet log, in order."""
    events = []
    for line in log.splitlines():
        if '"Event occurred"' not in line:
            continue
        fields = {k: _unquote(v) for k, v in _PAIR.findall(line.split('"Event occurred"', 1)[1])}
        events.append(Event(fields.get("object", ""), fields.get("type", ""),
                            fields.get("reason", ""), fields.get("message", "")))
    return events
