# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 复现 `ctr: mismatched image rootfs and manifest layers`
#
# **演示什么**：一个含重复层的镜像，由真实的 Docker 25.0.0 `docker save` 之后，用 kind
# 的原样命令导入 kind 节点的 containerd，得到这句报错；再看 25.0.0-rc.1
# 的“零层”变体；最后证明归档里的 `manifest.json` 完好，`docker load` 和 `skopeo inspect
# docker-archive:` 都能正常读取。
#
# **需要**：root；本项目的实验环境：从源码构建的 dockerd 25.0.0 和 25.0.0-rc.1（用各自发布时的
# Go 1.21.6 / 1.21.5 编译），kind v0.20.0 节点里的 containerd 1.7.1（同样从源码构建），skopeo。
#
# **你会看到**：OCI 清单只有 2 层，而配置的 `rootfs.diff_ids` 有 3
# 层；导入以这句报错结束；同一个归档却能被 `docker load` 载入，得到同一个镜像 ID。

# %% [markdown] lang="en"
# # Reproducing `ctr: mismatched image rootfs and manifest layers`
#
# **What this shows**: an image with a repeated layer, saved by the real Docker 25.0.0 and
# imported into a kind node's containerd with kind's exact command, ends with this error; then
# the 25.0.0-rc.1 "no layers" variant; and finally that the archive's `manifest.json`
# is intact: `docker load` and `skopeo inspect docker-archive:` read it fine.
#
# **Needs**: root and this project's lab: dockerd 25.0.0 and 25.0.0-rc.1 built from source with
# the Go each release was built with (1.21.6 / 1.21.5), the containerd 1.7.1 of kind v0.20.0
# nodes (also built from source), and skopeo.
#
# **You will see**: the OCI manifest lists 2 layers while the config's `rootfs.diff_ids` lists 3;
# the import ends with the error; yet `docker load` loads the same archive, with the same image ID.

# %%
import json

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import open_target, workspace

proc.echo_to_stdout()
scratch = workspace("mismatched-rootfs")  # this run's own dir under the lab's temp root
lab = open_target(docker="25.0.0", kind="v0.20.0")


def short(digest: str) -> str:
    return digest[:19] + "…"


# %% [markdown] lang="zh"
# ## 构建一个含重复层的镜像
#
# 第 1 层和第 3 层写入同样的字节，所以它们的 DiffID
# 相同。真实镜像里这很常见：两个什么也没改的步骤都会得到同一个空层。

# %% [markdown] lang="en"
# ## Build an image with a repeated layer
#
# Layers 1 and 3 write the same bytes, so they have the same DiffID. Real images do this often:
# two steps that change nothing both produce the same empty layer.

# %%
built = lab.engine.build("demo/repeat:1", [b"base\n", b"app v1\n", b"base\n"])
print(built.dockerfile)
for i, diff_id in enumerate(built.diff_ids):
    print(f"layer {i}: {diff_id}")
assert built.diff_ids[0] == built.diff_ids[2]

# %% [markdown] lang="zh"
# ## 用 Docker 25.0.0 保存
#
# 就是读者机器上的那条 `docker save`，由真实的 dockerd 25.0.0 写出归档。

# %% [markdown] lang="en"
# ## Save it with Docker 25.0.0
#
# The same `docker save` a reader runs, answered by the real dockerd 25.0.0.

# %%
saved = lab.save([built.ref], "docker-25.0.0.tar")
print(saved)
with open_archive("docker-25.0.0.tar") as ar:
    print("layout:", ar.layout)
    print("members:", sorted(m for m in ar.members if not m.startswith("blobs/sha256/")))

# %% [markdown] lang="zh"
# ## 对照 OCI 清单和配置
#
# containerd 读 `index.json` → OCI 清单 → `layers`；镜像配置里的 `rootfs.diff_ids`
# 是解包时逐层核对的依据。两边层数不同，问题就已经注定了。

# %% [markdown] lang="en"
# ## The OCI manifest next to the config
#
# containerd reads `index.json` → the OCI manifest → `layers`; the config's `rootfs.diff_ids` is
# what unpacking checks layer by layer. With different counts on the two sides, the import is
# already lost.


# %%
def manifest_and_config(path: str) -> tuple[list[str], list[str]]:
    with open_archive(path) as ar:
        manifest = ar.manifest(ar.index().entries[0].digest)
        config = ar.image_config(manifest.config.digest)
    return [layer.digest for layer in manifest.layers], config.diff_ids


manifest_layers, diff_ids = manifest_and_config("docker-25.0.0.tar")
print(f"OCI manifest layers ({len(manifest_layers)}):", [short(d) for d in manifest_layers])
print(f"config rootfs.diff_ids ({len(diff_ids)}):", [short(d) for d in diff_ids])
assert len(manifest_layers) == len(set(diff_ids)) == 2 and len(diff_ids) == 3

# %% [markdown] lang="zh"
# ## 用 kind 的命令导入
#
# kind 在节点里执行的就是下面这条命令，归档从标准输入传入。

# %% [markdown] lang="en"
# ## Import with kind's command
#
# This is the command kind runs inside the node, with the archive on stdin.

# %%
result = lab.node.load("docker-25.0.0.tar")
print(result.output.rstrip())
print("exit status", result.returncode)
assert result.error == "ctr: mismatched image rootfs and manifest layers"

# %% [markdown] lang="zh"
# ## 25.0.0-beta / rc.1：清单里一层都没有
#
# rc.2
# 之前只列出“外部”层，本地构建的镜像一层也没有（moby#47065）。这次换一个没有重复层的镜像，
# 交给真实的 dockerd 25.0.0-rc.1 保存，照样失败。

# %% [markdown] lang="en"
# ## 25.0.0-beta / rc.1: no layers in the manifest
#
# Before rc.2 only "foreign" layers were listed, so a locally built image got none (moby#47065).
# This time an image without a repeated layer, saved by the real dockerd 25.0.0-rc.1, and it
# fails all the same.

# %%
plain = lab.engine.build("demo/plain:1", [b"one\n", b"two\n"])
print(lab.save([plain.ref], "plain-rc1.tar", as_docker="25.0.0-rc.1"))
rc1_layers, rc1_diff_ids = manifest_and_config("plain-rc1.tar")
print(f"OCI manifest layers: {rc1_layers}; config rootfs.diff_ids: {len(rc1_diff_ids)}")
rc1 = lab.node.load("plain-rc1.tar")
print(rc1.output.rstrip())
assert rc1_layers == [] and rc1.error == "ctr: mismatched image rootfs and manifest layers"

# %% [markdown] lang="zh"
# ## 归档“损坏”了吗？没有：`docker load` 能读
#
# 先从引擎里删掉这个镜像，再把 25.0.0 写出的归档 `docker load` 回同一个 dockerd
# 25.0.0。`docker load`
# 读的是 `manifest.json`，这套元数据是对的。

# %% [markdown] lang="en"
# ## Is the archive "corrupted"? No: `docker load` reads it
#
# Remove the image from the engine, then `docker load` the archive back into the same
# dockerd 25.0.0. `docker load` reads `manifest.json`, and that metadata is right.

# %%
lab.engine.remove(built.ref)
proc.echo("docker load -i docker-25.0.0.tar")
with open("docker-25.0.0.tar", "rb") as fh:
    loaded = lab.engine.client.images.load(fh.read())
print("Loaded image:", ", ".join(tag for img in loaded for tag in img.tags))
reloaded_id = lab.engine.image_id(built.ref)
print("image ID after load:", reloaded_id)
assert reloaded_id == built.image_id

# %% [markdown] lang="zh"
# ## skopeo 也能读
#
# `skopeo inspect docker-archive:` 同样读 `manifest.json`：三层齐全，顺序与配置一致。

# %% [markdown] lang="en"
# ## So does skopeo
#
# `skopeo inspect docker-archive:` reads `manifest.json` too: all three layers, in config order.

# %%
inspected = json.loads(
    proc.run(["skopeo", "inspect", "docker-archive:docker-25.0.0.tar"], timeout=60).stdout
)
print("Layers:", [short(d) for d in inspected["Layers"]])
assert inspected["Layers"] == diff_ids

# %% [markdown] lang="zh"
# ## 结论
#
# - containerd 读的是 OCI 部分，25.0.0 在那里把重复层合并了，所以层数对不上；
# - `manifest.json` 和层文件完好，`docker load`、`skopeo inspect docker-archive:` 读取正常，镜像 ID
#   不变；
# - 所以“归档损坏”的说法不准确：错的只是 `index.json` 指向的那份 OCI 清单，修复归档就是重写它。

# %% [markdown] lang="en"
# ## Conclusion
#
# - containerd reads the OCI part, where 25.0.0 collapsed the repeated layer, so the counts differ;
# - `manifest.json` and the layer files are intact: `docker load` and `skopeo inspect
#   docker-archive:`
#   read them, and the image ID is unchanged;
# - "the archive is corrupted" is therefore inaccurate: only the OCI manifest that `index.json`
#   points to is wrong, and repairing the archive means rewriting it.

# %%
lab.close()
scratch.close()
print("lab closed, work directory removed")
