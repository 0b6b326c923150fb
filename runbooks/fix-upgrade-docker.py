# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：升级 Docker 到 25.0.1 / 25.0.3
#
# 这个运行手册把同一个镜像交给真实的 Docker 25.0.0、25.0.1、25.0.2、25.0.3 保存，再交给 kind
# 的导入命令：25.0.0 失败，25.0.1 成功并且解包；按摘要保存（`IMAGE@sha256:...`）在 25.0.1 和 25.0.2
# 仍然失败，25.0.3 才修好。中间演示升级的坑：升级之前失败过一次的节点，残留记录还在，kind 会跳过它。
#
# 需要：root；实验环境里从源码构建的 dockerd 25.0.0…25.0.3、kind v0.20.0 节点的 containerd 1.7.1，
# 以及实验环境自己的镜像仓库（按摘要保存需要仓库给出的摘要）。

# %% [markdown] lang="en"
# # Fix: upgrade Docker to 25.0.1 / 25.0.3
#
# This runbook has the real Docker 25.0.0, 25.0.1, 25.0.2 and 25.0.3 save one image and feeds
# each archive to kind's import command: 25.0.0 fails, 25.0.1 imports and unpacks; a save by
# digest (`IMAGE@sha256:...`) still fails on 25.0.1 and 25.0.2 and is fixed in 25.0.3. On the
# way, the upgrade's pitfall: a node that failed before the upgrade keeps a stale record, and
# kind skips it.
#
# Needs: root; the lab's dockerd 25.0.0 … 25.0.3 built from source, the containerd 1.7.1 of kind
# v0.20.0 nodes, and the lab's own registry (a save by digest needs the digest a registry gives).

# %%
import json
import re
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-upgrade-docker")  # this run's own dir under the lab's temp root
target = open_target(docker="25.0.0", kind="v0.20.0")
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
ref = "docker.io/library/" + built.ref
print("image ID", built.image_id[:19], "layers", len(built.diff_ids),
      "distinct", len(set(built.diff_ids)))

# %% [markdown] lang="zh"
# Docker 25.0.0：失败。

# %% [markdown] lang="en"
# Docker 25.0.0: fails.

# %%
print(target.save([built.ref], work / "v25.0.0.tar"))
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
print("unpacked:", unpacked := node.unpacked(ref))
assert view.present and ref in view.repo_tags and not unpacked

# %% [markdown] lang="zh"
# 所以先按[清理节点](../fixes/clean-node.md)删掉残留记录，再加载 25.0.1
# 保存的归档：成功、已解包、镜像 ID 不变。

# %% [markdown] lang="en"
# So first remove the stale records as in [clean the node](../fixes/clean-node.md), then
# load the archive Docker 25.0.1 saves: it imports, unpacks, and keeps the image ID.

# %%
stale = [r.ref for r in node.images()]
node.remove(*stale)
print(target.save([built.ref], work / "v25.0.1.tar", as_docker="25.0.1"))
fixed = node.load(work / "v25.0.1.tar")
unpacked = node.unpacked(ref)
print("exit status", fixed.returncode, "| unpacked:", unpacked)
print(view := node.kubelet_view(built.ref))
assert fixed.ok and unpacked and view.image_id == built.image_id

# %% [markdown] lang="zh"
# 按摘要保存（`docker save demo@sha256:...`）：镜像要有仓库摘要，所以先推送到实验环境的仓库，
# 再由各个版本的 dockerd 拉取。25.0.1 和 25.0.2 写出的 `index.json` 里
# `"manifests": null`，containerd
# 找不到任何镜像（[moby#47210](https://github.com/moby/moby/issues/47210)）；25.0.3 修复。

# %% [markdown] lang="en"
# Saved by digest (`docker save demo@sha256:...`): the image needs a repo digest, so it is pushed
# to the lab's registry and pulled by each release's dockerd. 25.0.1 and 25.0.2 write
# `"manifests": null` into `index.json` and containerd finds no image at all
# ([moby#47210](https://github.com/moby/moby/issues/47210)); 25.0.3 fixes it.

# %%
by_digest = {}
for release in ("25.0.1", "25.0.2", "25.0.3"):
    digest_ref = target.pulled(built.ref, as_docker=release)
    out = work / f"by-digest-{release}.tar"
    target.save([digest_ref], out, as_docker=release)
    with open_archive(out) as ar:
        index = ar.index().to_json()
    by_digest[release] = node.load(out)
    print(f"{release}: index.json manifests = {json.dumps(index['manifests'])[:60]}… ->",
          by_digest[release].error or "imported")
assert by_digest["25.0.1"].error == "ctr: image might be filtered out"
assert by_digest["25.0.2"].error == "ctr: image might be filtered out"
assert by_digest["25.0.3"].ok

# %% [markdown] lang="zh"
# 25.0.3 之后还剩一种情况：一次 `docker save` 按摘要保存好几个镜像——`kind load docker-image
# a@sha256:… b@sha256:…` 做的正是这个。moby 在一个 Go map 上累积每个镜像的清单描述
# （[moby#51389](https://github.com/moby/moby/issues/51389)，仍未关闭）。这里用真实的 25.0.3
# 和 29.8.1 各试一次：两个镜像、一次保存，看 `index.json` 里有几条、导入后节点上有哪些记录。

# %% [markdown] lang="en"
# One case is left after 25.0.3: several images saved by digest in one `docker save` — exactly
# what `kind load docker-image a@sha256:… b@sha256:…` does. moby accumulates each image's
# manifest descriptors over a Go map ([moby#51389](https://github.com/moby/moby/issues/51389),
# still open). Here the real 25.0.3 and 29.8.1 each try it: two images, one save, then the
# number of `index.json` entries and the records the node gets.

# %%
second = engine.build("demo:v2", [b"two-base", b"two-app"])
several: dict[str, tuple[int, bool, int]] = {}
for release in ("25.0.3", "29.8.1"):
    refs = [target.pulled(ref, as_docker=release) for ref in (built.ref, second.ref)]
    out = work / f"two-by-digest-{release}.tar"
    target.save(refs, out, as_docker=release)
    with open_archive(out) as ar:
        entries = ar.index().entries
    node.remove(*[r.ref for r in node.images()])
    res = node.load(out)
    imported = sorted({r.digest for r in node.images()})
    several[release] = (len(entries), res.ok, len(imported))
    print(f"{release}: index.json entries = {len(entries)}, import:", res.error or "ok",
          f"| distinct manifests on the node: {len(imported)} of 2")
assert several["29.8.1"] == (2, True, 2)  # Docker 29 keeps both
assert several["25.0.3"][2] <= several["25.0.3"][0] <= 2

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
scratch.close()
