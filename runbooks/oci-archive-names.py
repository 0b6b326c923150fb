# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # OCI 归档导入后叫什么名字
#
# **演示什么**：`kind load image-archive` 导入 OCI 归档时，节点的 containerd 从 `index.json`
# 的注解里取镜像名：先看 `io.containerd.image.name`，没有再看
# `org.opencontainers.image.ref.name`。这里用 podman、skopeo、buildah 和 `ctr images export`
# 写出同一个镜像的 OCI 归档，列出各自写进 `index.json` 的注解，再用真实的 kind CLI 导入
# kind v0.20.0 和 v0.33.0 的节点（containerd 1.7.1 和 2.3.4），看节点记下的名字，以及 CRI
# （也就是 kubelet）用这个名字能不能找到镜像。
#
# **需要**：root；Debian 12 的 podman 4.3.1、skopeo 1.9.3、buildah 1.28.2（私有存储）；由 podman
# 运行的 kind 节点容器（containerd 和 crictl 从源码构建）；kind v0.20.0 和 v0.33.0 CLI。
#
# **你会看到**：每种归档的注解；每个节点记下的名字；`crictl inspecti` 按记下的名字和按 Pod 的写法
# 各查一次的结果；在节点上补打完整名字之后的结果。

# %% [markdown] lang="en"
# # What an imported OCI archive is called
#
# **What this shows**: when `kind load image-archive` imports an OCI archive, the node's
# containerd takes the image name from the annotations in `index.json`: `io.containerd.image.name`
# first, else `org.opencontainers.image.ref.name`. podman, skopeo, buildah and
# `ctr images export` write OCI archives of the same image; we list the annotations each writes,
# import each with the real kind CLI into kind v0.20.0 and v0.33.0 nodes (containerd 1.7.1 and
# 2.3.4), and look at the name the node records and whether CRI (that is, the kubelet) finds the
# image by that name.
#
# **Needs**: root; Debian 12's podman 4.3.1, skopeo 1.9.3 and buildah 1.28.2 (on a private
# store); kind node containers run by podman (containerd and crictl built from source); the kind
# v0.20.0 and v0.33.0 CLIs.
#
# **You will see**: each archive's annotations; the names each node records; `crictl inspecti`
# by the recorded name and by the name a Pod spec would use; and the same after tagging the full
# name on the node.

# %%
import json

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import Podman, PodmanKindCluster, workspace

proc.echo_to_stdout()
scratch = workspace("oci-archive-names")  # this run's own dir under the lab's temp root
podman = Podman().start()
print(podman.description)
with proc.quiet():
    podman.import_image("demo/oci:1", {"oci.txt": b"one image, many archives\n"})
    version = {t: podman.tool(t, "--version").stdout.strip() for t in ("skopeo", "buildah")}
print(version["skopeo"], "|", version["buildah"])
SRC = "containers-storage:localhost/demo/oci:1"
KINDS = ("v0.20.0", "v0.33.0")


def annotations(path: str) -> list[dict[str, str]]:
    """The annotations of each manifest in the archive's index.json."""
    with open_archive(path) as ar:
        return [dict(m.annotations or {}) for m in ar.index().entries]


# %% [markdown] lang="zh"
# ## 各工具写进 `index.json` 的注解 { #annotations }
#
# skopeo 和 buildah 的 `oci-archive:文件:名字` 里的名字原样写进
# `org.opencontainers.image.ref.name`，可以是完整名字、短名字，也可以只是一个标签；不写名字就
# 没有注解。podman 写的是它自己的完整名字（`localhost/…`）。`ctr images export` 两个注解都写：
# 完整名字和单独的标签。

# %% [markdown] lang="en"
# ## The annotations each tool writes into `index.json` { #annotations }
#
# The name in skopeo's and buildah's `oci-archive:FILE:NAME` goes into
# `org.opencontainers.image.ref.name` as given: a full name, a short one, or only a tag; without a
# name there is no annotation. podman writes its own full name (`localhost/…`).
# `ctr images export` writes both annotations: the full name, and the tag alone.

# %%
ARCHIVES = {
    "podman": ("podman", "save", "-q", "--format", "oci-archive", "-o", "podman.tar",
               "demo/oci:1"),
    "skopeo-full": ("skopeo", "copy", "-q", SRC,
                    "oci-archive:skopeo-full.tar:docker.io/library/demo-oci:2"),
    "skopeo-short": ("skopeo", "copy", "-q", SRC, "oci-archive:skopeo-short.tar:demo/oci:3"),
    "skopeo-tag": ("skopeo", "copy", "-q", SRC, "oci-archive:skopeo-tag.tar:4"),
    "skopeo-none": ("skopeo", "copy", "-q", SRC, "oci-archive:skopeo-none.tar"),
    "buildah": ("buildah", "push", "-q", "localhost/demo/oci:1",
                "oci-archive:buildah.tar:demo/oci:5"),
    "buildah-none": ("buildah", "push", "-q", "localhost/demo/oci:1",
                     "oci-archive:buildah-none.tar"),
}
written: dict[str, list[dict[str, str]]] = {}
for label, (tool, *args) in ARCHIVES.items():
    podman.tool(tool, *args)
    written[label] = annotations(f"{label}.tar")
    print(f"    {label:13} {written[label]}")

# %%
assert written["podman"] == [{"org.opencontainers.image.ref.name": "localhost/demo/oci:1"}]
assert written["skopeo-tag"] == [{"org.opencontainers.image.ref.name": "4"}]
assert written["skopeo-short"] == [{"org.opencontainers.image.ref.name": "demo/oci:3"}]
assert written["buildah"] == [{"org.opencontainers.image.ref.name": "demo/oci:5"}]
assert written["skopeo-none"] == [{}] and written["buildah-none"] == [{}]

# %% [markdown] lang="zh"
# ## 导入每个归档，看节点记下的名字 { #names }
#
# 每个 kind 版本一个单节点集群。先从节点自己导出一份 `ctr images export` 的归档，然后逐个
# `kind load image-archive`；每次导入之后列出新记录，再删掉它们（`ctr images rm`），让下一个
# 归档从干净的状态开始。CRI 插件自己加的 `sha256:<镜像 ID>` 记录不列出。对每个记下的名字，
# `crictl inspecti` 问节点的 CRI 插件：一次按记下的名字原样问，一次按 Pod 的 `image:` 写同一个
# 名字时 kubelet 会问的完整形式（补上 `docker.io/`）。

# %% [markdown] lang="en"
# ## Import each archive, look at the names the node records { #names }
#
# One one-node cluster per kind release. First an archive from the node's own
# `ctr images export`, then one `kind load image-archive` per archive; after each import the new
# records are listed and removed (`ctr images rm`) so the next archive starts clean. The
# `sha256:<image ID>` record the CRI plugin adds itself is left out. For each recorded name,
# `crictl inspecti` asks the node's CRI plugin twice: with the name as recorded, and in the full
# form (with `docker.io/`) that the kubelet resolves a Pod's `image:` of that name to.


# %%
def full_form(name: str) -> str:
    """What a Pod's `image: NAME` means: Docker's normalisation (docker.io, library/)."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return "docker.io/" + (name if "/" in name else "library/" + name)


def ls(cluster: PodmanKindCluster) -> list[str]:
    with proc.quiet():
        out = cluster.node_exec(cluster.nodes[0], "ctr", "-n", "k8s.io", "images", "ls", "-q")
    return [n for n in out.stdout.split() if not n.startswith("sha256:")]


def found(cluster: PodmanKindCluster, name: str) -> bool:
    with proc.quiet():
        return cluster.node_exec(cluster.nodes[0], "crictl", "inspecti", name).ok


named: dict[tuple[str, str], list[str]] = {}
cri: dict[tuple[str, str, str], bool] = {}
for kind in KINDS:
    with PodmanKindCluster(podman, kind=kind) as cluster:
        node = cluster.nodes[0]
        print(f"--- {cluster.description}")
        with proc.quiet():
            cluster.kind_cmd("load", "image-archive", "podman.tar")
        cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "export", "/tmp/ctr.tar",
                          "localhost/demo/oci:1")
        cluster.copy_from(node, "/tmp/ctr.tar", scratch.path / f"ctr-{kind}.tar")
        written[f"ctr-{kind}"] = annotations(f"ctr-{kind}.tar")
        print(f"    ctr-{kind} {written[f'ctr-{kind}']}")
        with proc.quiet():
            cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "rm", *ls(cluster))
        for label in [*ARCHIVES, f"ctr-{kind}"]:
            with proc.quiet():
                result = cluster.kind_cmd("load", "image-archive", f"{label}.tar")
            assert result.ok, result.output
            names = ls(cluster)
            named[(kind, label)] = names
            print(f"  {label:13} -> {', '.join(names)}")
            for name in names:
                if name.startswith("import-") and "@sha256:" in name:
                    continue
                cri[(kind, label, name)] = found(cluster, name)
                cri[(kind, label, full_form(name))] = found(cluster, full_form(name))
                print(f"        crictl inspecti {name}: "
                      f"{'found' if cri[(kind, label, name)] else 'no such image'}"
                      f" | {full_form(name)}: "
                      f"{'found' if cri[(kind, label, full_form(name))] else 'no such image'}")
            with proc.quiet():
                cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "rm", *names)


# %%
def plain(names: list[str]) -> list[str]:
    return [n for n in names if not (n.startswith("import-") and "@sha256:" in n)]


for kind in KINDS:
    assert written[f"ctr-{kind}"] == [{"io.containerd.image.name": "localhost/demo/oci:1",
                                       "org.opencontainers.image.ref.name": "1"}]
    assert plain(named[(kind, "podman")]) == ["localhost/demo/oci:1"]
    assert plain(named[(kind, f"ctr-{kind}")]) == ["localhost/demo/oci:1"]
    assert plain(named[(kind, "skopeo-full")]) == ["docker.io/library/demo-oci:2"]
    assert plain(named[(kind, "skopeo-short")]) == ["demo/oci:3"]
    assert plain(named[(kind, "buildah")]) == ["demo/oci:5"]
    tag_only = plain(named[(kind, "skopeo-tag")])
    assert len(tag_only) == 1 and tag_only[0].startswith("import-") and tag_only[0].endswith(":4")
    for label in ("skopeo-none", "buildah-none"):
        assert plain(named[(kind, label)]) == [] and named[(kind, label)], (kind, label)
    assert cri[(kind, "podman", "localhost/demo/oci:1")]
    assert cri[(kind, "skopeo-full", "docker.io/library/demo-oci:2")]
    for label, name in (("skopeo-short", "demo/oci:3"), ("buildah", "demo/oci:5")):
        assert not cri[(kind, label, name)] and not cri[(kind, label, full_form(name))]
    assert not cri[(kind, "skopeo-tag", tag_only[0])]

# %% [markdown] lang="zh"
# ## 补救：在节点上打上完整名字 { #retag }
#
# `crictl images` 把记录 `demo/oci:3` 显示成 `docker.io/demo/oci`，看上去没问题，按名字却查不到。
# 记下的名字不完整时，在节点上用 `ctr images tag` 补一个完整名字，Pod 写短名字也就能找到了。

# %% [markdown] lang="en"
# ## The remedy: tag the full name on the node { #retag }
#
# `crictl images` shows the record `demo/oci:3` as `docker.io/demo/oci`, which looks fine, yet a
# lookup by name finds nothing. Where the recorded name is incomplete, `ctr images tag` on the node
# adds the full name, and a Pod spec with the short name then finds the image.

# %%
with PodmanKindCluster(podman, kind="v0.33.0") as cluster:
    node = cluster.nodes[0]
    with proc.quiet():
        cluster.kind_cmd("load", "image-archive", "skopeo-short.tar")
    listed = cluster.node_exec(node, "crictl", "images")
    print(listed.stdout.rstrip())
    asked = cluster.node_exec(node, "crictl", "inspecti", "demo/oci:3")
    print(asked.stderr.strip())
    before = asked.ok
    cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "tag", "demo/oci:3",
                      "docker.io/demo/oci:3")
    after = cluster.node_exec(node, "crictl", "inspecti", "demo/oci:3")
    print(f"crictl inspecti demo/oci:3 before: {'found' if before else 'no such image'}, "
          f"after: {'found' if after.ok else 'no such image'}")
    print("repoTags:", json.loads(after.stdout)["status"]["repoTags"] if after.ok else "-")

# %%
assert not before and 'msg="no such image \\"demo/oci:3\\" present"' in asked.stderr
assert after.ok
assert ["docker.io/demo/oci", "3"] in [line.split()[:2] for line in listed.stdout.splitlines()]

# %% [markdown] lang="zh"
# ## 结论 { #conclusion }
#
# - 两个 containerd 的规则一样：有 `io.containerd.image.name` 用它；否则用
#   `org.opencontainers.image.ref.name`，其中含 `/`、`:` 或 `@` 的原样使用（不补 `docker.io/`），
#   只是一个标签的拼成 `import-<日期>:<标签>`；都没有，就只剩 `--digests` 生成的
#   `import-<日期>@sha256:…`；
# - 原样使用的短名字（`demo/oci:3`）和 `import-…` 名字，CRI 按任何写法都找不到：Pod 写
#   `image: demo/oci:3` 时 kubelet 会去拉取。只有完整名字（`docker.io/library/demo-oci:2`、
#   `localhost/demo/oci:1`）能直接用；
# - 所以写 OCI 归档时给完整名字：
#   `skopeo copy … oci-archive:out.tar:docker.io/library/NAME:TAG`；已经导入的，在节点上
#   `ctr -n k8s.io images tag 短名字 docker.io/完整名字`。

# %% [markdown] lang="en"
# ## Conclusion { #conclusion }
#
# - both containerds follow one rule: `io.containerd.image.name` if present; else
#   `org.opencontainers.image.ref.name`, used as is (no `docker.io/` added) when it contains `/`,
#   `:` or `@`, and turned into `import-<date>:<tag>` when it is only a tag; with neither, only
#   `--digests`' `import-<date>@sha256:…` remains;
# - a short name used as is (`demo/oci:3`) and an `import-…` name are found by CRI under no
#   spelling: a Pod with `image: demo/oci:3` makes the kubelet pull. Only full names
#   (`docker.io/library/demo-oci:2`, `localhost/demo/oci:1`) work directly;
# - so give an OCI archive a full name:
#   `skopeo copy … oci-archive:out.tar:docker.io/library/NAME:TAG`; for one already imported,
#   `ctr -n k8s.io images tag SHORT docker.io/FULL` on the node.

# %%
podman.close()
scratch.close()
print("lab closed, work directory removed")
