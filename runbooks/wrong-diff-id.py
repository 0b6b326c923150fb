# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 复现 `ctr: wrong diff id calculated on extraction`
#
# **演示什么**：一个 5 层、没有重复层的镜像，由真实的 Docker 25.0.0 保存时，OCI 清单里的层顺序取决于
# Go map 的遍历顺序。顺序被打乱时，kind
# 的导入命令以这句报错结束；顺序碰巧正确时，同一个镜像导入成功。最后演示一个陷阱：
# 节点上已经有这条层链时，打乱顺序的归档也能“导入成功”。
#
# **需要**：root；本项目的实验环境：从源码构建、用 Go 1.21.6 编译的 dockerd 25.0.0（与发布版相同的
# Go，所以 map 的遍历方式也相同），以及 kind v0.20.0 节点里的 containerd
# 1.7.1。每次保存的顺序是随机的，
# 所以这里反复保存，直到各得到一份打乱的和一份顺序正确的归档。
#
# **你会看到**：清单顺序与配置顺序的对照；`apply failure, attempting cleanup` 和最后的 `ctr:`
# 行，其中的摘要正是被放错位置的那一层；以及陷阱里 `done` 的导入。

# %% [markdown] lang="en"
# # Reproducing `ctr: wrong diff id calculated on extraction`
#
# **What this shows**: for a 5-layer image without repeated layers, the real Docker 25.0.0 writes
# the OCI manifest's layers in Go map iteration order. When that order is shuffled, kind's
# import command
# ends with this error; when it happens to be right, the same image imports fine. Finally a trap:
# a node that already has the layer chain "imports" the shuffled archive without complaint.
#
# **Needs**: root and this project's lab: dockerd 25.0.0 built from source with Go 1.21.6 (the
# release's own Go, so the same map iteration), and the containerd 1.7.1 of kind v0.20.0 nodes.
# Each save's order is random, so the runbook saves until it has one shuffled and one in-order
# archive.
#
# **You will see**: manifest order next to config order; the `apply failure, attempting cleanup`
# line and the final `ctr:` line, whose digest is the layer found in the wrong place; and the
# trap's import ending in `done`.

# %%
import os
import re

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import Node, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("wrong-diff-id")  # this run's own dir under the lab's temp root
lab = open_target(docker="25.0.0", kind="v0.20.0")


def short(digest: str) -> str:
    return digest[:19] + "…"


def steady(output: str) -> str:
    """ctr's log line carries a timestamp and a random snapshot key: blank them out."""
    output = re.sub(r'time="[^"]*"', 'time="…"', output)
    return re.sub(r'key="extract-[^"]*"', 'key="extract-…"', output)


# %% [markdown] lang="zh"
# ## 构建一个 5 层的镜像

# %% [markdown] lang="en"
# ## Build a 5-layer image

# %%
built = lab.engine.build("demo/five:1", [f"layer {i}\n".encode() for i in range(5)])
for i, diff_id in enumerate(built.diff_ids):
    print(f"config layer {i}: {short(diff_id)}")

# %% [markdown] lang="zh"
# ## 用 25.0.0 反复保存
#
# 同一个镜像、多次 `docker save`：每次保存，Go 都给新建的 map
# 一个新的随机种子。一直保存到既有一份打乱的、又有一份碰巧顺序正确的归档为止（5
# 层时大约各占一半，见“为什么时好时坏”一页）。

# %% [markdown] lang="en"
# ## Save it with 25.0.0, again and again
#
# Same image, several `docker save` runs: each save fills a new Go map with a fresh random seed.
# Save until there is one shuffled archive and one that happens to come out right (roughly even
# odds at 5 layers; see the page "why it looked intermittent").


# %%
def manifest_layers(path: str) -> list[str]:
    with open_archive(path) as ar:
        manifest = ar.manifest(ar.index().entries[0].digest)
    return [layer.digest for layer in manifest.layers]


config_order = list(built.diff_ids)
found: dict[str, str] = {}
for attempt in range(1, 41):
    path = f"save-{attempt}.tar"
    with proc.quiet():
        lab.save([built.ref], path)
    order = [config_order.index(d) for d in manifest_layers(path)]
    kind = "in-order" if order == list(range(5)) else "shuffled"
    print(f"docker save #{attempt}: OCI manifest layers as config positions {order} ({kind})")
    if kind not in found:
        found[kind] = path
        os.rename(path, f"{kind}.tar")
    else:
        os.remove(path)
    if len(found) == 2:
        break
print(f"(each save: docker save -o save-N.tar {built.ref}, by the real {lab.engine.description})")
shuffled = manifest_layers("shuffled.tar")
assert sorted(shuffled) == sorted(config_order) and shuffled != config_order
assert manifest_layers("in-order.tar") == config_order

# %% [markdown] lang="zh"
# ## 导入打乱的归档
#
# containerd 按清单顺序解包：第一个放错位置的层解出来后，算出的 DiffID
# 与配置里这个位置应有的不同。报错里的摘要就是实际被解包的那一层。

# %% [markdown] lang="en"
# ## Import the shuffled archive
#
# containerd unpacks in manifest order: the first layer out of place yields a DiffID other than
# the one the config expects at that position. The digest in the error is the layer that was
# actually applied.

# %%
result = lab.node.load("shuffled.tar")
print(steady(result.output).rstrip())
first_wrong = next(i for i, (a, b) in enumerate(zip(shuffled, config_order, strict=True)) if a != b)
print(f"first position out of order: {first_wrong}; manifest has {short(shuffled[first_wrong])} "
      f"there, config expects {short(config_order[first_wrong])}")
assert result.error == f'ctr: wrong diff id calculated on extraction "{shuffled[first_wrong]}"'
assert 'level=info msg="apply failure, attempting cleanup"' in result.output

# %% [markdown] lang="zh"
# ## 同一个镜像，另一次保存：成功
#
# 这就是“时好时坏”：镜像没变，只是这次 map 的遍历顺序碰巧与配置一致。

# %% [markdown] lang="en"
# ## Same image, another save: it works
#
# This is the "intermittent" part: the image did not change, the map just happened to iterate
# in config order this time.

# %%
ok = lab.node.load("in-order.tar")
print(ok.output.rstrip())
assert ok.ok and ok.output.rstrip().endswith("done")

# %% [markdown] lang="zh"
# ## 陷阱：节点上已有这条层链时，坏归档也能“导入成功”
#
# 上一步成功后，节点上已经有这个镜像每一层的快照。containerd 解包前先按配置的 DiffID
# 算出层链，快照已存在就跳过解压，根本不看清单里的层顺序。于是同一个打乱的归档这次以 `done`
# 结束。换一台干净的节点（比如 CI 里新建的集群），它又会失败。

# %% [markdown] lang="en"
# ## The trap: with the layer chain present, the broken archive "imports"
#
# After the previous step the node has a snapshot for every layer of this image. Before
# extracting, containerd derives the chain from the config's DiffIDs and skips layers whose
# snapshot exists, never looking at the manifest's order. So the same shuffled archive now
# ends in `done`. A clean node (say, a fresh cluster in CI) fails again.

# %%
again = lab.node.load("shuffled.tar")
print(again.output.rstrip())
assert again.ok
print([(c.ref, c.unpacked) for c in lab.node.check() if c.ref == "docker.io/demo/five:1"])

with Node(kind=lab.node.kind) as clean_node:
    fresh = clean_node.load("shuffled.tar")
print("clean node:", fresh.error)
assert fresh.error.startswith("ctr: wrong diff id calculated on extraction")

# %% [markdown] lang="zh"
# ## 报错里引用的是哪个摘要：各个 containerd 不一样
#
# 同一份打乱的归档，分别导入 kind v0.27.0、v0.30.0、v0.33.0 的干净节点
# （containerd 2.0.2、2.1.4、2.3.4）。对照第一个放错位置的层：1.x 引用的是实际解出来的那一层的
# DiffID，2.0/2.1 引用的是配置在这个位置期望的 DiffID；2.3 两个都给出（先是解出来的，再是期望的），
# 外加层 blob 的摘要（Docker 的层不压缩，它就是解出来的 DiffID）。

# %% [markdown] lang="en"
# ## Which digest the error quotes: it depends on the containerd
#
# The same shuffled archive, into clean nodes of kind v0.27.0, v0.30.0 and v0.33.0 (containerd
# 2.0.2, 2.1.4, 2.3.4). Against the first layer out of place: 1.x quotes the DiffID of the layer
# actually extracted, 2.0/2.1 the DiffID the config expects at that position; 2.3 both (the
# extracted one first, then the expected one), plus the digest of the layer blob (for Docker's
# uncompressed layers that is the extracted DiffID again).

# %%
print(f"position {first_wrong}: config expects {short(config_order[first_wrong])}, "
      f"manifest has {short(shuffled[first_wrong])}")


def roles(digests: list[str]) -> list[str]:
    """Name each quoted digest: the DiffID the config expects or the one extracted there.

    One digest: at the first position out of order (1.x and 2.0/2.1 unpack in order). Two:
    at whichever position they are the pair of (2.2+ unpacks layers in parallel)."""
    if len(digests) == 1:
        pairs = [(config_order[first_wrong], shuffled[first_wrong])]
    else:
        pairs = [(w, g) for w, g in zip(config_order, shuffled, strict=True)
                 if w != g and {w, g} == set(digests[:2])]
    want, got = pairs[0]
    return ["expected" if d == want else "extracted" if d == got else "?" for d in digests[:2]]


quoted: dict[str, list[str]] = {}
for kind in ("v0.20.0", "v0.27.0", "v0.30.0", "v0.33.0"):
    with proc.quiet(), Node(kind=kind) as node:
        error = node.load("shuffled.tar").error
        version = node.containerd_version
    quoted[version] = roles(re.findall(r"sha256:[0-9a-f]{64}", error))
    print(f"containerd {version} (kind {kind}): quotes {', '.join(quoted[version])}")
    print(f"    {error}")
assert quoted["1.7.1"] == ["extracted"]
assert quoted["2.0.2"] == ["expected"] and quoted["2.1.4"] == ["expected"]
assert quoted["2.3.4"] == ["extracted", "expected"]

# %% [markdown] lang="zh"
# ## 结论
#
# - 25.0.0 写出的层都在，内容也对，只是 OCI 清单里的顺序错了；containerd 按清单顺序解包，于是报
#   `wrong diff id calculated on extraction`，摘要指向被放错位置的那一层；
# - 同一个镜像多保存几次，可能有一次成功，这不是修复；
# - 节点上已有层链时坏归档会“导入成功”，在干净的节点上照样失败：判断归档好坏，要用干净的节点或
#   doctor。

# %% [markdown] lang="en"
# ## Conclusion
#
# - Every layer 25.0.0 wrote is there and correct; only their order in the OCI manifest is wrong.
#   containerd unpacks in manifest order and reports `wrong diff id calculated on extraction`,
#   naming the layer found in the wrong place;
# - saving the same image again may succeed once in a while; that is not a fix;
# - a node that already has the chain "imports" the broken archive, a clean node still fails:
#   judge an archive on a clean node or with the doctor.

# %%
lab.close()
scratch.close()
print("lab closed, work directory removed")
