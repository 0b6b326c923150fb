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
# # 修复：固定在 Docker 24.x
#
# 这个运行手册说明为什么 Docker 24 保存的归档能被 kind 正常导入：它是旧的 `manifest.json` 布局，没有
# `index.json`，containerd 只能按 `manifest.json`
# 里的层顺序导入，而这个顺序一直是对的。实验环境里真实的 dockerd 20.10 写的就是这种布局，我们用它和
# 24.0.7 的写出器各做一次。最后演示固定版本的坑：之前用 25.0.0 保存下来的归档（比如 CI
# 缓存里的）照样坏，固定版本救不了它们。
#
# 需要：root、containerd、dockerd（实验环境自带）。

# %% [markdown] lang="en"
# # Fix: pin Docker 24.x
#
# This runbook shows why an archive saved by Docker 24 imports fine into kind: it uses the
# older `manifest.json` layout without `index.json`, so containerd can only take the layer
# order from `manifest.json`, which was always right. The lab's real dockerd 20.10 writes
# this layout; we load its save and the 24.0.7 writer's output. Last, the pitfall of
# pinning: archives saved earlier by 25.0.0 (say, in a CI cache) stay broken; pinning does
# not rescue them.
#
# Needs: root, containerd, dockerd (the lab starts its own).

# %%
import shutil
from pathlib import Path

from runbook_exec import proc, writers
from runbook_exec.archive.reader import open_archive
from runbook_exec.lab import open_target
from runbook_exec.writers.source import image_from_save

proc.echo_to_stdout()
target = open_target()
node, engine = target.node, target.engine
work = Path("pin-work")
work.mkdir(exist_ok=True)


# %% [markdown] lang="zh"
# 同样是带重复层的 5 层镜像，用真实的 dockerd 保存。看归档里有哪些文件：没有 `index.json`、没有
# `oci-layout`。

# %% [markdown] lang="en"
# The same kind of 5-layer image with a repeated layer, saved by the real dockerd. The
# archive's members: no `index.json`, no `oci-layout`.

# %%
built = engine.build("demo:v1", [b"base", b"app", b"base", b"config", b"entry"])
engine.save([built.ref], work / "real-save.tar")
with open_archive(work / "real-save.tar") as ar:
    top_level = sorted({name.split("/")[0] for name in ar.members})
print(len(top_level), "top-level entries; index.json:", "index.json" in top_level,
      "| oci-layout:", "oci-layout" in top_level, "| manifest.json:", "manifest.json" in top_level)
assert "index.json" not in top_level and "manifest.json" in top_level

# %% [markdown] lang="zh"
# 用 kind 的导入命令加载真实 dockerd 的归档，再加载 24.0.7 写出器的归档：都成功、都已解包。

# %% [markdown] lang="en"
# Load the real dockerd's archive with kind's import command, then the 24.0.7 writer's
# archive: both import and unpack.

# %%
ref = "docker.io/library/" + built.ref
real = node.load(work / "real-save.tar")
print("real dockerd save:", real.error or "imported", "| unpacked:", node.unpacked(ref))
assert real.ok and node.unpacked(ref)
node.remove(*[r.ref for r in node.images()])

image = image_from_save(work / "real-save.tar", work / "layers")
writers.write(image, work / "v24.0.7.tar", profile="24.0.7")
v24 = node.load(work / "v24.0.7.tar")
print("24.0.7 writer:", v24.error or "imported", "| unpacked:", node.unpacked(ref))
print(node.kubelet_view(built.ref))
assert v24.ok and node.unpacked(ref)

# %% [markdown] lang="zh"
# 坑：把 Docker 固定回 24 之后，之前由 25.0.0
# 保存的归档仍然是坏的——修的是“以后保存的”，不是“已经存在的”。这类归档要重新保存，或者用 [doctor
# 修复](../fixes/repair.md)。

# %% [markdown] lang="en"
# Pitfall: with Docker pinned back to 24, an archive saved earlier by 25.0.0 is still
# broken — pinning fixes future saves, not existing files. Save such archives again, or
# [repair them with the doctor](../fixes/repair.md).

# %%
node.remove(*[r.ref for r in node.images()])
writers.write(image, work / "cached-from-25.0.0.tar", profile="25.0.0",
              seed=writers.SEED_25_SHUFFLED)
old = node.load(work / "cached-from-25.0.0.tar")
print(old.error)
assert old.error == "ctr: mismatched image rootfs and manifest layers"

# %%
target.close()
shutil.rmtree(work, ignore_errors=True)
