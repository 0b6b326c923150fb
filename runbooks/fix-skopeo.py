# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 修复：用 skopeo 转换归档
#
# skopeo 的 `docker-archive:` 读取方读的是 `manifest.json`，而 Docker 25.0.0
# 写对的恰恰是这套元数据，所以 `skopeo copy docker-archive:坏归档 docker-archive:新归档:完整名称`
# 能得到一个旧布局的好归档，镜像 ID 不变。本手册还检查了网上流传的 `oci-archive:`
# 写法：它会重新序列化配置（镜像 ID 变了）、把层压缩成 gzip；名称不写全时原样存成 `demo:v1`，kubelet
# 按 `docker.io/library/demo:v1` 找不到它。最后给出改正后的命令。
#
# 需要：root、skopeo；实验环境里从源码构建的 dockerd 25.0.0 和 kind v0.20.0 节点的
# containerd 1.7.1。

# %% [markdown] lang="en"
# # Fix: convert the archive with skopeo
#
# skopeo's `docker-archive:` reader reads `manifest.json`, the metadata Docker 25.0.0 got
# right, so `skopeo copy docker-archive:BROKEN docker-archive:NEW:FULL-NAME` yields a good
# archive in the older layout with the same image ID. This runbook also checks the
# `oci-archive:` form often given as the fix: it re-serialises the config (a new image ID)
# and gzips the
# layers; with an unqualified name it stores `demo:v1` as-is, which the kubelet, looking for
# `docker.io/library/demo:v1`, does not find. Then the corrected command.
#
# Needs: root, skopeo; the lab's dockerd 25.0.0 built from source and the containerd 1.7.1 of
# kind v0.20.0 nodes.

# %%
from pathlib import Path

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("fix-skopeo")  # this run's own dir under the lab's temp root
target = open_target(docker="25.0.0", kind="v0.20.0")
node, engine = target.node, target.engine
work = Path("skopeo-work")
work.mkdir(exist_ok=True)


def clear_node() -> None:
    refs = [r.ref for r in node.images()]
    if refs:
        node.remove(*refs)


def oci_summary(path: Path) -> tuple[str, list[str], list[str]]:
    """(config digest, layer media types, names in index.json) of an OCI archive."""
    with open_archive(path) as ar:
        index = ar.index()
        manifest = ar.manifest(index.entries[0].digest)
    names = [m.annotation("org.opencontainers.image.ref.name") for m in index.entries]
    return manifest.config.digest, [layer.media_type for layer in manifest.layers], names


# %% [markdown] lang="zh"
# 一个 5 层、第 3 层重复第 1 层的镜像，由真实的 Docker 25.0.0 保存成 `in.tar`（重复层被合并，
# 每次都失败），kind 的导入失败。

# %% [markdown] lang="en"
# A 5-layer image whose third layer repeats the first, saved by the real Docker 25.0.0 into
# `in.tar` (the repeat is collapsed, every time); kind's import fails.

# %%
built = engine.build("demo:v1", [b"l0", b"l1", b"l0", b"l3", b"l4"])
print(target.save([built.ref], work / "in.tar"))
broken = node.load(work / "in.tar")
print(broken.error)
assert broken.error == "ctr: mismatched image rootfs and manifest layers"

# %% [markdown] lang="zh"
# 修复：`docker-archive:` 进、`docker-archive:` 出，目标名写全。然后像 `kind load image-archive
# out.tar` 那样导入。

# %% [markdown] lang="en"
# The fix: `docker-archive:` in, `docker-archive:` out, with the full name on the
# destination. Then import it as `kind load image-archive out.tar` does.

# %%
clear_node()
proc.run(["skopeo", "copy", f"docker-archive:{work}/in.tar",
          f"docker-archive:{work}/out.tar:docker.io/library/demo:v1"], timeout=120)
good = node.load(work / "out.tar")
ref = "docker.io/library/demo:v1"
view = node.kubelet_view("demo:v1")
unpacked = node.unpacked(ref)
print(good.error or "imported", "| unpacked:", unpacked)
print(view)
print("same image ID as the built image:", view.image_id == built.image_id)
assert good.ok and unpacked and view.image_id == built.image_id

# %% [markdown] lang="zh"
# 网上常见的写法换成本地来源是 `oci-archive:`（它原本的 `docker://` 来源需要镜像仓库）。名称不写全：

# %% [markdown] lang="en"
# The commonly posted form, with a local source, is `oci-archive:` (its `docker://` source
# needs a registry). With an unqualified name:

# %%
clear_node()
proc.run(["skopeo", "copy", f"docker-archive:{work}/in.tar", f"oci-archive:{work}/oci.tar:demo:v1"],
         timeout=120)
config, media_types, names = oci_summary(work / "oci.tar")
print("config digest (image ID):", config[:19], "| built image ID:", built.image_id[:19])
print("layer media types:", sorted(set(media_types)))
print("name in index.json:", names)
assert config != built.image_id
assert set(media_types) == {"application/vnd.oci.image.layer.v1.tar+gzip"}

# %% [markdown] lang="zh"
# 导入成功，但记录的名字是 `demo:v1`。kubelet（经由 CRI）按 Pod 里的 `demo:v1` 去找，会把它规范化成
# `docker.io/library/demo:v1`——找不到，于是尝试去拉取。

# %% [markdown] lang="en"
# The import succeeds, but the record is named `demo:v1`. The kubelet (through CRI) looks
# up the Pod's `demo:v1` as `docker.io/library/demo:v1` — not found, so it would try to
# pull.

# %%
short = node.load(work / "oci.tar")
print(short.error or "imported")
named = [r.ref for r in node.images() if not r.ref.startswith(("import-", "sha256:"))]
print(named)
print(short_name := node.kubelet_view("demo:v1"))
print(node.kubelet_view("docker.io/library/demo:v1"))
assert short.ok and "demo:v1" in named
assert not short_name.present

# %% [markdown] lang="zh"
# 改正：`oci-archive:` 的目标名写全。kubelet 能找到了，但镜像 ID
# 仍是新的（配置被重新序列化）；所以更推荐上面的 `docker-archive:` 写法。

# %% [markdown] lang="en"
# Corrected: give `oci-archive:` the full name. The kubelet now finds it, but the image ID
# is still a new one (the config was re-serialised); the `docker-archive:` form above is
# the better choice.

# %%
clear_node()
proc.run(["skopeo", "copy", f"docker-archive:{work}/in.tar",
          f"oci-archive:{work}/oci-full.tar:docker.io/library/demo:v1"], timeout=120)
full = node.load(work / "oci-full.tar")
view = node.kubelet_view("demo:v1")
print(full.error or "imported", "| unpacked:", node.unpacked(ref))
print(view)
assert full.ok and view.present and view.image_id != built.image_id

# %%
target.close()
scratch.close()
