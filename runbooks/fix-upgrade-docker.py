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
# # 修复：升级 Docker 到 25.0.1 / 25.0.3
#
# 这个运行手册对比同一个镜像在 Docker 25.0.0、25.0.1、25.0.3 下保存出的归档，交给 kind
# 的导入命令：25.0.0 失败，25.0.1 成功并且解包；按摘要保存（`IMAGE@sha256:...`）在 25.0.1
# 仍然失败，25.0.3 才修好。最后演示升级的坑：升级之前失败过一次的节点，残留记录还在，kind 会跳过它。
#
# 需要：root、containerd、dockerd（实验环境自带）。Docker 25.x 的归档由写出器按对应 tag 的 moby
# 源码模拟生成。

# %% [markdown] lang="en"
# # Fix: upgrade Docker to 25.0.1 / 25.0.3
#
# This runbook saves one image as Docker 25.0.0, 25.0.1 and 25.0.3 would, and feeds each
# archive to kind's import command: 25.0.0 fails, 25.0.1 imports and unpacks; a save by
# digest (`IMAGE@sha256:...`) still fails on 25.0.1 and is fixed in 25.0.3. Last, the
# upgrade's pitfall: a node that failed before the upgrade keeps a stale record, and kind
# skips it.
#
# Needs: root, containerd, dockerd (the lab starts its own). The Docker 25.x archives come
# from the writers, which follow the moby source at each tag.

# %%
import re
import shutil
from pathlib import Path

from runbook_exec import proc, writers
from runbook_exec.lab import open_target
from runbook_exec.writers.source import image_from_save

proc.echo_to_stdout()
target = open_target()
node, engine = target.node, target.engine
work = Path("upgrade-work")  # relative: printed commands stay the same run to run
work.mkdir(exist_ok=True)


# %% [markdown] lang="zh"
# 构建一个 5 层的镜像，其中第 3 层和第 1 层内容相同（重复层会让 25.0.0 每次都失败，不靠运气）。

# %% [markdown] lang="en"
# Build a 5-layer image whose third layer repeats the first (a repeated layer makes 25.0.0
# fail every time, no luck involved).

# %%
built = engine.build("demo:v1", [b"base", b"app", b"base", b"config", b"entry"])
engine.save([built.ref], work / "source.tar")
image = image_from_save(work / "source.tar", work / "layers")
ref = "docker.io/library/" + built.ref
print("image ID", built.image_id[:19], "layers", len(built.diff_ids),
      "distinct", len(set(built.diff_ids)))

# %% [markdown] lang="zh"
# Docker 25.0.0：失败。

# %% [markdown] lang="en"
# Docker 25.0.0: fails.

# %%
writers.write(image, work / "v25.0.0.tar", profile="25.0.0", seed=writers.SEED_25_SHUFFLED)
broken = node.load(work / "v25.0.0.tar")
print(broken.error)
assert broken.error == "ctr: mismatched image rootfs and manifest layers"

# %% [markdown] lang="zh"
# 坑：失败的导入留下了镜像记录。kubelet 通过 CRI 看到镜像“存在”，但它没有解包；kind 下一次 `kind
# load docker-image` 检查的正是这个，于是会说“already present”并跳过这个节点——升级 Docker
# 并不能清掉它。

# %% [markdown] lang="en"
# Pitfall: the failed import left an image record. The kubelet, asking CRI, sees the image
# as present, yet it is not unpacked; the next `kind load docker-image` checks exactly this,
# says "already present" and skips the node — upgrading Docker does not clear it.

# %%
view = node.kubelet_view(built.ref)
print(view)
print("unpacked:", node.unpacked(ref))
assert view.present and ref in view.repo_tags and not node.unpacked(ref)

# %% [markdown] lang="zh"
# 所以先按[清理节点](../fixes/clean-node.md)删掉残留记录，再加载 25.0.1
# 保存的归档：成功、已解包、镜像 ID 不变。

# %% [markdown] lang="en"
# So first remove the stale records as in [clean the node](../fixes/clean-node.md), then
# load the archive Docker 25.0.1 saves: it imports, unpacks, and keeps the image ID.

# %%
stale = [r.ref for r in node.images()]
node.remove(*stale)
writers.write(image, work / "v25.0.1.tar", profile="25.0.1")
fixed = node.load(work / "v25.0.1.tar")
print("exit status", fixed.returncode, "| unpacked:", node.unpacked(ref))
print(node.kubelet_view(built.ref))
assert fixed.ok and node.unpacked(ref) and node.kubelet_view(built.ref).image_id == built.image_id

# %% [markdown] lang="zh"
# 按摘要保存（`docker save demo@sha256:...`）：25.0.1 写出的 `index.json` 里 `"manifests":
# null`，containerd
# 找不到任何镜像（[moby#47210](https://github.com/moby/moby/issues/47210)）；25.0.3 修复。

# %% [markdown] lang="en"
# Saved by digest (`docker save demo@sha256:...`): 25.0.1 writes `"manifests": null` into
# `index.json` and containerd finds no image at all
# ([moby#47210](https://github.com/moby/moby/issues/47210)); 25.0.3 fixes it.

# %%
by_digest = {}
for profile in ("25.0.1", "25.0.3"):
    out = work / f"by-digest-{profile}.tar"
    writers.write(image, out, profile=profile, by_digest=True)
    by_digest[profile] = node.load(out)
    print(profile, "->", by_digest[profile].error or "imported")
assert by_digest["25.0.1"].error == "ctr: image might be filtered out"
assert by_digest["25.0.3"].ok

# %% [markdown] lang="zh"
# 按摘要保存的归档里没有名字，节点上只有 `import-<日期>@sha256:...` 这样的记录；想让 Pod
# 按名字找到镜像，请按标签保存。

# %% [markdown] lang="en"
# An archive saved by digest carries no name: the node only gets an
# `import-<date>@sha256:...` record. For Pods to find the image by name, save it by tag.

# %%
for record in node.images():
    print(re.sub(r"import-\d{4}-\d{2}-\d{2}", "import-<date>", record.ref))

# %%
target.close()
shutil.rmtree(work, ignore_errors=True)
