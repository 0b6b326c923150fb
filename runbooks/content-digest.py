# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 复现 `ctr: content digest …: not found`（Docker 29 的 containerd 镜像存储）
#
# **演示什么**：全新安装的 Docker Engine 29 使用 containerd 镜像存储。它的 `docker save`
# 把镜像的索引原样导出，但跳过从未拉取过的内容；kind 的 `--all-platforms` 让 ctr
# 逐个读取索引里的每个清单，缺了就报这句错。这里用真实的 Docker 29 测三种镜像：
# 本地构建的单平台镜像、
# 从仓库拉取的多平台镜像（只拉到本机平台）、带 buildx 来源证明（provenance attestation）
# 的单平台镜像；
# 每个归档都导入五个 kind 版本的节点，记录各自的报错信息。
#
# **需要**：root；实验环境里从源码构建的 dockerd 29.8.1 和 docker CLI 29.8.1、buildx 0.38.2、
# distribution 仓库 3.1.2，以及 kind v0.20.0、v0.26.0、v0.27.0、v0.30.0、v0.33.0 节点各自的
# containerd（1.7.1、1.7.24、2.0.2、2.1.4、2.3.4）。
#
# **你会看到**：本地构建的镜像在每个节点上都导入成功；只拉到一个平台的多平台镜像在每个节点上都失败，
# 报错信息按 containerd 版本列出；带来源证明的镜像是否失败，取决于拉取时证明清单有没有一起拉下来，
# 这里如实记录 Docker 29.8.1 的结果。失败后节点上不留记录。

# %% [markdown] lang="en"
# # Reproducing `ctr: content digest …: not found` (Docker 29's containerd image store)
#
# **What this shows**: a fresh Docker Engine 29 install uses the containerd image store. Its
# `docker save` exports an image's index as it is but skips content that was never pulled;
# kind's `--all-platforms` makes ctr read every manifest the index lists, and a missing one ends
# the import with this error. The real Docker 29 is tried on three images: one built locally
# (single platform), a multi-platform image pulled from a registry (only the host platform
# arrives), and a single-platform image carrying a buildx provenance attestation. Each archive
# goes into the nodes of five kind releases, and each node's exact error is recorded.
#
# **Needs**: root; the lab's dockerd 29.8.1 and docker CLI 29.8.1, buildx 0.38.2 and the
# distribution registry 3.1.2, all built from source, and the containerd of kind v0.20.0,
# v0.26.0, v0.27.0, v0.30.0 and v0.33.0 nodes (1.7.1, 1.7.24, 2.0.2, 2.1.4, 2.3.4).
#
# **You will see**: the locally built image imports on every node; the multi-platform image with
# one platform pulled fails on every node, with the exact wording per containerd release; whether
# the attested image fails depends on whether the pull brought its attestation manifest along,
# and what Docker 29.8.1 does is recorded here. No record is left after a failure.

# %%

from runbook_exec import proc
from runbook_exec.archive import Platform, open_archive
from runbook_exec.lab import Engine, Node, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("content-digest")  # this run's own dir under the lab's temp root
lab = open_target(docker="29.8.1", kind="v0.33.0")
registry = lab.registry()
print(registry.description)
KINDS = ("v0.20.0", "v0.26.0", "v0.27.0", "v0.30.0", "v0.33.0")

# %% [markdown] lang="zh"
# ## 三种镜像
#
# 本地构建的镜像直接由 Docker 29 构建；另外两种由 buildx 构建并推送到实验环境的仓库，
# 再由另一个全新的
# Docker 29（没有这些镜像的任何内容）拉取，就像读者从 Docker Hub 拉取一样。

# %% [markdown] lang="en"
# ## Three images
#
# The local image is built by Docker 29 itself; the other two are built by buildx and pushed to
# the lab's registry, then pulled by a second, fresh Docker 29 that holds none of their content,
# as a reader pulls from Docker Hub.

# %%
local = lab.engine.build("demo/local:1", [b"local 0\n", b"local 1\n"])
multi_ref = f"{registry.host}/demo/multi:1"
attested_ref = f"{registry.host}/demo/attested:1"
with proc.quiet():
    lab.engine.buildx_push(multi_ref, [b"multi 0\n", b"multi 1\n"],
                           platforms=["linux/amd64", "linux/arm64"], provenance=False)
    lab.engine.buildx_push(attested_ref, [b"attested 0\n"], platforms=["linux/amd64"],
                           provenance=True)
print(f"$ docker buildx build --platform linux/amd64,linux/arm64 --provenance=false --push "
      f"-t {multi_ref} .")
print(f"$ docker buildx build --platform linux/amd64 --provenance=true --push -t {attested_ref} .")

puller = Engine("29.8.1").start()
print("second engine:", puller.description)
for ref in (multi_ref, attested_ref):
    puller.pull(ref)
saved = [lab.engine.save([local.ref], "local.tar"), puller.save([multi_ref], "multi.tar"),
         puller.save([attested_ref], "attested.tar")]
print("archives written:", ", ".join(f"{a} ({a.stat().st_size:,} bytes)" for a in saved))

# %% [markdown] lang="zh"
# ## 归档里有什么、缺什么
#
# 顶层索引列出的每个清单，归档里是否真有它的内容：

# %% [markdown] lang="en"
# ## What each archive holds and lacks
#
# For every manifest the top index lists, whether the archive holds its content:


# %%
def children(path: str) -> list[tuple[str, str, bool]]:
    """(platform, digest, present) for each manifest of the first index entry."""
    with open_archive(path) as ar:
        top = ar.index().entries[0]
        if "index" not in top.media_type:
            return [("(single manifest)", top.digest, ar.blob(top.digest) is not None)]
        rows = []
        for child in ar.index(top.digest).entries:
            p = child.platform or Platform("None", "None")
            kind = child.annotation("vnd.docker.reference.type")
            name = f"{p.os}/{p.architecture}" + (f" ({kind})" if kind else "")
            rows.append((name, child.digest, ar.blob(child.digest) is not None))
        return rows


contents = {name: children(f"{name}.tar") for name in ("local", "multi", "attested")}
for name, rows in contents.items():
    for platform, digest, present in rows:
        print(f"{name + '.tar':13} {platform:40} {digest[:19]}… in archive: {present}")
complete = {name: all(present for _, _, present in rows) for name, rows in contents.items()}
assert complete["local"] and not complete["multi"]

# %% [markdown] lang="zh"
# ## 导入每个 kind 版本的节点
#
# 每个归档、每个节点都用 kind 的原样命令导入一台全新的节点：

# %% [markdown] lang="en"
# ## Into the node of each kind release
#
# Each archive goes into a fresh node of each release, with kind's exact command:

# %%
outcomes: dict[tuple[str, str], str] = {}
with proc.quiet():
    for kind in KINDS:
        for name in ("local", "multi", "attested"):
            with Node(kind=kind) as node:
                result = node.load(f"{name}.tar")
                left = [r.ref for r in node.images()]
                version = node.containerd_version
            outcomes[(kind, name)] = result.error or "imported"
            # the contract: an import fails exactly when a listed manifest is missing, naming it
            assert result.ok == complete[name], (kind, name, result.error)
            if not result.ok:
                missing = next(d for _, d, present in contents[name] if not present)
                assert missing in result.error and left == [], (kind, name, result.error, left)
for kind in KINDS:
    print(f"kind {kind} (containerd {Node(kind=kind).containerd_version}):")
    for name in ("local", "multi", "attested"):
        print(f"  {name + '.tar':13} {outcomes[(kind, name)]}")
assert all(outcomes[(k, "local")] == "imported" for k in KINDS)
assert all(outcomes[(k, "multi")] != "imported" for k in KINDS)

# %% [markdown] lang="zh"
# ## 各个 containerd 的报错措辞
#
# 同一个缺失的清单，不同版本的 ctr 说法不同：

# %% [markdown] lang="en"
# ## The wording of each containerd
#
# The same missing manifest, in each release's words:

# %%
wordings: dict[str, list[str]] = {}
for kind in KINDS:
    text = outcomes[(kind, "multi")].replace(contents["multi"][1][1], "sha256:<digest>")
    wordings.setdefault(text, []).append(f"{kind} ({Node(kind=kind).containerd_version})")
for text, where in wordings.items():
    print(f"{text}\n    kind {', '.join(where)}")

# %%
puller.close()
lab.close()
scratch.close()
print("lab closed, work directory removed")
