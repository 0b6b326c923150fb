# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：固定在 Docker 24.x
#
# 这个运行手册说明为什么 Docker 24 保存的归档能被 kind 正常导入：它是旧的 `manifest.json` 布局，没有
# `index.json`，containerd 只能按 `manifest.json` 里的层顺序导入，而这个顺序一直是对的。
# 归档由从源码构建的
# dockerd 24.0.7 保存。最后演示固定版本的坑：之前用 25.0.0 保存下来的归档（比如 CI
# 缓存里的）照样坏，固定版本救不了它们。
#
# 需要：root；实验环境里从源码构建的 dockerd 24.0.7 和 25.0.0、kind v0.20.0 节点的 containerd
# 1.7.1。

# %% [markdown] lang="en"
# # Fix: pin Docker 24.x
#
# This runbook shows why an archive saved by Docker 24 imports fine into kind: it uses the
# older `manifest.json` layout without `index.json`, so containerd can only take the layer
# order from `manifest.json`, which was always right. The archive is saved by dockerd 24.0.7
# built from source. Last, the pitfall of pinning: archives saved earlier by 25.0.0 (say, in a
# CI cache) stay broken; pinning does not rescue them.
#
# Needs: root; the lab's dockerd 24.0.7 and 25.0.0 built from source, the containerd 1.7.1 of
# kind v0.20.0 nodes.

# %%
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-pin-docker-24")  # this run's own dir under the lab's temp root
target = open_target(docker="24.0.7", kind="v0.20.0")
node, engine = target.node, target.engine
work = Path("pin-work")
work.mkdir(exist_ok=True)


# %% [markdown] lang="zh"
# 带重复层的 5 层镜像，由真实的 dockerd 24.0.7 保存。看归档里有哪些文件：没有 `index.json`、没有
# `oci-layout`。

# %% [markdown] lang="en"
# A 5-layer image with a repeated layer, saved by the real dockerd 24.0.7. The archive's
# members: no `index.json`, no `oci-layout`.

# %%
built = engine.build("demo:v1", [b"base", b"app", b"base", b"config", b"entry"])
print(target.save([built.ref], work / "v24.0.7.tar"))
with open_archive(work / "v24.0.7.tar") as ar:
    top_level = sorted({name.split("/")[0] for name in ar.members})
print(len(top_level), "top-level entries; index.json:", "index.json" in top_level,
      "| oci-layout:", "oci-layout" in top_level, "| manifest.json:", "manifest.json" in top_level)
assert "index.json" not in top_level and "manifest.json" in top_level

# %% [markdown] lang="zh"
# 用 kind 的导入命令加载：成功、已解包。

# %% [markdown] lang="en"
# Load it with kind's import command: it imports and unpacks.

# %%
ref = "docker.io/library/" + built.ref
v24 = node.load(work / "v24.0.7.tar")
unpacked = node.unpacked(ref)
print("dockerd 24.0.7 save:", v24.error or "imported", "| unpacked:", unpacked)
print(node.kubelet_view(built.ref))
assert v24.ok and unpacked

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
print(target.save([built.ref], work / "cached-from-25.0.0.tar", as_docker="25.0.0"))
old = node.load(work / "cached-from-25.0.0.tar")
print(old.error)
assert old.error == "ctr: mismatched image rootfs and manifest layers"

# %%
target.close()
scratch.close()
