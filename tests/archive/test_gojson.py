"""The one Go JSON encoder (runbook_exec.archive.gojson) against the real encoding/json."""

from __future__ import annotations

import json
from pathlib import Path

from gorun import go_run

from runbook_exec.archive import gojson

# Strings where Python's json and Go's encoding/json disagree unless we copy Go exactly.
TRICKY = [
    "plain", "<script>&amp;</script>", "a\u2028b\u2029c", "quote\" back\\slash",
    "\n\r\t", "\b\f", "\x00\x01\x1f", "\x7f", "é 中文 🐳", "\ud800 lone", "\ufffd",
    "docker.io/library/demo:v1", "sha256:" + "0" * 64, "",
]
# Values beyond strings that repair may carry over from a real engine's JSON.
VALUES = [0, -1, 2**53, True, False, None, 0.1, 1e21, 1e-7, 1.5, -0.0, 1e20, 2.5e-5,
          [1, "a"], {"b": 1, "a": [None]}]

MAIN = """package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var v interface{}
		if err := json.Unmarshal(in.Bytes(), &v); err != nil {
			panic(err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		fmt.Println(string(out))
	}
}
"""


def test_gojson_encodes_like_go(tmp_path: Path) -> None:
    cases = [*TRICKY, *VALUES]
    lines = [json.dumps(c) for c in cases]  # ASCII-escaped: both sides decode the same text
    go = go_run(tmp_path, MAIN, "\n".join(lines) + "\n").splitlines()
    ours = [gojson.encode(json.loads(line)) for line in lines]
    assert list(zip(cases, ours, strict=True)) == list(zip(cases, go, strict=True))


def test_struct_order_is_kept_and_maps_sorted() -> None:
    assert gojson.encode({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert gojson.dumps({"b": 1, "a": {"d": 1, "c": 2}}, sort_keys=False) == (
        b'{"b":1,"a":{"d":1,"c":2}}')
