# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 兼容性矩阵：每个 Docker 版本 × 每种镜像形态 × 每个读取方
#
# 这个运行手册把矩阵里的每一格都真实执行一遍。行是从源码构建的真实 dockerd（24.0.7、25.0.0-rc.1、
# 25.0.0…25.0.3、29.8.1 的 containerd 镜像存储、29.8.1 加 `docker save --platform`、29.8.1 关掉
# containerd 镜像存储）；列是镜像形态（本地构建的 1、5、12 层，带重复层的 5 层，
# 以及从实验环境的仓库拉取的：
# 按摘要保存、只拉到本机平台的多平台镜像、带来源证明的镜像）；读取方是五个 kind 版本节点里的
# containerd
# （kind 的原样命令）、`docker load`（Docker 25.0.3）和 skopeo 的 `docker-archive:` 读取。
#
# 需要：root、skopeo；实验环境里从源码构建的全部引擎。每个 Docker 版本、每个 kind
# 版本用一个全新的节点，
# 避免上一个单元格留下的快照影响下一个。Docker 25.0.0 的层顺序是随机的：这一行每种形态都保存
# 16 次（`@sha256` 列只保存一次），只要有一份顺序被打乱就用打乱的那份，并注明 16 次里打乱了几次。
#
# 你会看到：每个读取方一张表（✓ / ✗，鼠标悬停看报错），表下是报错信息的编号列表；逐格结果
# 同时作为这个笔记本的一个 JSON 输出保存，测试就读它。

# %% [markdown] lang="en"
# # Compatibility matrix: every Docker release × every image shape × every reader
#
# This runbook executes every cell of the matrix. Rows are real dockerd builds from source
# (24.0.7, 25.0.0-rc.1, 25.0.0 … 25.0.3, 29.8.1 with the containerd image store, 29.8.1 with
# `docker save --platform`, 29.8.1 with the containerd image store off); columns are image
# shapes (built locally with 1, 5 and 12 layers, 5 layers with one repeated, and pulled from the
# lab's registry: saved by digest, a multi-platform image with only the host platform pulled, an
# image with a provenance attestation); readers are the containerd of five kind releases' nodes
# (kind's exact command), `docker load` (Docker 25.0.3) and skopeo's `docker-archive:` reader.
#
# Needs: root, skopeo, and every engine of the lab built from source. Each Docker release and
# kind release gets a fresh node, so snapshots left by one cell cannot help the next. Docker
# 25.0.0's layer order is random: its row saves each shape 16 times (the `@sha256` column
# once), uses a shuffled archive whenever one of them is shuffled, and notes how many of the 16
# were shuffled.
#
# You will see one table per reader (✓ / ✗, hover for the error), a numbered list of the exact
# errors below them; the same result, cell by cell, is kept as a JSON output of this notebook,
# which is what the tests read.

# %%
import re
import shutil
import time
from pathlib import Path
from typing import Any

from IPython.display import Markdown, display

from runbook_exec import proc
from runbook_exec.archive import open_archive
from runbook_exec.lab import Engine, Node, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("matrix")  # this run's own dir under the lab's temp root
work = Path("matrix-work")  # relative: the runbook runs in its own scratch directory
work.mkdir(exist_ok=True)
ROWS = ["24.0.7", "25.0.0-rc.1", "25.0.0", "25.0.1", "25.0.2", "25.0.3", "29.8.1",
        "29.8.1 --platform", "29.8.1 graphdriver"]
LOCAL = {  # column -> layer contents of an image each engine builds itself
    "1": [b"s1-0"],
    "5": [b"s5-%d" % i for i in range(5)],
    "12": [b"s12-%d" % i for i in range(12)],
    "5+dup": [b"sd-0", b"sd-1", b"sd-0", b"sd-2", b"sd-3"],
}
PULLED = ["@sha256", "pulled multi-arch", "pulled attested"]
SHAPES = [*LOCAL, *PULLED]
KINDS = ["v0.20.0", "v0.26.0", "v0.27.0", "v0.30.0", "v0.33.0"]
READERS = [f"kind {k}" for k in KINDS] + ["docker load (25.0.3)", "skopeo docker-archive:"]
SAVES_25_0_0 = 16

# %% [markdown] lang="zh"
# 先把三种“拉取的”镜像推送到实验环境的仓库：buildx 在 Docker 29 上构建一个单平台镜像（按摘要保存用）
# 、
# 一个 `linux/amd64` + `linux/arm64` 的镜像，以及一个带来源证明的镜像。

# %% [markdown] lang="en"
# First push the three "pulled" images to the lab's registry: buildx on Docker 29 builds a
# single-platform image (for the save by digest), a `linux/amd64` + `linux/arm64` image, and one
# with a provenance attestation.

# %%
lab = open_target(docker="29.8.1", kind="v0.33.0",
                  sandbox_only="the matrix compares nine Docker releases on the containerd of "
                  "five kind releases")
registry = lab.registry()
print(registry.description)
remote = {"@sha256": f"{registry.host}/matrix/digest:v1",
          "pulled multi-arch": f"{registry.host}/matrix/multi:v1",
          "pulled attested": f"{registry.host}/matrix/attested:v1"}
with proc.quiet():
    lab.engine.buildx_push(remote["@sha256"], [b"sg-%d" % i for i in range(5)],
                           platforms=["linux/amd64"], provenance=False)
    lab.engine.buildx_push(remote["pulled multi-arch"], [b"sm-%d" % i for i in range(5)],
                           platforms=["linux/amd64", "linux/arm64"], provenance=False)
    lab.engine.buildx_push(remote["pulled attested"], [b"sa-%d" % i for i in range(5)],
                           platforms=["linux/amd64"], provenance=True)
for shape, ref in remote.items():
    print(f"{shape:18} {ref}")


# %% [markdown] lang="zh"
# 每一行：启动那个版本的 dockerd，构建本地形态的镜像、拉取另外三种，然后 `docker save`。25.0.0
# 这一行按上面说的反复保存。

# %% [markdown] lang="en"
# Each row: start that release's dockerd, build the local shapes, pull the other three, then
# `docker save`. The 25.0.0 row saves repeatedly as described above.

# %%
def engine_for(row: str) -> Engine:
    version = row.split(" ")[0]
    return Engine(version, containerd_store=False if row.endswith("graphdriver") else None)


def in_config_order(path: Path) -> bool:
    """Whether every OCI manifest in the archive lists its config's diff_ids in order."""
    with open_archive(path) as ar:
        if "index.json" not in ar.members:
            return True
        for entry in ar.index().entries:
            if entry.is_index:
                continue
            manifest = ar.manifest(entry.digest)
            config = ar.image_config(manifest.config.digest)
            if [m.digest for m in manifest.layers] != config.diff_ids:
                return False
    return True


def save_row(row: str, engine: Engine) -> dict[str, tuple[Path, str]]:
    """shape -> (archive, note) for one row."""
    out: dict[str, tuple[Path, str]] = {}
    refs = {}
    for shape, layers in LOCAL.items():
        refs[shape] = engine.build(f"matrix-{shape.replace('+', '-')}:v1", layers).ref
    for shape, ref in remote.items():
        digest_ref = engine.pull(ref)
        refs[shape] = digest_ref if shape == "@sha256" else ref
    for shape, ref in refs.items():
        path = work / f"{row.replace(' ', '_')}-{shape.replace(' ', '_')}.tar"
        args = ["--platform", "linux/amd64"] if row.endswith("--platform") else []
        note = ""
        tries = SAVES_25_0_0 if row == "25.0.0" and shape != "@sha256" else 1
        shuffled = 0
        for attempt in range(tries):
            candidate = path.with_suffix(f".{attempt}.tar")
            engine.cli("save", *args, "-o", str(candidate), ref)
            if in_config_order(candidate):
                if not path.exists():
                    candidate.rename(path)
                else:
                    candidate.unlink()
            else:
                shuffled += 1
                candidate.replace(path)  # a shuffled one wins: it shows the failure mode
        if tries > 1:
            note = f"{shuffled}/{tries} saves shuffled"
        out[shape] = (path, note)
    return out


began = time.monotonic()
archives: dict[str, dict[str, tuple[Path, str]]] = {}
with proc.quiet():
    for row in ROWS:
        with engine_for(row) as engine:
            archives[row] = save_row(row, engine)
        print(f"{row:20} saved {len(archives[row])} archives "
              f"({engine.description})")
print(f"saving took {time.monotonic() - began:.0f} s")

# %% [markdown] lang="zh"
# 读取方。kind 的导入用节点的 `load()`（kind 的原命令），每个 kind 版本、每一行用一个全新的节点；
# `docker load` 载入一个 Docker 25.0.3 引擎，之后删掉载入的镜像；skopeo 先 `inspect`、再把归档
# `copy`
# 到一个目录，两步都成功才算 ✓。

# %% [markdown] lang="en"
# The readers. kind's import is the node's `load()` (kind's exact command), on a fresh node per
# kind release and row; `docker load` goes into a Docker 25.0.3 engine, which then removes what
# it loaded; skopeo runs `inspect`, then `copy` of the archive into a directory, and only both
# succeeding counts as ✓.

# %%
def last_error(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else "(no output)"
    match = re.search(r'level=\w+ msg="(.*)"$', line)  # skopeo/logrus: drop the timestamp
    return match.group(1).replace('\\"', '"') if match else line


def read_with_docker(loader: Engine, path: Path) -> tuple[bool, str]:
    res = loader.cli("load", "-i", str(path), check=False, timeout=120)
    for image in loader.client.images.list(all=True):
        loader.client.images.remove(image.id, force=True)
    return res.ok, "" if res.ok else last_error(res.output)


def read_with_skopeo(path: Path) -> tuple[bool, str]:
    for argv in (["skopeo", "inspect", f"docker-archive:{path}"],
                 ["skopeo", "copy", "-q", f"docker-archive:{path}", f"dir:{work / 'skopeo-out'}"]):
        res = proc.run(argv, timeout=120, check=False, echo=False, merge_stderr=True)
        shutil.rmtree(work / "skopeo-out", ignore_errors=True)
        if not res.ok:
            return False, last_error(res.output)
    return True, ""


print("each cell runs, for ARCHIVE saved by the row's dockerd:")
print("$ ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -"
      " < ARCHIVE    (in a fresh node of each kind release)")
print("$ docker load -i ARCHIVE    (Docker 25.0.3)")
print("$ skopeo inspect docker-archive:ARCHIVE && skopeo copy docker-archive:ARCHIVE dir:OUT")
cells = []
with proc.quiet(), Engine("25.0.3") as loader:
    for row in ROWS:
        results: dict[tuple[str, str], tuple[bool, str]] = {}
        for kind in KINDS:
            with Node(kind=kind) as node:
                for shape in SHAPES:
                    res = node.load(archives[row][shape][0])
                    results[(shape, f"kind {kind}")] = (res.ok, res.error)
        for shape in SHAPES:
            path, note = archives[row][shape]
            results[(shape, READERS[-2])] = read_with_docker(loader, path)
            results[(shape, READERS[-1])] = read_with_skopeo(path)
            for reader in READERS:
                ok, error = results[(shape, reader)]
                cells.append({"row": row, "shape": shape, "reader": reader,
                              "outcome": "ok" if ok else "fail", "error": error, "note": note})
        mine = [c for c in cells if c["row"] == row]
        print(f"{row:20} ok {sum(c['outcome'] == 'ok' for c in mine):2}  "
              f"fail {sum(c['outcome'] == 'fail' for c in mine):2}")
elapsed = time.monotonic() - began
print(f"{len(cells)} cells")

# %% [markdown] lang="zh"
# 机器可读的结果作为这个单元格的 JSON 输出保存在执行过的 notebook 里（测试读取它）。
# 报错里的摘要值（`sha256:…`）、
# 日期和仓库端口在表格里被归一化。

# %% [markdown] lang="en"
# The machine-readable result is this cell's JSON output in the executed notebook (the tests read
# it). Digests (`sha256:…`), dates and the registry's port are normalised for the table.

# %%
def normalise(error: str) -> str:
    error = re.sub(r"sha256:[0-9a-f]{64}", "sha256:…", error)
    error = re.sub(r"import-\d{4}-\d{2}-\d{2}", "import-DATE", error)
    error = re.sub(r"127\.0\.0\.1:\d+", "REGISTRY", error)
    return re.sub(r"(/[\w.+-]+)+/([\w.+-]+\.tar)", r"\2", error)  # temp paths -> file name


for cell in cells:
    cell["normalised"] = normalise(cell["error"]) if cell["outcome"] == "fail" else ""
display({"application/json": {"cells": [{k: c[k] for k in ("row", "shape", "reader", "outcome",
                                                          "normalised", "note")} for c in cells]}},
        raw=True)

# %% [markdown] lang="zh"
# 生成表格。每个读取方一张；✗ 后面的编号对应表下的报错信息，鼠标悬停也能看到。

# %% [markdown] lang="en"
# Render the tables, one per reader; the number after ✗ points to the exact error listed
# below them, also shown on hover.

# %%
def html_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("|", "&#124;"))


errors: dict[str, int] = {}
for cell in cells:
    if cell["outcome"] == "fail":
        errors.setdefault(cell["normalised"], len(errors) + 1)


def mark(cell: dict[str, Any]) -> str:
    note = f" ({cell['note']})" if cell["note"] else ""
    if cell["outcome"] == "ok":
        return f'<span title="{html_escape(note.strip())}">✓</span>' if note else "✓"
    n = errors[cell["normalised"]]
    return f'<span title="{html_escape(cell["normalised"] + note)}">✗ E{n}</span>'


lines = []
for reader in READERS:
    lines += [f"**{reader}**", "", "| Docker | " + " | ".join(f"`{s}`" for s in SHAPES) + " |",
              "|---|" + "---|" * len(SHAPES)]
    for row in ROWS:
        marks = [mark(c) for s in SHAPES for c in cells
                 if c["row"] == row and c["shape"] == s and c["reader"] == reader]
        lines.append(f"| `{row}` | " + " | ".join(marks) + " |")
    lines.append("")
lines += [f"- **E{n}** `{text}`" for text, n in errors.items()]
notes = {c["shape"]: c["note"] for c in cells if c["row"] == "25.0.0" and c["note"]}
lines += ["- 25.0.0: " + "; ".join(f"`{s}` {n}" for s, n in notes.items())]
display(Markdown("\n".join(lines)))

# %% [markdown] lang="zh"
# 关键结论用断言固定下来：行为一旦变化，这个运行手册就会失败。

# %% [markdown] lang="en"
# The key facts, as assertions: if behaviour changes, this runbook fails.

# %%
def outcome(row: str, shape: str, reader: str) -> str:
    (cell,) = [c for c in cells if (c["row"], c["shape"], c["reader"]) == (row, shape, reader)]
    return cell["outcome"] if cell["outcome"] != "fail" else cell["normalised"]


OLD, NEW = "kind v0.20.0", "kind v0.33.0"
M = "ctr: mismatched image rootfs and manifest layers"
assert outcome("24.0.7", "5+dup", OLD) == "ok"
assert outcome("25.0.0-rc.1", "1", OLD) == M
assert outcome("25.0.0", "5+dup", OLD) == M
assert outcome("25.0.0", "1", OLD) == "ok"
assert outcome("25.0.1", "@sha256", OLD) == "ctr: image might be filtered out"
assert outcome("25.0.3", "@sha256", OLD) == "ok"
assert outcome("29.8.1", "pulled multi-arch", NEW) == "ctr: content digest sha256:…: not found"
assert outcome("29.8.1", "5", NEW) == "ok"  # a locally built image has all its content
assert outcome("29.8.1 --platform", "pulled multi-arch", NEW) == "ok"
assert outcome("29.8.1 graphdriver", "pulled multi-arch", NEW) == "ok"
print(f"matrix executed in {elapsed:.0f} s")

# %%
lab.close()
scratch.close()
