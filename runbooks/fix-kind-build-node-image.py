# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # `kind build node-image` 与 Docker 25
#
# kind v0.20.0 构建节点镜像时，会把 Kubernetes 组件镜像归档里的名字改掉（去掉 `-amd64`
# 这类架构后缀），但它只改 `repositories` 和 `manifest.json`。Docker 25 起归档里多了
# `index.json`，containerd 导入时读的是它，于是改名丢失：节点镜像里只有 `kube-apiserver-amd64`，没有
# kubeadm 要的 `kube-apiserver`。kind v0.21.0（[PR
# #3487](https://github.com/kubernetes-sigs/kind/pull/3487)）改为原样导入、再用 `ctr images tag`
# 打标签。本手册用从源码构建的 dockerd 24.0.7 和 25.0.1 保存归档，在 kind v0.20.0 的节点（containerd
# 1.7.1）上复现这三种情况。
#
# 需要：root；实验环境里的上述引擎。改名的逻辑是按 kind v0.20.0 的
# [archive.go](https://github.com/kubernetes-sigs/kind/blob/v0.20.0/pkg/build/nodeimage/internal/container/docker/archive.go)
# 自己写的等价实现。

# %% [markdown] lang="en"
# # `kind build node-image` and Docker 25
#
# When kind v0.20.0 builds a node image it renames the Kubernetes component images in
# their archives (dropping an architecture suffix such as `-amd64`), but it edits only
# `repositories` and `manifest.json`. From Docker 25 on, the archive also has `index.json`,
# which is what containerd reads, so the rename is lost: the node image holds
# `kube-apiserver-amd64` and not the `kube-apiserver` kubeadm expects. kind v0.21.0
# ([PR #3487](https://github.com/kubernetes-sigs/kind/pull/3487)) imports the archive as it
# is and then tags it with `ctr images tag`. This runbook reproduces all three on a kind
# v0.20.0 node (containerd 1.7.1) with archives saved by dockerd 24.0.7 and 25.0.1 built from
# source.
#
# Needs: root and those engines of the lab. The rename is our own
# equivalent of kind v0.20.0's
# [archive.go](https://github.com/kubernetes-sigs/kind/blob/v0.20.0/pkg/build/nodeimage/internal/container/docker/archive.go).

# %%
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import parse_manifest_json, refs
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-kind-build-node-image")  # this run's own dir under the lab's temp root
target = open_target(docker="24.0.7", kind="v0.20.0")
node, engine = target.node, target.engine
work = Path("nodeimage-work")
work.mkdir(exist_ok=True)
BUILT = "registry.k8s.io/kube-apiserver-amd64:v1.29.0"
WANTED = "registry.k8s.io/kube-apiserver:v1.29.0"

# %% [markdown] lang="zh"
# kind v0.20.0 的改名：只改 `repositories` 的键和 `manifest.json` 的 `RepoTags`，其余成员原样复制。

# %% [markdown] lang="en"
# kind v0.20.0's rename: it edits only the keys of `repositories` and the `RepoTags` of
# `manifest.json`; every other member is copied as is.

# %%
def drop_arch(repository: str) -> str:
    return repository.removesuffix("-amd64")


def rename(tag: str) -> str:
    name, version = refs.split_tag(tag)
    return f"{drop_arch(name)}:{version}"


def edit_archive_v0_20(src: Path, out: Path) -> None:
    with tarfile.open(src) as tin, tarfile.open(out, "w") as tout:
        for member in tin.getmembers():
            file = tin.extractfile(member) if member.isfile() else None
            data = file.read() if file is not None else None
            if data is None:
                tout.addfile(member)
            elif member.name == "repositories":
                data = json.dumps({drop_arch(k): v for k, v in json.loads(data).items()}).encode()
            elif member.name == "manifest.json":
                items = [replace(item, repo_tags=[rename(t) for t in item.repo_tags or []])
                         for item in parse_manifest_json(json.loads(data))]
                data = json.dumps([item.to_json() for item in items]).encode()
            if data is not None:
                member.size = len(data)
                tout.addfile(member, io.BytesIO(data))


def import_like_kind_build(path: Path) -> proc.Result:
    # kind build node-image imports without unpacking (pkg/build/nodeimage/imageimporter.go)
    result: proc.Result = node.ctr("--namespace=k8s.io", "images", "import", "--all-platforms",
                                   "--no-unpack", "--digests", "-", stdin=path, check=False)
    return result


def names() -> list[str]:
    return sorted(r.ref for r in node.images() if r.ref.startswith("registry.k8s.io/"))


def clear_node() -> None:
    refs = [r.ref for r in node.images()]
    if refs:
        node.remove(*refs)


# %%
built = engine.build(BUILT, [b"apiserver-base", b"apiserver-bin"])
# on the live target the tag carries a unique suffix (your images are never touched); the
# repository, which the rename works on, stays
repository, tag = built.ref.rsplit(":", 1)
BUILT, WANTED = built.ref, f"{drop_arch(repository)}:{tag}"
print("built", built.ref, "image ID", built.image_id)

# %% [markdown] lang="zh"
# 真实的 Docker 24.0.7 保存的归档：改名生效，节点上是 `kube-apiserver`。

# %% [markdown] lang="en"
# The archive the real Docker 24.0.7 saves: the rename takes effect; the node has
# `kube-apiserver`.

# %%
print(target.save([built.ref], work / "v24.tar"))
edit_archive_v0_20(work / "v24.tar", work / "v24-edited.tar")
print(import_like_kind_build(work / "v24-edited.tar").returncode, listed := names())
assert listed == [WANTED]

# %% [markdown] lang="zh"
# 真实的 Docker 25.0.1 保存的归档（层顺序正确）：containerd 读 `index.json` 里的名字，改名丢了。

# %% [markdown] lang="en"
# The archive the real Docker 25.0.1 saves (layer order right): containerd takes the name
# from `index.json`, and the rename is lost.

# %%
clear_node()
print(target.save([built.ref], work / "v25.tar", as_docker="25.0.1"))
edit_archive_v0_20(work / "v25.tar", work / "v25-edited.tar")
print(import_like_kind_build(work / "v25-edited.tar").returncode, listed := names())
print(view := node.kubelet_view(WANTED))
assert listed == [BUILT] and not view.present

# %% [markdown] lang="zh"
# kind v0.21.0 的做法：原样导入，再用 `ctr images tag --force` 打上新名字。

# %% [markdown] lang="en"
# kind v0.21.0's way: import unchanged, then add the new name with
# `ctr images tag --force`.

# %%
clear_node()
import_like_kind_build(work / "v25.tar")
node.ctr("--namespace=k8s.io", "images", "tag", "--force", BUILT, WANTED)
print(listed := names())
print(view := node.kubelet_view(WANTED))
assert WANTED in listed and view.present

# %%
target.close()
scratch.close()
