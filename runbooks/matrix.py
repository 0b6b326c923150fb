# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 兼容性矩阵：每个 Docker 版本 × 每种镜像形态 × 每个读取方
#
# 这个运行手册把矩阵里的每一格都真实执行一遍：用实验环境的 Docker 引擎构建几种形态的镜像，按各个
# Docker 版本的 `docker save` 写出归档，再分别交给三个读取方——kind 节点里的 `ctr images
# import`（kind 的原命令）、实验环境的 `docker load`（dockerd 20.10）、skopeo 的 `docker-archive:`
# 读取——记录成功与否和报错原文。
#
# 需要：root、containerd 1.6、dockerd 20.10、skopeo。每个 Docker
# 版本用一个全新的节点，避免上一格留下的快照影响下一格。Docker 25.0.0 的层顺序取决于 Go map
# 的随机迭代，这里每一格都固定用同一个种子，结果因此可重复。
#
# 你会看到：每个读取方一张表（✓ / ✗，鼠标悬停看报错），表下是报错原文的编号列表；结果同时写进
# `build/matrix.json`。

# %% [markdown] lang="en"
# # Compatibility matrix: every Docker release × every image shape × every reader
#
# This runbook executes every cell of the matrix: the lab's Docker engine builds images of
# several shapes, each Docker release's `docker save` writer turns them into archives, and
# three readers consume them — the kind node's `ctr images import` (kind's own command),
# the lab's `docker load` (dockerd 20.10) and skopeo's `docker-archive:` reader. Each cell
# records success or the exact error.
#
# Needs: root, containerd 1.6, dockerd 20.10, skopeo. Every Docker release gets a fresh
# node, so snapshots left by one cell cannot help the next. Docker 25.0.0's layer order
# depends on Go's random map iteration; every cell here uses the same fixed seed, so the
# result repeats run to run.
#
# You will see one table per reader (✓ / ✗, hover for the error), a numbered list of the
# exact errors below them, and the same result written to `build/matrix.json`.

# %%
import json
import os
import re
import shutil
import time
from pathlib import Path

from IPython.display import Markdown, display

from runbook_exec import proc, writers
from runbook_exec.lab import Engine, Node
from runbook_exec.writers.source import image_from_save

proc.echo_to_stdout()
SEED_25 = 1  # the fixed Go-map seed for every Docker 25.0.0 cell
work = Path("matrix-work")  # relative: the runbook runs in its own scratch directory
work.mkdir(exist_ok=True)

# %% [markdown] lang="zh"
# 矩阵的行：写出器的配置（每个对应一个 Docker 版本，引用它所依据的 moby 源码），外加一行“Docker 29 +
# `docker save --platform`”——这是[按平台保存](fixes/save-platform.md)这个修复本身。列：镜像形态。

# %% [markdown] lang="en"
# Rows: the writer profiles (one per Docker release, each citing the moby source it
# follows), plus a row "Docker 29 + `docker save --platform`" — the
# [save-one-platform](fixes/save-platform.md) fix itself. Columns: image shapes.

# %%
ROWS = ["24.0.7", "25.0.0-rc.1", "25.0.0", "25.0.1", "25.0.3", "26.1.0",
        "29-containerd-store", "29-containerd-store --platform"]
SHAPES = {  # column code -> (layer contents, save by digest?)
    "1": ([b"s1-0"], False),
    "5": ([b"s5-%d" % i for i in range(5)], False),
    "12": ([b"s12-%d" % i for i in range(12)], False),
    "5+dup": ([b"sd-0", b"sd-1", b"sd-0", b"sd-2", b"sd-3"], False),
    "@sha256": ([b"sg-%d" % i for i in range(5)], True),
    "multi-arch": ([b"sm-%d" % i for i in range(5)], False),
}
READERS = ["ctr import (kind)", "docker load (20.10)", "skopeo docker-archive:"]
for name in ROWS[:-1]:
    print(f"{name:22} {writers.PROFILES[name].source_url}")

# %% [markdown] lang="zh"
# 每种形态构建一个镜像（各自的层内容互不相同，不会共享快照），用真实的 `docker save`
# 保存一次作为源，然后从引擎里删掉，让同一个引擎稍后作为 `docker load` 的读取方时是干净的。

# %% [markdown] lang="en"
# Build one image per shape (layer contents differ between shapes, so no snapshot is
# shared), save it once with the real `docker save` as the source, then remove it from the
# engine so the same engine is clean when it later acts as the `docker load` reader.

# %%
engine = Engine().start()
sources = {}
for code, (layers, _) in SHAPES.items():
    ref = f"matrix-{code.replace('+', '-').replace('@', '')}:v1"
    built = engine.build(ref, layers)
    engine.save([ref], work / f"src-{code}.tar")
    sources[code] = image_from_save(work / f"src-{code}.tar", work / f"layers-{code}")
    print(f"{code:10} {ref:24} {len(built.diff_ids)} layers, {len(set(built.diff_ids))} distinct")
    engine.remove(ref)
docker_cli = ["/usr/bin/docker", "-H", f"unix://{engine.socket}"]


# %% [markdown] lang="zh"
# Docker 29 的 `docker save --platform linux/amd64`：moby 在只请求一个平台时，直接把该平台的清单写进
# `index.json`（单层索引），
# 不再导出整个多平台索引（[image_exporter.go](https://github.com/moby/moby/blob/docker-v29.0.0/daemon/containerd/image_exporter.go)）。写出器的
# `platform=` 参数按这个行为写归档；这是模拟，不是真实的 Docker 29。

# %% [markdown] lang="en"
# Docker 29's `docker save --platform linux/amd64`: when exactly one platform is requested,
# moby writes that platform's manifest straight into `index.json` (a single-level index)
# instead of exporting the whole multi-platform index
# ([image_exporter.go](https://github.com/moby/moby/blob/docker-v29.0.0/daemon/containerd/image_exporter.go)).
# The writer's `platform=` option writes the archive that way; it is a model, not a real
# Docker 29.


# %% [markdown] lang="zh"
# 哪些格子不存在：Docker 29 之前的 graphdriver 镜像存储里，一个镜像只有一个平台，`docker save`
# 写不出多平台索引，所以 `multi-arch` 一列对它们是 n/a。Docker 29
# 这一行的写出器把每个镜像都按“从多平台索引里只拉取了本机平台”的样子导出（kind#3795
# 的场景），所以各列都带着缺失的子清单。

# %% [markdown] lang="en"
# Which cells do not exist: before Docker 29, the graphdriver image store keeps one platform
# per image and `docker save` cannot write a multi-platform index, so the `multi-arch`
# column is n/a for those rows. The Docker 29 writer exports every image as one pulled
# from a multi-platform index with only the host platform present (the kind#3795 case), so
# every column of that row carries the missing child manifest.

# %%
NA_REASON = "graphdriver image store: one platform per image, no multi-platform index to save"


def not_applicable(row: str, code: str) -> str:
    return NA_REASON if code == "multi-arch" and not row.startswith("29") else ""


def write_archive(row: str, code: str) -> Path:
    image, by_digest = sources[code], SHAPES[code][1]
    out = work / f"{row.replace(' ', '_')}-{code}.tar"
    profile = row.split(" ")[0]
    seed = SEED_25 if profile == "25.0.0" else None
    platform = "linux/amd64" if row.endswith("--platform") else None
    writers.write(image, out, profile=profile, seed=seed, by_digest=by_digest, platform=platform)
    return out


# %% [markdown] lang="zh"
# 三个读取方。kind 的导入用节点的 `load()`（kind 的原命令）；`docker load` 用 Debian 的 20.10
# 客户端，之后删掉载入的镜像；skopeo 先 `inspect`、再把归档 `copy` 到一个目录，两步都成功才算 ✓。

# %% [markdown] lang="en"
# The three readers. kind's import is the node's `load()` (kind's exact command);
# `docker load` uses Debian's 20.10 client and removes what it loaded afterwards; skopeo
# runs `inspect`, then `copy` of the archive into a directory, and only both succeeding
# counts as ✓.

# %%
def last_error(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else "(no output)"
    match = re.search(r'level=\w+ msg="(.*)"$', line)  # skopeo/logrus: drop the timestamp
    return match.group(1).replace('\\"', '"') if match else line


def read_with_ctr(node: Node, path: Path) -> tuple[bool, str]:
    res = node.load(path)
    return res.ok, "" if res.ok else res.error


def read_with_docker(path: Path) -> tuple[bool, str]:
    res = proc.run([*docker_cli, "load", "-i", str(path)], timeout=120, check=False,
                   echo=False, merge_stderr=True)
    for image in engine.client.images.list(all=True):
        engine.client.images.remove(image.id, force=True)
    return res.ok, "" if res.ok else last_error(res.output)


def read_with_skopeo(path: Path) -> tuple[bool, str]:
    for argv in (["skopeo", "inspect", f"docker-archive:{path}"],
                 ["skopeo", "copy", "-q", f"docker-archive:{path}", f"dir:{work / 'skopeo-out'}"]):
        res = proc.run(argv, timeout=120, check=False, echo=False, merge_stderr=True)
        if not res.ok:
            return False, last_error(res.output)
    return True, ""


# %% [markdown] lang="zh"
# 执行全部格子：每一行启动一个全新的节点。每行打印一行汇总。

# %% [markdown] lang="en"
# Execute every cell, with a fresh node per row. One summary line per row.

# %%
print("each cell runs, for ARCHIVE written by the row's writer:")
print("$ ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -"
      " < ARCHIVE")
print("$ docker load -i ARCHIVE")
print("$ skopeo inspect docker-archive:ARCHIVE && skopeo copy docker-archive:ARCHIVE dir:OUT")
proc.set_echo(None)  # 144 cells: one summary line per row instead of every command
began = time.monotonic()
cells = []
for row in ROWS:
    node = Node().start()
    try:
        for code in SHAPES:
            reason = not_applicable(row, code)
            if reason:
                cells += [{"row": row, "shape": code, "reader": r, "outcome": "n/a",
                           "error": reason} for r in READERS]
                continue
            path = write_archive(row, code)
            results = (read_with_ctr(node, path), read_with_docker(path), read_with_skopeo(path))
            for reader, (ok, error) in zip(READERS, results, strict=True):
                cells.append({"row": row, "shape": code, "reader": reader,
                              "outcome": "ok" if ok else "fail", "error": error})
    finally:
        node.close()
    mine = [c for c in cells if c["row"] == row]
    print(f"{row:32} ok {sum(c['outcome'] == 'ok' for c in mine):2}  "
          f"fail {sum(c['outcome'] == 'fail' for c in mine):2}  "
          f"n/a {sum(c['outcome'] == 'n/a' for c in mine):2}")
elapsed = time.monotonic() - began
proc.echo_to_stdout()
print(f"{len(cells)} cells")

# %% [markdown] lang="zh"
# 把结果写成机器可读的 JSON：执行器设置了 `RUNBOOK_BUILD_DIR` 时写到那里，否则写到仓库的
# `build/`。报错里的摘要值（`sha256:…`）和日期在表格里被归一化，JSON 里保留原文。

# %% [markdown] lang="en"
# Write the result as machine-readable JSON: into `RUNBOOK_BUILD_DIR` when the executor
# sets it, else into the repository's `build/`. Digests (`sha256:…`) and dates in errors
# are normalised for the table; the JSON keeps the exact text.

# %%
def normalise(error: str) -> str:
    error = re.sub(r"sha256:[0-9a-f]{64}", "sha256:…", error)
    error = re.sub(r"import-\d{4}-\d{2}-\d{2}", "import-DATE", error)
    return re.sub(r"(/[\w.+-]+)+/([\w.+-]+\.tar)", r"\2", error)  # temp paths -> file name


for cell in cells:
    cell["normalised"] = normalise(cell["error"]) if cell["outcome"] == "fail" else cell["error"]

build_dir = Path(os.environ.get("RUNBOOK_BUILD_DIR")
                 or Path(writers.__file__).resolve().parents[3] / "build")
build_dir.mkdir(parents=True, exist_ok=True)
result = {"rows": ROWS, "shapes": list(SHAPES), "readers": READERS, "seed_25_0_0": SEED_25,
          "cells": cells}
(build_dir / "matrix.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
print(f"wrote matrix.json ({len(cells)} cells)")
display({"application/json": {"cells": [{k: c[k] for k in ("row", "shape", "reader", "outcome",
                                                          "normalised")} for c in cells]}},
        raw=True)

# %% [markdown] lang="zh"
# 生成表格。每个读取方一张；✗ 后面的编号对应表下的报错原文，鼠标悬停也能看到。

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


def mark(cell: dict) -> str:
    if cell["outcome"] == "ok":
        return "✓"
    if cell["outcome"] == "n/a":
        return f'<span title="{html_escape(cell["error"])}">n/a</span>'
    n = errors[cell["normalised"]]
    return f'<span title="{html_escape(cell["normalised"])}">✗ E{n}</span>'


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
lines += [f"- **n/a** {NA_REASON}", f"- 25.0.0: seed {SEED_25}"]
display(Markdown("\n".join(lines)))

# %% [markdown] lang="zh"
# 关键结论用断言固定下来：行为一旦变化，这个运行手册就会失败。

# %% [markdown] lang="en"
# The key facts, as assertions: if behaviour changes, this runbook fails.

# %%
def outcome(row: str, shape: str, reader: str) -> str:
    (cell,) = [c for c in cells if (c["row"], c["shape"], c["reader"]) == (row, shape, reader)]
    return cell["outcome"] if cell["outcome"] != "fail" else cell["normalised"]


KIND = READERS[0]
assert outcome("24.0.7", "5+dup", KIND) == "ok"
assert outcome("25.0.0-rc.1", "1", KIND) == "ctr: mismatched image rootfs and manifest layers"
assert outcome("25.0.0", "5+dup", KIND) == "ctr: mismatched image rootfs and manifest layers"
assert outcome("25.0.0", "1", KIND) == "ok"
assert outcome("25.0.1", "@sha256", KIND) == "ctr: image might be filtered out"
assert outcome("25.0.3", "@sha256", KIND) == "ok"
NOT_FOUND = "ctr: content digest sha256:…: not found"
assert outcome("29-containerd-store", "multi-arch", KIND) == NOT_FOUND
assert outcome("29-containerd-store --platform", "multi-arch", KIND) == "ok"
assert all(c["outcome"] != "fail" for c in cells if c["reader"] != KIND)  # they read manifest.json
print(f"matrix executed in {elapsed:.0f} s")

# %%
engine.close()
shutil.rmtree(work, ignore_errors=True)
