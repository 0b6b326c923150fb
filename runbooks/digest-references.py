# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 按摘要引用镜像：`kind load docker-image NAME@sha256:…`
#
# **演示什么**：两个从仓库拉取的镜像，按摘要（`NAME@sha256:…`）交给 `docker save`，就像
# `kind load docker-image a@sha256:… b@sha256:…` 那样一次保存两个。真实的 Docker 25.0.3 和 29.8.1
# 各保存一次，看 `index.json` 里有几条、节点上得到哪些记录、节点的 CRI 能否按摘要或名字找到镜像；
# 再试两种绕过办法：每个摘要单独保存，以及先打标签再按标签保存。
#
# **需要**：root；实验环境里从源码构建的 dockerd 25.0.3 和 29.8.1（各带同版本的 docker CLI）、
# distribution 仓库 3.1.2，以及 kind v0.33.0 节点里的 containerd 2.3.4 和 crictl。
#
# **你会看到**：25.0.3 一次保存两个摘要时只写出一条索引项，29.8.1 写出两条；按摘要保存的归档在节点上
# 没有名字；两种绕过办法都让两个镜像进入节点。

# %% [markdown] lang="en"
# # Image references by digest: `kind load docker-image NAME@sha256:…`
#
# **What this shows**: two images pulled from a registry, handed to `docker save` by digest
# (`NAME@sha256:…`) in one save, as `kind load docker-image a@sha256:… b@sha256:…` does. The
# real Docker 25.0.3 and 29.8.1 each save once: how many `index.json` entries, which records the
# node gets, and whether the node's CRI finds the images by digest or by name. Then two ways
# around it: one save per digest, and tagging first, then saving by tag.
#
# **Needs**: root; the lab's dockerd 25.0.3 and 29.8.1 (each with the docker CLI of its release)
# and the distribution registry 3.1.2, all built from source, and the containerd 2.3.4 and crictl
# of kind v0.33.0 nodes.
#
# **You will see**: 25.0.3 writes one index entry for two digests in one save, 29.8.1 writes two;
# an archive saved by digest gives the node no name; both ways around it bring both images in.

# %%
import re

from runbook_exec import proc
from runbook_exec.archive import Descriptor, open_archive
from runbook_exec.lab import Engine, Node, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("digest-references")  # this run's own dir under the lab's temp root
lab = open_target(docker="25.0.3", kind="v0.33.0")
registry = lab.registry()
print(registry.description)


def index_entries(path: str) -> list[Descriptor]:
    with open_archive(path) as ar:
        return ar.index().entries


def steady(ref: str) -> str:
    return re.sub(r"import-\d{4}-\d{2}-\d{2}", "import-<date>", ref)


# %% [markdown] lang="zh"
# ## 两个镜像，推送到仓库
#
# 按摘要引用的前提是镜像有仓库摘要，也就是从仓库拉取过。两个镜像由 25.0.3 构建并推送到实验环境的
# 仓库，之后每个 Docker 版本都从仓库拉取它们。

# %% [markdown] lang="en"
# ## Two images, pushed to a registry
#
# A reference by digest needs a repo digest, i.e. an image pulled from a registry. Both images
# are built by 25.0.3 and pushed to the lab's registry; each Docker release then pulls them.

# %%
with proc.quiet():
    remotes = [lab.engine.push(lab.engine.build(name, layers).ref, registry.host)
               for name, layers in (("demo/api:1", [b"api 0\n", b"api 1\n"]),
                                    ("demo/worker:1", [b"worker 0\n"]))]
print("\n".join(remotes))

# %% [markdown] lang="zh"
# ## 一次保存两个摘要
#
# `kind load docker-image a@sha256:… b@sha256:…` 在主机上只执行一次 `docker save`，两个引用都在这
# 一条命令里。每个 Docker 版本拉取两个镜像、保存一次，再导入一个干净的 kind v0.33.0 节点。

# %% [markdown] lang="en"
# ## Two digests in one save
#
# `kind load docker-image a@sha256:… b@sha256:…` runs one `docker save` on the host with both
# references. Each Docker release pulls both images, saves once, and the archive goes into a
# clean kind v0.33.0 node.

# %%
# image IDs as the node's CRI plugin names them: the config digests (what 25.0.3 calls the ID)
ids = {lab.engine.image_id(ref) for ref in remotes}
engines = {release: Engine(release).start() for release in ("25.0.3", "29.8.1")}
digests: dict[str, list[str]] = {}
one_save: dict[str, tuple[int, int]] = {}
for release, engine in engines.items():
    print(f"--- {engine.description}")
    digests[release] = [engine.pull(ref) for ref in remotes]
    engine.save(digests[release], "two.tar")
    entries = index_entries("two.tar")
    with proc.quiet(), Node(kind="v0.33.0") as node:
        result = node.load("two.tar")
        records = [steady(r.ref) for r in node.images()]
        # the CRI plugin names each image it holds by its ID: which of the two arrived
        arrived = len(ids & {r.ref for r in node.images()})
    one_save[release] = (len(entries), arrived)
    print(f"index.json entries: {len(entries)}; import: {result.error or 'ok'}")
    print(f"records on the node ({arrived} of 2 images):", *records, sep="\n    ")
assert one_save["29.8.1"] == (2, 2)
assert one_save["25.0.3"] == (1, 1)  # moby#51389

# %% [markdown] lang="zh"
# ## 节点按摘要或名字能找到镜像吗
#
# 按摘要保存的归档里没有名字（`index.json` 里只有摘要），节点上只有 `import-<日期>@sha256:…`
# 这样的记录。kubelet 通过 CRI 问镜像在不在（这里用 `crictl inspecti` 问同一个问题）：按 Pod 里写的
# `NAME@sha256:…` 问，和按标签问。

# %% [markdown] lang="en"
# ## Does the node find the image by digest or by name?
#
# An archive saved by digest carries no name (`index.json` holds only digests), so the node gets
# only records like `import-<date>@sha256:…`. The kubelet asks CRI whether the image is there
# (`crictl inspecti` asks the same question): by the `NAME@sha256:…` a Pod spec would use, and by
# tag.

# %%
engine = engines["29.8.1"]
first = digests["29.8.1"][0]
engine.save([first], "one.tar")
with Node(kind="v0.33.0") as node:
    node.load("one.tar")
    print("records:", *[steady(r.ref) for r in node.images()], sep="\n    ")
    by_digest = node.kubelet_view(first)
    by_tag = node.kubelet_view(remotes[0])
print(by_digest)
print(by_tag)
assert not by_digest.present and not by_tag.present

# %% [markdown] lang="zh"
# ## 绕过办法一：每个摘要单独保存
#
# 每个镜像各执行一次 `kind load docker-image NAME@sha256:…`，每次只保存一个摘要。

# %% [markdown] lang="en"
# ## Way around 1: one save per digest
#
# One `kind load docker-image NAME@sha256:…` per image, so each save holds one digest.

# %%
engine = engines["25.0.3"]
with Node(kind="v0.33.0") as node:
    for i, ref in enumerate(digests["25.0.3"]):
        engine.save([ref], f"single-{i}.tar")
        assert node.load(f"single-{i}.tar").ok
    separately = len(ids & {r.ref for r in node.images()})
print(f"25.0.3, one save per digest: {separately} of 2 images on the node")
assert separately == 2

# %% [markdown] lang="zh"
# ## 绕过办法二：先打标签，再按标签加载
#
# 给每个摘要打一个固定的标签，再按标签保存。归档里有了名字，节点按名字就能找到镜像，
# 而标签指向的仍是同一个摘要。

# %% [markdown] lang="en"
# ## Way around 2: tag first, load by tag
#
# Give each digest a fixed tag and save by tag. The archive now carries names, the node finds the
# images by name, and each tag still points at the same digest.

# %%
tags = [f"demo/{name}:pinned" for name in ("api", "worker")]
for ref, tag in zip(digests["25.0.3"], tags, strict=True):
    engine.cli("tag", ref, tag)
engine.save(tags, "tagged.tar")
with Node(kind="v0.33.0") as node:
    assert node.load("tagged.tar").ok
    views = [node.kubelet_view(tag) for tag in tags]
for view in views:
    print(view)
assert all(view.present for view in views)

# %%
for engine in engines.values():
    engine.close()
lab.close()
scratch.close()
print("lab closed, work directory removed")
