# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：用 doctor 修复归档，再安全加载
#
# 不方便改动 Docker 时，可以修复归档本身：Docker 25.0.0 写错的是 OCI 清单和
# `index.json`，而镜像配置里的 `rootfs.diff_ids` 和各层的数据都是对的。doctor
# 按配置的顺序重建清单和索引，配置字节和层数据原样保留，所以镜像 ID 不变。流程：诊断 → 修复 → 再诊断
# → 按 kind 的方式导入 → 确认已解包。最后是一步到位的安全加载（`runbook-exec load`
# 背后的函数），它还会先清掉节点上的残留记录。
#
# 需要：root；实验环境里从源码构建的 dockerd 25.0.0、kind v0.20.0 节点的 containerd 1.7.1。

# %% [markdown] lang="en"
# # Fix: repair the archive with the doctor, then load it safely
#
# When Docker cannot be changed, repair the archive itself: Docker 25.0.0 got the OCI
# manifest and `index.json` wrong, while the config's `rootfs.diff_ids` and the layer data
# are right. The doctor rebuilds the manifest and index in config order and keeps the
# config bytes and layer data as they are, so the image ID stays the same. The flow:
# diagnose → repair → diagnose again → import as kind does → confirm it is unpacked. Last,
# the one-step safe load (the function behind `runbook-exec load`), which also clears a
# stale record from the node first.
#
# Needs: root; the lab's dockerd 25.0.0 built from source and the containerd 1.7.1 of kind
# v0.20.0 nodes.

# %%
import sys
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import refs
from runbook_exec.doctor import safe_load
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-repair")  # this run's own dir under the lab's temp root
target = open_target(docker="25.0.0", kind="v0.20.0")
node, engine = target.node, target.engine
work = Path("repair-work")
work.mkdir(exist_ok=True)


def runbook_exec(*args: str) -> proc.Result:
    """The `runbook-exec` command, run with this kernel's interpreter."""
    res = proc.run([sys.executable, "-m", "runbook_exec.cli", *args], timeout=120, check=False,
                   display=["runbook-exec", *args], merge_stderr=True)
    print(res.output.rstrip())
    print(f"(exit status {res.returncode})")
    return res


# %% [markdown] lang="zh"
# 一个带重复层的镜像，由真实的 Docker 25.0.0 保存成 `in.tar`。

# %% [markdown] lang="en"
# An image with a repeated layer, saved by the real Docker 25.0.0 into `in.tar`.

# %%
built = engine.build("demo:v1", [b"base", b"app", b"base", b"config", b"entry"])
print(target.save([built.ref], work / "in.tar"))

# %% [markdown] lang="zh"
# 诊断（`--node v0.20.0`：按这个实验节点的 containerd 1.7.1 来预测）：退出码 1 表示受影响，
# 并给出 containerd 将会报的错。

# %% [markdown] lang="en"
# Diagnose (`--node v0.20.0`: predict for this lab node's containerd 1.7.1): exit status 1
# means affected, and it names the error containerd will give.

# %%
before = runbook_exec("doctor", "diagnose", "--node", "v0.20.0", str(work / "in.tar"))
assert before.returncode == 1
assert "ctr: mismatched image rootfs and manifest layers" in before.output

# %% [markdown] lang="zh"
# 修复到新文件（不会覆盖输入），再诊断一次：退出码 0。

# %% [markdown] lang="en"
# Repair into a new file (the input is never overwritten), then diagnose again: exit
# status 0.

# %%
repaired = runbook_exec("doctor", "repair", str(work / "in.tar"), "-o", str(work / "fixed.tar"))
assert repaired.returncode == 0
assert runbook_exec("doctor", "diagnose", "--node", "v0.20.0",
                    str(work / "fixed.tar")).returncode == 0

# %% [markdown] lang="zh"
# 用 kind 的导入命令加载修复后的归档（相当于 `kind load image-archive
# fixed.tar`）：成功、已解包，镜像 ID 与原镜像相同。

# %% [markdown] lang="en"
# Load the repaired archive with kind's import command (what `kind load image-archive
# fixed.tar` runs): it imports, unpacks, and has the original image ID.

# %%
ref = str(refs.parse(built.ref))
res = node.load(work / "fixed.tar")
view = node.kubelet_view(built.ref)
unpacked = node.unpacked(ref)
print(res.error or "imported", "| unpacked:", unpacked)
print(view)
print("same image ID as the original:", view.image_id == built.image_id)
assert res.ok and unpacked and view.image_id == built.image_id

# %% [markdown] lang="zh"
# 一步到位：`safe_load` 保存 → 诊断 → 需要时修复 → 导入 →
# 确认解包。它用的引擎就是真实的 Docker 25.0.0，保存出的归档是坏的；节点上先制造一条残留记录，
# 看它被清掉。

# %% [markdown] lang="en"
# In one step: `safe_load` saves → diagnoses → repairs if needed → imports → confirms the
# unpack. Its engine is the real Docker 25.0.0, whose archives are broken; the node first gets
# a stale record, which it clears.

# %%
# new layer contents, so the node has no snapshots for them yet
second = engine.build("demo:v2", [b"base2", b"app2", b"base2", b"entry2"])
ref2 = str(refs.parse(second.ref))
engine.save([second.ref], work / "v2-broken.tar")
earlier = node.load(work / "v2-broken.tar")
print("earlier failed import:", earlier.error, "| unpacked:", node.unpacked(ref2))
outcomes = safe_load([second.ref], engine=engine, nodes=[("sandbox-node", node)],
                     workdir=work)
kept = node.kubelet_view(second.ref).image_id == second.image_id
unpacked = node.unpacked(ref2)
print("unpacked:", unpacked, "| image ID kept:", kept)
assert outcomes[0].removed and unpacked and kept

# %%
target.close()
scratch.close()
