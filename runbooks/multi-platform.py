# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 多平台镜像与来源证明（attestation）清单
#
# **演示什么**：buildx 默认给推送的镜像附上一份来源证明（provenance attestation），于是即使只构建
# 一个平台，仓库里的也是一个索引：平台清单加一份 `unknown/unknown` 的证明清单。这里用真实的 buildx
# 构建四种镜像（单平台/双平台 × 带证明/`--provenance=false`），由一台全新的 Docker 29 拉取、
# `docker save`（整份保存，以及 `--platform linux/amd64`），再用 kind 的导入命令导入 kind v0.20.0 和
# v0.33.0 的节点。
#
# **需要**：root；实验环境里从源码构建的 dockerd 和 docker CLI 29.8.1、buildx 0.38.2、distribution
# 仓库 3.1.2，以及 kind v0.20.0、v0.33.0 节点里的 containerd（1.7.1、2.3.4）。
#
# **你会看到**：每种镜像在仓库里是清单还是索引、索引里有哪些子清单、归档里缺了哪个；每个归档在两个
# 节点上的结果。

# %% [markdown] lang="en"
# # Multi-platform images and attestation manifests
#
# **What this shows**: buildx attaches a provenance attestation to an image it pushes by default,
# so even a single-platform build lands in the registry as an index: the platform's manifest plus
# an `unknown/unknown` attestation manifest. The real buildx builds four images (one or two
# platforms × with an attestation or `--provenance=false`); a fresh Docker 29 pulls each, runs
# `docker save` (whole, and with `--platform linux/amd64`), and kind's import command loads each
# archive into kind v0.20.0 and v0.33.0 nodes.
#
# **Needs**: root; the lab's dockerd and docker CLI 29.8.1, buildx 0.38.2 and the distribution
# registry 3.1.2, all built from source, and the containerd of kind v0.20.0 and v0.33.0 nodes
# (1.7.1, 2.3.4).
#
# **You will see**: whether each image is a manifest or an index in the registry, which children
# the index lists and which the archive lacks; each archive's outcome on both nodes.

# %%

from runbook_exec import proc
from runbook_exec.archive import Platform, open_archive
from runbook_exec.lab import Engine, Node, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("multi-platform")  # this run's own dir under the lab's temp root
lab = open_target(docker="29.8.1", kind="v0.33.0")
registry = lab.registry()
print(registry.description)
KINDS = ("v0.20.0", "v0.33.0")

# %% [markdown] lang="zh"
# ## 四种构建
#
# 同样两层内容，只改 `--platform` 和 `--provenance`。

# %% [markdown] lang="en"
# ## Four builds
#
# The same two layers each time; only `--platform` and `--provenance` change.

# %%
BUILDS = {
    "one platform, attested": (["linux/amd64"], True),
    "one platform, --provenance=false": (["linux/amd64"], False),
    "two platforms, attested": (["linux/amd64", "linux/arm64"], True),
    "two platforms, --provenance=false": (["linux/amd64", "linux/arm64"], False),
}
refs = {}
for i, (name, (platforms, provenance)) in enumerate(BUILDS.items()):
    refs[name] = f"{registry.host}/demo/build{i}:1"
    with proc.quiet():
        lab.engine.buildx_push(refs[name], [f"{name} 0\n".encode(), b"shared 1\n"],
                               platforms=platforms, provenance=provenance)
    print(f"$ docker buildx build --platform {','.join(platforms)} "
          f"--provenance={'true' if provenance else 'false'} --push -t {refs[name]} .")
    print(f"pushed {refs[name]} ({name})")

# %% [markdown] lang="zh"
# ## 拉取、保存、看归档里有什么
#
# 一台全新的 Docker 29 拉取每个镜像（只拉本机平台），然后保存两次：整份保存（`kind load
# docker-image` 在主机上做的就是这个），以及 `docker save --platform linux/amd64`。

# %% [markdown] lang="en"
# ## Pull, save, look inside
#
# A fresh Docker 29 pulls each image (the host platform only), then saves it twice: whole (what
# `kind load docker-image` does on the host) and with `docker save --platform linux/amd64`.


# %%
def top_level(path: str) -> list[tuple[str, bool]]:
    """(child, present) for the archive's top entry: the index's children, or the manifest."""
    with open_archive(path) as ar:
        top = ar.index().entries[0]
        if "index" not in top.media_type:
            return [("one manifest (no index)", ar.blob(top.digest) is not None)]
        rows = []
        for child in ar.index(top.digest).entries:
            p = child.platform or Platform("None", "None")
            kind = child.annotation("vnd.docker.reference.type")
            label = f"{p.os}/{p.architecture}" + (f" ({kind})" if kind else "")
            rows.append((label, ar.blob(child.digest) is not None))
        return rows


puller = Engine("29.8.1").start()
print(puller.description)
archives: dict[tuple[str, str], str] = {}
for i, (name, ref) in enumerate(refs.items()):
    with proc.quiet():
        puller.pull(ref)
        puller.save([ref], f"whole-{i}.tar")
        puller.cli("save", "--platform", "linux/amd64", "-o", f"amd64-{i}.tar", ref)
    archives[(name, "docker save")] = f"whole-{i}.tar"
    archives[(name, "docker save --platform linux/amd64")] = f"amd64-{i}.tar"
    print(f"{name}:")
    for label, present in top_level(f"whole-{i}.tar"):
        print(f"    {label:38} in archive: {present}")
    print(f"    with --platform linux/amd64: {top_level(f'amd64-{i}.tar')[0][0]}")

# %% [markdown] lang="zh"
# ## 导入两个 kind 版本的节点

# %% [markdown] lang="en"
# ## Into the nodes of two kind releases

# %%
outcomes: dict[tuple[str, str, str], str] = {}
with proc.quiet():
    for kind in KINDS:
        for (name, how), path in archives.items():
            with Node(kind=kind) as node:
                result = node.load(path)
            outcomes[(kind, name, how)] = result.error or "imported"
for name in BUILDS:
    print(f"{name}:")
    for how in ("docker save", "docker save --platform linux/amd64"):
        for kind in KINDS:
            print(f"    {how:36} kind {kind}: {outcomes[(kind, name, how)]}")

# %% [markdown] lang="zh"
# 页面上的结论依赖的几个格：

# %% [markdown] lang="en"
# The cells the page's advice rests on:

# %%
for kind in KINDS:
    # two platforms, one pulled: the whole save lacks arm64 and fails on every node
    assert "content digest" in outcomes[(kind, "two platforms, --provenance=false", "docker save")]
    assert "content digest" in outcomes[(kind, "two platforms, attested", "docker save")]
    # --provenance=false with one platform: a plain manifest, imported everywhere
    for how in ("docker save", "docker save --platform linux/amd64"):
        assert outcomes[(kind, "one platform, --provenance=false", how)] == "imported"
# --platform fixes the multi-platform images on the current node
assert outcomes[("v0.33.0", "two platforms, attested", "docker save --platform linux/amd64")] \
    == "imported"
assert outcomes[("v0.33.0", "two platforms, --provenance=false",
                 "docker save --platform linux/amd64")] == "imported"
# kind v0.20.0's containerd 1.7.1 refuses the per-platform save of an attested image
for name in ("one platform, attested", "two platforms, attested"):
    assert outcomes[("v0.20.0", name, "docker save --platform linux/amd64")] == \
        "ctr: mismatched image rootfs and manifest layers"
print("as the page says")

# %%
puller.close()
lab.close()
scratch.close()
print("lab closed, work directory removed")
