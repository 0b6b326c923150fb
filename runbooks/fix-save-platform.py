# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：Docker 29 / containerd 镜像存储下按平台保存
#
# 开启 containerd 镜像存储后（Docker Engine 29 全新安装的默认值），`docker save`
# 导出镜像的整个多平台索引，但跳过从未拉取过的子清单；kind 的 `--all-platforms` 让 ctr
# 逐个读取所有子清单，于是报 `content digest ...: not found`。本手册用 Docker 29
# 的写出器复现，确认节点上没有留下记录，说明 `--local` 为什么帮不上忙，然后演示修复：`docker save
# --platform` 只导出一个平台。
#
# 需要：root、containerd、dockerd（实验环境自带）。Docker 29 的归档由写出器按 [moby
# 源码](https://github.com/moby/moby/blob/docker-v29.0.0/daemon/containerd/image_exporter.go)模拟生成，单平台保存由本手册里的函数按同一文件的逻辑模拟。

# %% [markdown] lang="en"
# # Fix: save one platform under Docker 29 / the containerd image store
#
# With the containerd image store (the default on fresh Docker Engine 29 installs),
# `docker save` exports the image's whole multi-platform index but skips child manifests
# that were never pulled; kind's `--all-platforms` makes ctr read every child, hence
# `content digest ...: not found`. This runbook reproduces it with the Docker 29 writer,
# checks that no record is left on the node, shows why `--local` cannot help, and then the
# fix: `docker save --platform` exports a single platform.
#
# Needs: root, containerd, dockerd (the lab starts its own). The Docker 29 archive comes
# from the writer, which follows the
# [moby
# source](https://github.com/moby/moby/blob/docker-v29.0.0/daemon/containerd/image_exporter.go);
# the single-platform save is modelled by a function in this runbook after the same file.

# %%
import shutil
from pathlib import Path

from runbook_exec import proc, writers
from runbook_exec.archive.reader import blob_path, open_archive
from runbook_exec.lab import open_target
from runbook_exec.writers.source import image_from_save

proc.echo_to_stdout()
target = open_target()
node, engine = target.node, target.engine
work = Path("platform-work")
work.mkdir(exist_ok=True)

# %% [markdown] lang="zh"
# 构建镜像，按 Docker 29（containerd
# 镜像存储）的方式保存：顶层是一个多平台索引，本机平台的清单在归档里，另一个平台的不在。

# %% [markdown] lang="en"
# Build an image and save it as Docker 29 with the containerd image store does: the top
# entry is a multi-platform index; the host platform's manifest is in the archive, the
# other platform's is not.

# %%
built = engine.build("demo:v1", [b"l0", b"l1", b"l2"])
engine.save([built.ref], work / "source.tar")
image = image_from_save(work / "source.tar", work / "layers")
writers.write(image, work / "v29.tar", profile="29-containerd-store")
with open_archive(work / "v29.tar") as ar:
    top = ar.read_json("index.json")["manifests"][0]
    children = ar.read_json(blob_path(top["digest"]))["manifests"]
    for child in children:
        platform = child["platform"]["os"] + "/" + child["platform"]["architecture"]
        print(platform, child["digest"][:19], "in archive:", ar.blob(child["digest"]) is not None)

# %% [markdown] lang="zh"
# kind 的导入命令：失败，并且节点上没有留下任何记录（失败发生在创建记录之前）。

# %% [markdown] lang="en"
# kind's import command: it fails, and no record is left on the node (the failure comes
# before any record is created).

# %%
res = node.load(work / "v29.tar")
print(res.error)
missing = [c["digest"] for c in children if c["platform"]["architecture"] != "amd64"]
assert res.error == f"ctr: content digest {missing[0]}: not found"
print("records on the node:", [r.ref for r in node.images()])
assert node.images() == []

# %% [markdown] lang="zh"
# `--local` 不是 kind 的参数，而是 containerd 1.7 起 `ctr images import`
# 的参数：选择在客户端导入，而不是经由 transfer 服务。本节点的 ctr 1.6 只有客户端导入（也就是
# `--local` 所选的那条路），上面正是它失败的样子。

# %% [markdown] lang="en"
# `--local` is not a kind flag but a `ctr images import` flag from containerd 1.7 on: it
# picks the client-side import over the transfer service. This node's ctr 1.6 only has the
# client-side import (the path `--local` selects), and that is what failed above.

# %%
help_text = node.ctr("images", "import", "--help").stdout
print("ctr images import has --local:", "--local" in help_text)
assert "--local" not in help_text

# %% [markdown] lang="zh"
# 修复的模型：Docker 29 在只请求一个平台时（`docker save --platform
# linux/amd64`），把该平台的清单直接写进 `index.json`，不再导出多平台索引。写出器的 `platform=`
# 参数按这个行为写归档。

# %% [markdown] lang="en"
# The fix, modelled: when exactly one platform is requested
# (`docker save --platform linux/amd64`), Docker 29 writes that platform's manifest straight
# into `index.json` instead of the multi-platform index. The writer's `platform=` option
# writes the archive that way.

# %%
print("model of: docker save --platform linux/amd64 -o one.tar demo:v1")
writers.write(image, work / "one.tar", profile="29-containerd-store", platform="linux/amd64")

# %% [markdown] lang="zh"
# 像 `kind load image-archive one.tar` 那样导入：成功、已解包，镜像 ID 与构建时一致。

# %% [markdown] lang="en"
# Import it as `kind load image-archive one.tar` does: it imports, unpacks, and keeps the
# image ID it was built with.

# %%
res = node.load(work / "one.tar")
ref = "docker.io/library/demo:v1"
unpacked = node.unpacked(ref)
view = node.kubelet_view(built.ref)
print(res.error or "imported", "| unpacked:", unpacked)
print(view)
assert res.ok and unpacked and view.image_id == built.image_id

# %% [markdown] lang="zh"
# 另一个修复是关掉 containerd 镜像存储：这时 Docker 29 走 graphdriver 的
# [tarexport](https://github.com/moby/moby/blob/docker-v29.0.0/daemon/internal/image/tarexport/save.go)，每个镜像只有一个平台，层按配置的顺序写出。实验环境没有
# 29 版的这个写出器，最接近的模型是 26.1.0 的写出器：

# %% [markdown] lang="en"
# The other fix is turning the containerd image store off: Docker 29 then saves through the
# graphdriver
# [tarexport](https://github.com/moby/moby/blob/docker-v29.0.0/daemon/internal/image/tarexport/save.go),
# one platform per image, layers in config order. The lab has no writer for that file at 29;
# the closest model is the 26.1.0 writer:

# %%
node.remove(*[r.ref for r in node.images()])
writers.write(image, work / "graphdriver.tar", profile="26.1.0")
res = node.load(work / "graphdriver.tar")
unpacked = node.unpacked(ref)
print(res.error or "imported", "| unpacked:", unpacked)
assert res.ok

# %%
target.close()
shutil.rmtree(work, ignore_errors=True)
