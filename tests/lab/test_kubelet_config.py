"""The standalone kubelet's configuration per release and the parsing of its event lines
(the real kubelet's events are checked in test_lab_kubelet.py)."""

from __future__ import annotations

import json

from runbook_exec.lab.kubelet import kubelet_argv, kubelet_config, parse_events, static_pod

# a line as klog's text format writes it (kubelet 1.26.15, -v=3)
LINE = ('I1201 13:10:21.343180      65 event.go:294] "Event occurred" '
        'object="default/web-kind-control-plane" fieldPath="spec.containers{app}" kind="Pod" '
        'apiVersion="v1" type="Warning" reason="Failed" message="Error: failed to create '
        'containerd container: error unpacking image: mismatched image rootfs and manifest '
        'layers"\nI1201 13:10:22.0 65 kubelet.go:1] "Started kubelet"\n'
        'I1201 13:10:23.0 65 event.go:294] "Event occurred" object="default/w" '
        'type="Normal" reason="Pulled" message="Container image \\"demo:1\\" already present '
        'on machine"\n')


def test_events_are_parsed_with_go_quoting() -> None:
    events = parse_events(LINE)
    assert [(e.object, e.type, e.reason) for e in events] == [
        ("default/web-kind-control-plane", "Warning", "Failed"), ("default/w", "Normal", "Pulled")]
    assert events[0].message.endswith("mismatched image rootfs and manifest layers")
    assert events[1].message == 'Container image "demo:1" already present on machine'


def test_config_has_only_the_fields_each_release_knows() -> None:
    old, new = json.loads(kubelet_config("1.26.15")), json.loads(kubelet_config("1.37.0"))
    assert "containerRuntimeEndpoint" not in old and "failCgroupV1" not in old
    assert new["failCgroupV1"] is False and new["containerRuntimeEndpoint"].startswith("unix://")
    assert any(a.startswith("--container-runtime-endpoint=") for a in kubelet_argv("1.26.15",
                                                                                  node="n"))
    assert not any(a.startswith("--container-runtime-endpoint=") for a in kubelet_argv(
        "1.37.0", node="n"))


def test_static_pod_says_its_pull_policy_and_attempt() -> None:
    pod = json.loads(static_pod("web", "docker.io/demo/app:1", attempt=2))
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["spec"]["hostNetwork"] is True
    assert pod["metadata"]["annotations"]["lab.runbook-exec/attempt"] == "2"


def test_missing_kubelet_engine_says_which_to_build(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from runbook_exec import engines
    from runbook_exec.errors import EngineError

    monkeypatch.setenv("RUNBOOK_ENGINES_DIR", str(tmp_path))
    with pytest.raises(EngineError) as exc:
        engines.require(engines.node_binaries("v0.20.0")["kubelet"])
    assert str(exc.value).startswith("engine kubelet-1.26.15 (k8s.io/kubernetes@v1.26.15) is not "
                                     "built; run `runbook-exec engines build kubelet-1.26.15`")
    with pytest.raises(EngineError, match="no kubelet engine for kind v0.26.0; releases with "
                       "one: v0.20.0, v0.33.0"):
        engines.node_binaries("v0.26.0")
