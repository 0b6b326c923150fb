"""The one reference module (runbook_exec.archive.refs) on the distribution/reference
grammar, and against the real Go package (github.com/distribution/reference v0.6.0, the
one docker's CLI vendors) where the module cache has it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gorun import go_run

from runbook_exec.archive import refs
from runbook_exec.errors import ArchiveError

DIGEST = "sha256:" + "a" * 64

# (input, full string, familiar string); None: refused
GRAMMAR = [
    ("demo", "docker.io/library/demo", "demo"),
    ("demo:v1", "docker.io/library/demo:v1", "demo:v1"),
    ("user/app:1.0", "docker.io/user/app:1.0", "user/app:1.0"),
    ("docker.io/library/demo:v1", "docker.io/library/demo:v1", "demo:v1"),
    ("docker.io/library/a/b:t", "docker.io/library/a/b:t", "library/a/b:t"),
    ("library/a/b", "docker.io/library/a/b", "library/a/b"),
    ("index.docker.io/x/y", "docker.io/x/y", "x/y"),
    ("localhost/app", "localhost/app", "localhost/app"),
    ("localhost:5000/app:t", "localhost:5000/app:t", "localhost:5000/app:t"),
    ("registry.example/a/b/c:t", "registry.example/a/b/c:t", "registry.example/a/b/c:t"),
    ("reg:5000/x", "reg:5000/x", "reg:5000/x"),
    ("Reg/x", "Reg/x", "Reg/x"),  # an uppercase first component is a domain
    ("[::1]:5000/x:t", "[::1]:5000/x:t", "[::1]:5000/x:t"),
    (f"demo@{DIGEST}", f"docker.io/library/demo@{DIGEST}", f"demo@{DIGEST}"),
    (f"demo:v1@{DIGEST}", f"docker.io/library/demo:v1@{DIGEST}", f"demo:v1@{DIGEST}"),
    ("a__b.c-d---e:T_9.x", "docker.io/library/a__b.c-d---e:T_9.x", "a__b.c-d---e:T_9.x"),
    ("Demo:v1", None, None),  # repository name must be lowercase
    ("user/App", None, None),
    ("a" * 64, None, None),  # a bare image ID
    ("demo:", None, None),
    ("demo:-bad", None, None),
    ("demo:" + "t" * 129, None, None),
    ("demo@sha256:abc", None, None),
    ("demo@sha256:" + "A" * 64, None, None),
    ("demo@md5:" + "a" * 32, None, None),
    ("demo@sha512:" + "b" * 128, "docker.io/library/demo@sha512:" + "b" * 128,
     "demo@sha512:" + "b" * 128),
    ("a_/b", None, None),
    ("", None, None),
    ("x/" + "a" * 254, None, None),  # a path over 255 characters
    ("x/" + "a" * 253, "docker.io/x/" + "a" * 253, "x/" + "a" * 253),
]


@pytest.mark.parametrize(("text", "full", "familiar"), GRAMMAR, ids=[g[0][:30] for g in GRAMMAR])
def test_parse_follows_the_grammar(text: str, full: str | None, familiar: str | None) -> None:
    if full is None:
        with pytest.raises(ArchiveError):
            refs.parse(text)
        return
    ref = refs.parse(text)
    assert (str(ref), ref.familiar) == (full, familiar)
    assert refs.familiar(str(ref)) == familiar  # the lenient spelling agrees


def test_parse_matches_the_real_go_package(tmp_path: Path) -> None:
    main = """package main

import (
	"bufio"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"os"

	"github.com/distribution/reference"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		r, err := reference.ParseNormalizedNamed(in.Text())
		if err != nil {
			fmt.Println("ERR")
			continue
		}
		fmt.Printf("%s %s\\n", r.String(), reference.FamiliarString(r))
	}
}
"""
    texts = [g[0] for g in GRAMMAR if g[0]]
    go = go_run(tmp_path, main, "\n".join(texts) + "\n",
                "require github.com/distribution/reference v0.6.0").splitlines()
    ours = []
    for text in texts:
        try:
            ref = refs.parse(text)
        except ArchiveError:
            ours.append("ERR")
        else:
            ours.append(f"{ref} {ref.familiar}")
    assert list(zip(texts, ours, strict=True)) == list(zip(texts, go, strict=True))


def test_lenient_spellings_for_the_doctor() -> None:
    assert refs.qualify("demo:v1") == "docker.io/library/demo:v1"
    assert refs.qualify("user/app") == "docker.io/user/app"
    assert refs.qualify("reg:5000/x:t") == "reg:5000/x:t"
    assert refs.qualify("Demo:v1") == "docker.io/library/Demo:v1"  # never raises
    assert refs.has_domain("localhost/x") and refs.has_domain("docker.io/library/x")
    assert not refs.has_domain("user/app") and not refs.has_domain("demo")
    assert refs.familiar("docker.io/library/a:1") == "a:1"
    assert refs.familiar("docker.io/library/a/b:1") == "library/a/b:1"
    assert refs.familiar("docker.io/u/a:1") == "u/a:1"
    assert refs.split_tag("reg:5000/x") == ("reg:5000/x", None)
    assert refs.split_tag("reg:5000/x:t") == ("reg:5000/x", "t")


def test_parse_tagged_defaults_to_latest_and_refuses_digests() -> None:
    assert str(refs.parse_tagged("demo")) == "docker.io/library/demo:latest"
    with pytest.raises(ArchiveError, match="digest"):
        refs.parse_tagged(f"demo@{DIGEST}")


def test_a_go_answer_file_round_trips() -> None:
    # the doctor's JSON output spells names with str(): keep it JSON-safe
    assert json.loads(json.dumps(str(refs.parse("demo")))) == "docker.io/library/demo"
