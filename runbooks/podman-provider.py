# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # podman provider：`kind load docker-image` 只认 docker
#
# **演示什么**：在一台只有 podman、没有 docker 的机器上，真实的 kind v0.20.0 和 v0.33.0 CLI 以
# `KIND_EXPERIMENTAL_PROVIDER=podman` 运行：`kind load docker-image` 找不到镜像；`kind load
# image-archive -` 也不行；可用的是先 `podman save -o` 成文件，再 `kind load image-archive 文件`。
# 同时看 podman 写出的两种归档格式，以及节点的 containerd 给镜像记下的名字。
#
# **需要**：root；Debian 12 的 podman 4.3.1（私有的 vfs 存储，放在本次运行自己的临时目录里，不碰你的
# 镜像和容器）；由 podman 运行的 kind v0.20.0 和 v0.33.0 节点容器（containerd 1.7.1 和
# 2.3.4、crictl，都从源码构建）。PATH 里只有 podman、buildah、skopeo，没有 docker。
#
# **你会看到**：两种归档里有哪些文件；每个 kind 版本对每种加载方式的输出；节点上
# `ctr -n k8s.io images ls` 和 `crictl images` 列出的名字；双节点集群从管道读归档时的失败；
# 装了 `docker` → `podman` 别名之后 `kind load docker-image` 的表现。

# %% [markdown] lang="en"
# # The podman provider: `kind load docker-image` knows only docker
#
# **What this shows**: on a machine with podman and no docker, the real kind v0.20.0 and v0.33.0
# CLIs run with `KIND_EXPERIMENTAL_PROVIDER=podman`: `kind load docker-image` does not find the
# image, and `kind load image-archive -` does not work either; what works is `podman save -o` to a
# file, then `kind load image-archive FILE`. Along the way: the two archive formats podman writes,
# and the names the node's containerd records.
#
# **Needs**: root; Debian 12's podman 4.3.1 (on a private vfs store in this run's own temp dir,
# so your images and containers are not touched); kind v0.20.0 and v0.33.0 node containers run by
# podman (containerd 1.7.1 and 2.3.4 and crictl, built from source). PATH holds podman, buildah
# and skopeo, and no docker.
#
# **You will see**: the files in each archive; each kind release's output for each way of
# loading; the names `ctr -n k8s.io images ls` and `crictl images` list on the node; a two-node
# cluster failing to read the archive from a pipe; and `kind load docker-image` once `docker` is
# an alias of `podman`.

# %%
import json
import tarfile
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import Podman, PodmanKindCluster, workspace

proc.echo_to_stdout()
scratch = workspace("podman-provider")  # this run's own dir under the lab's temp root
podman = Podman().start()
print(podman.description)
with proc.quiet():
    podman.import_image("demo/podman:1", {"hello.txt": b"built by podman\n"})
    podman.import_image("demo/podman-b:1", {"b.txt": b"second image\n"})
    podman.import_image("demo/podman-c:1", {"c.txt": b"third image\n"})
print(podman.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.rstrip())
KINDS = ("v0.20.0", "v0.33.0")


def members(path: str) -> list[str]:
    with tarfile.open(path) as tf:
        return [m.name for m in tf.getmembers() if not m.isdir()]


def member_json(path: str, name: str) -> object:
    with tarfile.open(path) as tf:
        f = tf.extractfile(name)
        assert f is not None
        return json.load(f)


# %% [markdown] lang="zh"
# ## podman 写出的归档 { #archives }
#
# `podman save` 默认写 `docker-archive`：Docker 25 之前的老格式，只有 `manifest.json`，没有
# `index.json` 和 `oci-layout`，层文件按 v1 ID 放在各自目录里。`--format oci-archive` 写 OCI
# 镜像布局，名字放在 `index.json` 的 `org.opencontainers.image.ref.name` 注解里。
# `-m`（`--multi-image-archive`）把几个镜像放进一个归档，podman 4.3.1 只允许 `docker-archive`。

# %% [markdown] lang="en"
# ## The archives podman writes { #archives }
#
# `podman save` writes `docker-archive` by default: the layout from before Docker 25, with
# `manifest.json` only (no `index.json`, no `oci-layout`) and each layer in a directory named by
# its v1 ID. `--format oci-archive` writes an OCI image layout, with the name in the
# `org.opencontainers.image.ref.name` annotation of `index.json`. `-m` (`--multi-image-archive`)
# puts several images in one archive; podman 4.3.1 allows it for `docker-archive` only.

# %%
podman.cli("save", "-q", "-o", "podman-docker.tar", "demo/podman:1")
names = members("podman-docker.tar")
for name in names:
    print("   ", name)
print("index.json:", "index.json" in names, "| oci-layout:", "oci-layout" in names)
print("manifest.json:", json.dumps(member_json("podman-docker.tar", "manifest.json"))[:160], "…")

podman.cli("save", "-q", "--format", "oci-archive", "-o", "podman-oci.tar", "demo/podman:1")
oci_names = members("podman-oci.tar")
for name in oci_names:
    print("   ", name)
with open_archive("podman-oci.tar") as ar:
    oci_entry = ar.index().entries[0]
print("index.json annotations:", oci_entry.annotations)

podman.cli("save", "-q", "-m", "-o", "podman-multi.tar", "demo/podman:1", "demo/podman-b:1")
with open_archive("podman-multi.tar") as ar:
    multi = ar.manifest_items()
print("manifest.json RepoTags:", [item.repo_tags for item in multi])
refused = podman.cli("save", "-q", "-m", "--format", "oci-archive", "-o", "multi-oci.tar",
                     "demo/podman:1", "demo/podman-b:1", check=False)
print(refused.output.rstrip())

# %%
assert "manifest.json" in names and "index.json" not in names and "oci-layout" not in names
assert any(n.endswith("/layer.tar") for n in names)
assert {"index.json", "oci-layout"} <= set(oci_names) and "manifest.json" not in oci_names
assert oci_entry.annotations == {
    "org.opencontainers.image.ref.name": "localhost/demo/podman:1"}
assert [e.repo_tags for e in multi] == [["localhost/demo/podman:1"],
                                         ["localhost/demo/podman-b:1"]]
assert not refused.ok and "only docker-archive" in refused.output

# %% [markdown] lang="zh"
# ## 每种加载方式，每个 kind 版本 { #load }
#
# 单节点集群，kind CLI 和节点属于同一个 kind 版本。`kind load docker-image` 在列出节点之前先执行
# `docker image inspect`，PATH 里没有 docker 就直接报 `not present locally`；`kind load
# image-archive -` 把 `-` 当作文件名去 `stat`；`/dev/stdin` 能用，因为它确实是一个能打开的路径。
# 加载之后列出节点记下的名字，再用 `crictl inspecti`（kubelet 用的同一个 CRI 调用）按完整名字和
# 短名字各查一次。

# %% [markdown] lang="en"
# ## Each way of loading, each kind release { #load }
#
# One-node clusters, kind CLI and node of the same release. `kind load docker-image` runs
# `docker image inspect` before it lists any node, so with no docker on PATH it stops at
# `not present locally`; `kind load image-archive -` passes `-` to `stat` as a file name;
# `/dev/stdin` works, being a path that opens. After the loads, the names the node recorded, and
# `crictl inspecti` (the CRI call the kubelet makes) by the full name and by the short one.

# %%
outcome: dict[tuple[str, str], str] = {}
recorded: dict[str, list[str]] = {}
cri: dict[str, str] = {}
by_name: dict[tuple[str, str], bool] = {}


def last_line(result: proc.Result) -> str:
    return "loaded" if result.ok else result.output.rstrip().splitlines()[-1]


for kind in KINDS:
    with PodmanKindCluster(podman, kind=kind) as cluster:
        print(f"--- {cluster.description}")
        node = cluster.nodes[0]
        for way, result in (
            ("docker-image", cluster.kind_cmd("load", "docker-image", "demo/podman:1")),
            ("archive -", cluster.kind_cmd(
                "load", "image-archive", "-",
                piped_from=("podman save demo/podman:1", Path("podman-docker.tar").read_bytes()))),
            ("pipe /dev/stdin", cluster.kind_cmd(
                "load", "image-archive", "/dev/stdin",
                piped_from=("podman save demo/podman:1",
                            (Path("podman-docker.tar")).read_bytes()))),
            ("docker-archive", cluster.kind_cmd("load", "image-archive", "podman-docker.tar")),
            ("oci-archive", cluster.kind_cmd("load", "image-archive", "podman-oci.tar")),
            ("multi", cluster.kind_cmd("load", "image-archive", "podman-multi.tar")),
        ):
            print(result.output.rstrip())
            outcome[(kind, way)] = last_line(result)
        ls = cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "ls", "-q")
        print(ls.stdout.rstrip())
        recorded[kind] = ls.stdout.split()
        images = cluster.node_exec(node, "crictl", "images")
        print(images.stdout.rstrip())
        cri[kind] = images.stdout
        for ref in ("localhost/demo/podman:1", "demo/podman:1"):
            asked = cluster.node_exec(node, "crictl", "inspecti", ref)
            print("found" if asked.ok else asked.stderr.strip().rpartition("level=")[2])
            by_name[(kind, ref)] = asked.ok

# %%
for kind in KINDS:
    print(kind)
    for (k, way), line in outcome.items():
        if k == kind:
            print(f"    {way:16} {line}")
    assert outcome[(kind, "docker-image")] == 'ERROR: image: "demo/podman:1" not present locally'
    assert outcome[(kind, "archive -")] == "ERROR: stat -: no such file or directory"
    for way in ("pipe /dev/stdin", "docker-archive", "oci-archive", "multi"):
        assert outcome[(kind, way)] == "loaded", (kind, way)
    assert {"localhost/demo/podman:1", "localhost/demo/podman-b:1"} <= set(recorded[kind])
    assert "docker.io/" not in " ".join(recorded[kind])
    assert by_name[(kind, "localhost/demo/podman:1")]
    assert not by_name[(kind, "demo/podman:1")]
    assert ["localhost/demo/podman", "1"] in [line.split()[:2] for line in cri[kind].splitlines()]

# %% [markdown] lang="zh"
# ## 两个节点时，管道不行 { #two-nodes }
#
# kind 并发地给每个节点各打开一次归档。`/dev/stdin` 是文件重定向时，每次打开都从头读；是管道时，
# 两个节点从同一根管道抢着读，谁都拿不到完整的归档。

# %% [markdown] lang="en"
# ## With two nodes, a pipe does not work { #two-nodes }
#
# kind opens the archive once per node, concurrently. When `/dev/stdin` is a redirected file each
# open reads it from the start; when it is a pipe, both nodes read from the one pipe and neither
# gets the whole archive.

# %%
with PodmanKindCluster(podman, kind="v0.33.0").start(("control-plane", "worker")) as cluster:
    print(f"--- {cluster.description}")
    piped = cluster.kind_cmd("load", "image-archive", "/dev/stdin", piped_from=(
        "podman save demo/podman:1", (Path("podman-docker.tar")).read_bytes()))
    print(piped.output.rstrip())
    from_file = cluster.kind_cmd("load", "image-archive", "podman-docker.tar")
    print(from_file.output.rstrip())
    two_nodes = {node: cluster.node_exec(node, "crictl", "images").stdout
                 for node in cluster.nodes}
    for node, listing in two_nodes.items():
        print(f"{node}:")
        print(listing.rstrip())

# %%
assert not piped.ok and "ctr: unrecognized image format" in piped.output
assert from_file.ok
assert all("localhost/demo/podman" in listing for listing in two_nodes.values())

# %% [markdown] lang="zh"
# ## `docker` 是 `podman` 的别名时 { #docker-alias }
#
# Fedora 的 `podman-docker` 包提供一个名为 `docker` 的 podman。这里在 PATH 最前面放一个指向 podman
# 的 `docker` 链接：`kind load docker-image` 的 `docker image inspect` 和 `docker save` 都由 podman
# 执行，于是加载成功。但 podman 给短名字加的是 `localhost/`，kind 的存在检查找的是 `docker.io/…`；
# 第二次执行时 kind 想补打这个标签，用的是 podman 给的不带 `sha256:` 前缀的镜像 ID，`ctr images tag`
# 找不到它，于是 kind 再完整加载一遍，从不说 already present。

# %% [markdown] lang="en"
# ## When `docker` is an alias of `podman` { #docker-alias }
#
# Fedora's `podman-docker` package installs podman under the name `docker`. Here a `docker` link to
# podman goes first on PATH: kind's `docker image inspect` and `docker save` run podman, and the
# load succeeds. But podman qualifies a short name with `localhost/`, while kind's presence check
# looks for `docker.io/…`; on the second run kind tries to add that tag with podman's image ID,
# which lacks the `sha256:` prefix, `ctr images tag` does not find it, and kind loads the whole
# archive again: it never says "already present".

# %%
alias_runs = []
with PodmanKindCluster(podman, kind="v0.33.0") as cluster:
    for _ in range(2):
        result = cluster.kind_cmd("load", "docker-image", "demo/podman-c:1", docker_alias=True)
        print(result.output.rstrip())
        alias_runs.append(result)
    alias_ls = cluster.node_exec(cluster.nodes[0], "ctr", "-n", "k8s.io", "images", "ls", "-q")
    print(alias_ls.stdout.rstrip())

# %%
assert all(r.ok for r in alias_runs)
assert "not yet present" in alias_runs[0].output
assert "failed to re-tag image" in alias_runs[1].output
assert "Will load it instead" in alias_runs[1].output
assert "localhost/demo/podman-c:1" in alias_ls.stdout.split()
assert "docker.io/demo/podman-c:1" not in alias_ls.stdout

# %% [markdown] lang="zh"
# ## 结论 { #conclusion }
#
# - 没有 docker 时，kind v0.20.0 和 v0.33.0 的 `kind load docker-image` 都报
#   `ERROR: image: "…" not present locally`，和节点、provider 无关；
# - `kind load image-archive -` 在两个版本里都报
#   `ERROR: stat -: no such file or directory`：kind 不从标准输入读归档；
# - `podman save -o FILE` 之后 `kind load image-archive FILE` 在两个版本、两种 containerd 上都成功，
#   `docker-archive`（默认，老格式）、`oci-archive` 和 `-m` 多镜像归档都行；管道接 `/dev/stdin` 只在
#   单节点集群上可用；
# - 节点记下的名字是 podman 给的 `localhost/demo/podman:1`，不是 `docker.io/…`：Pod 的 `image:` 要写
#   `localhost/demo/podman:1`。

# %% [markdown] lang="en"
# ## Conclusion { #conclusion }
#
# - with no docker, `kind load docker-image` of kind v0.20.0 and v0.33.0 says
#   `ERROR: image: "…" not present locally`, whatever the node or provider;
# - `kind load image-archive -` says `ERROR: stat -: no such file or directory` in both releases:
#   kind does not read an archive from stdin;
# - `podman save -o FILE`, then `kind load image-archive FILE`, works with both releases and both
#   containerds, for `docker-archive` (the default, old layout), `oci-archive` and a `-m`
#   multi-image archive; a pipe into `/dev/stdin` works on one-node clusters only;
# - the node records the name podman gave, `localhost/demo/podman:1`, not `docker.io/…`: a Pod's
#   `image:` must say `localhost/demo/podman:1`.

# %%
podman.close()
scratch.close()
print("lab closed, work directory removed")
