# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：Docker 29 / containerd 镜像存储下按平台保存
#
# 开启 containerd 镜像存储后（Docker Engine 29 全新安装的默认值），`docker save`
# 导出镜像的整个多平台索引，但跳过从未拉取过的子清单；kind 的 `--all-platforms` 让 ctr
# 逐个读取所有子清单，于是报 `content digest ...: not found`。本手册用真实的 Docker 29
# 拉取一个多平台镜像，复现这个失败；说明 `--local` 为什么帮不上忙；然后演示两种修复：用真实的
# docker CLI
# 执行 `docker save --platform`，以及关掉 containerd 镜像存储。
#
# 需要：root；实验环境里从源码构建的 dockerd 29.8.1 和 docker CLI 29.8.1、buildx、distribution
# 仓库，以及 kind v0.20.0 和 v0.33.0 节点的 containerd（1.7.1 和 2.3.4）。

# %% [markdown] lang="en"
# # Fix: save one platform under Docker 29 / the containerd image store
#
# With the containerd image store (the default on fresh Docker Engine 29 installs),
# `docker save` exports the image's whole multi-platform index but skips child manifests
# that were never pulled; kind's `--all-platforms` makes ctr read every child, hence
# `content digest ...: not found`. This runbook has the real Docker 29 pull a multi-platform
# image and reproduces the failure, shows why `--local` cannot help, and then both fixes:
# `docker save --platform` with the real docker CLI, and the containerd image store turned off.
#
# Needs: root; the lab's dockerd 29.8.1 and docker CLI 29.8.1, buildx and the distribution
# registry, all built from source, and the containerd of kind v0.20.0 and v0.33.0 nodes (1.7.1
# and 2.3.4).

# %%
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import Engine, Node, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-save-platform")  # this run's own dir under the lab's temp root
target = open_target(docker="29.8.1", kind="v0.33.0")
node, engine = target.node, target.engine
work = Path("platform-work")
work.mkdir(exist_ok=True)
KINDS = ("v0.20.0", "v0.33.0")

# %% [markdown] lang="zh"
# 用 buildx 构建一个 `linux/amd64` + `linux/arm64` 的镜像并推送到实验环境的仓库，再由一个全新的
# Docker 29 拉取：它只拉本机平台（amd64）的内容。然后 `docker save`，也就是 `kind load docker-image`
# 在主机上做的那一步。

# %% [markdown] lang="en"
# Build a `linux/amd64` + `linux/arm64` image with buildx, push it to the lab's registry, and
# pull it with a fresh Docker 29: only the host platform's (amd64) content arrives. Then
# `docker save`, the step `kind load docker-image` runs on the host.

# %%
ref = f"{target.registry().host}/demo/multi:v1"
with proc.quiet():
    engine.buildx_push(ref, [b"l0", b"l1", b"l2"], platforms=["linux/amd64", "linux/arm64"],
                       provenance=False)
print(f"$ docker buildx build --platform linux/amd64,linux/arm64 --push -t {ref} .")
puller = Engine("29.8.1").start()
puller.pull(ref)
print(puller.cli("save", "-o", str(work / "all.tar"), ref).output, end="")
with open_archive(work / "all.tar") as ar:
    children = ar.index(ar.index().entries[0].digest).entries
    for child in children:
        assert child.platform is not None
        platform = child.platform.os + "/" + child.platform.architecture
        print(platform, child.digest[:19], "in archive:", ar.blob(child.digest) is not None)
missing = [c.digest for c in children if c.platform and c.platform.architecture != "amd64"]

# %% [markdown] lang="zh"
# kind 的导入命令：在 containerd 1.7.1 和 2.3.4 的节点上都失败，
# 节点上不留记录（失败发生在创建记录之前）。

# %% [markdown] lang="en"
# kind's import command: it fails on the containerd 1.7.1 and 2.3.4 nodes alike, and no record is
# left (the failure comes before any record is created).

# %%
for kind in KINDS:
    with Node(kind=kind) as fresh:
        res = fresh.load(work / "all.tar")
        print(f"kind {kind} (containerd {fresh.containerd_version}):", res.error)
        records = [r.ref for r in fresh.images()]
        print("records on the node:", records)
        assert res.error.endswith(f"content digest {missing[0]}: not found")
        assert records == []

# %% [markdown] lang="zh"
# `--local` 不是 kind 的参数，而是 containerd 1.7 起 `ctr images import`
# 的参数：选择在客户端导入，而不是经由 transfer 服务。kind 的命令从不传它：1.7
# 上默认就是客户端导入（上面失败的正是这条路），2.x 上默认走 transfer 服务（2.3.4 上同样失败）。在
# 1.7.1
# 上强制走 transfer 服务（`--local=false`）也没用：它在读取任何内容之前就失败了，报的是另一句错。

# %% [markdown] lang="en"
# `--local` is not a kind flag but a `ctr images import` flag from containerd 1.7 on: it picks
# the client-side import over the transfer service. kind never passes it: on 1.7 the client-side
# import is the default (the path that failed above), on 2.x the transfer service is (it failed
# on 2.3.4 as well). Forcing the transfer service on 1.7.1 (`--local=false`) does not help
# either: it fails before reading anything, with an error of its own.

# %%
with Node(kind="v0.20.0") as old:
    help_text = old.ctr("images", "import", "--help").stdout
local_line = next(line.strip() for line in help_text.splitlines() if "--local" in line)
print("containerd 1.7.1:", local_line)
with Node(kind="v0.20.0") as old:
    forced = old.ctr("--namespace=k8s.io", "images", "import", "--local=false",
                     "--all-platforms", "--digests", "--snapshotter=overlayfs", "-",
                     stdin=work / "all.tar", check=False)
print(forced.stdout.strip().splitlines()[-1])
assert forced.returncode != 0 and "no unpack platforms defined" in forced.stdout

# %% [markdown] lang="zh"
# 修复一：`docker save --platform linux/amd64`（docker CLI 28 起才有这个参数），只导出这一个平台，
# 再像 `kind load image-archive one.tar` 那样导入：两个节点上都成功并且解包。

# %% [markdown] lang="en"
# Fix one: `docker save --platform linux/amd64` (a docker CLI flag since 28) exports just that
# platform; importing it as `kind load image-archive one.tar` does succeeds and unpacks on both
# nodes.

# %%
print(puller.cli("save", "--platform", "linux/amd64", "-o", str(work / "one.tar"), ref).output,
      end="")
with open_archive(work / "one.tar") as ar:
    print("index.json manifests:", [m.media_type for m in ar.index().entries])
full = ref
for kind in KINDS:
    with Node(kind=kind) as fresh:
        res = fresh.load(work / "one.tar")
        unpacked = fresh.unpacked(full)
        print(f"kind {kind}:", res.error or "imported", "| unpacked:", unpacked)
        assert res.ok and unpacked

# %% [markdown] lang="zh"
# 修复二：关掉 containerd 镜像存储（`daemon.json` 里 `"features": {"containerd-snapshotter":
# false}`）。
# 这时 Docker 29 回到 graphdriver 存储，拉取时只存本机平台的镜像，`docker save`
# 写出的归档只有一个平台。

# %% [markdown] lang="en"
# Fix two: turn the containerd image store off (`"features": {"containerd-snapshotter": false}`
# in `daemon.json`). Docker 29 is then back on the graphdriver store, keeps only the host
# platform's image when it pulls, and `docker save` writes one platform.

# %%
with Engine("29.8.1", containerd_store=False) as graph:
    print("engine:", graph.description)
    print(graph.cli("info", "-f", "{{.Driver}}").output, end="")
    graph.pull(ref)
    print(graph.cli("save", "-o", str(work / "graphdriver.tar"), ref).output, end="")
for kind in KINDS:
    with Node(kind=kind) as fresh:
        res = fresh.load(work / "graphdriver.tar")
        print(f"kind {kind}:", res.error or "imported", "| unpacked:", fresh.unpacked(full))
        assert res.ok

# %%
puller.close()
target.close()
scratch.close()
