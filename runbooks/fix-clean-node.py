# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：清理节点上残留的镜像记录
#
# 一次失败的 `kind load` 会在节点上留下镜像记录（名称和
# `import-<日期>@sha256:...`），但镜像没有解包；kubelet 和 kind
# 都因此认为镜像“已存在”。完整的来龙去脉见[残留状态](../errors/already-present.md)的运行手册，
# 这里只做修复：找出残留记录 → 删除 → 重新加载好的归档 → 确认已解包。
#
# 需要：root；实验环境里从源码构建的 dockerd 25.0.0 / 25.0.3、kind v0.20.0 节点的 containerd 1.7.1
# 和 crictl。

# %% [markdown] lang="en"
# # Fix: remove the stale image records from the node
#
# A failed `kind load` leaves image records on the node (the name and
# `import-<date>@sha256:...`) without an unpacked image; the kubelet and kind then both
# consider the image present. The full story is in the [stale state](../errors/already-present.md)
# runbook; this one is the fix: find the stale records → remove them → load a good archive
# → confirm it is unpacked.
#
# Needs: root; the lab's dockerd 25.0.0 / 25.0.3 built from source, the containerd 1.7.1 of kind
# v0.20.0 nodes, and crictl.

# %%
import re
from pathlib import Path

from runbook_exec import proc
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-clean-node")  # this run's own dir under the lab's temp root
target = open_target(docker="25.0.0", kind="v0.20.0")
node, engine = target.node, target.engine
work = Path("clean-work")
work.mkdir(exist_ok=True)

# %% [markdown] lang="zh"
# 先制造残留状态：真实的 Docker 25.0.0 保存一个带重复层的镜像，导入失败。

# %% [markdown] lang="en"
# First, the stale state: the real Docker 25.0.0 saves an image with a repeated layer; the
# import fails.

# %%
built = engine.build("demo:v1", [b"base", b"app", b"base", b"entry"])
print(target.save([built.ref], work / "broken.tar"))
print(node.load(work / "broken.tar").error)

# %% [markdown] lang="zh"
# 找出残留：`ctr images check` 里 `UNPACKED` 为 `false` 的记录（日期部分每天不同，这里打印成
# `<date>`）。

# %% [markdown] lang="en"
# Find them: the records `ctr images check` shows with `UNPACKED` `false` (the date part
# changes daily; printed here as `<date>`).

# %%
stale = [r for r in node.check() if not r.unpacked]
for r in stale:
    print(re.sub(r"import-\d{4}-\d{2}-\d{2}", "import-<date>", r.ref), "| unpacked:", r.unpacked)
before = node.kubelet_view(built.ref)
print(before)
assert any(r.ref == "docker.io/library/" + built.ref for r in stale)
assert before.present

# %% [markdown] lang="zh"
# 删除它们。在真实的 kind 节点上，命令是 `docker exec kind-control-plane ctr -n k8s.io images rm
# 名称...`。

# %% [markdown] lang="en"
# Remove them. On a real kind node the command is
# `docker exec kind-control-plane ctr -n k8s.io images rm NAME...`.

# %%
node.remove(*[r.ref for r in stale])
gone = node.kubelet_view(built.ref)
print(gone)
assert not gone.present

# %% [markdown] lang="zh"
# 再加载一个好的归档（这里由真实的 Docker 25.0.3 保存），确认已解包、镜像 ID 与构建时一致。

# %% [markdown] lang="en"
# Load a good archive (saved by the real Docker 25.0.3 here) and confirm it is unpacked with
# the image ID
# it was built with.

# %%
print(target.save([built.ref], work / "good.tar", as_docker="25.0.3"))
res = node.load(work / "good.tar")
unpacked = node.unpacked("docker.io/library/" + built.ref)
view = node.kubelet_view(built.ref)
print(res.error or "imported", "| unpacked:", unpacked)
print(view)
assert res.ok and unpacked and view.image_id == built.image_id

# %%
target.close()
scratch.close()
