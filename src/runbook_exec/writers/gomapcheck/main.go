// Command gomap measures how often a Go map of n distinct sha256 digest strings, filled
// the way moby's image/tarexport/save.go (v25.0.0) fills foreignSrcs, iterates in
// insertion order. It prints one line per n: "n fraction".
//
// The map is created empty with make and filled by assignment in order, then ranged
// over once, as saveImage and save do. Each trial is a fresh map (a fresh hash seed).
// Standard library only, so `go run` needs no network.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
)

// descriptor has the shape of distribution.Descriptor's fields moby copies; its size
// decides nothing about order but keeps the map type comparable to moby's.
type descriptor struct {
	MediaType   string
	Size        int64
	Digest      string
	URLs        []string
	Annotations map[string]string
}

func digests(n, salt int) []string {
	out := make([]string, n)
	for i := range out {
		sum := sha256.Sum256([]byte(fmt.Sprintf("layer-%d-%d", salt, i)))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// order fills a fresh map with keys in order and returns the insertion index of each
// key in iteration order.
func order(keys []string) []int {
	m := make(map[string]descriptor)
	pos := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: k}
		pos[k] = i
	}
	out := make([]int, 0, len(keys))
	for k := range m {
		out = append(out, pos[k])
	}
	return out
}

func main() {
	trials := flag.Int("trials", 20000, "maps per n")
	minN := flag.Int("min", 1, "smallest n")
	maxN := flag.Int("max", 16, "largest n")
	flag.Parse()
	for n := *minN; n <= *maxN; n++ {
		hits, adjacent := 0, 0
		for t := 0; t < *trials; t++ {
			// fresh digests per trial too, so no property of one key set is measured
			got := order(digests(n, t))
			sorted := true
			for i, p := range got {
				if p != i {
					sorted = false
				}
				if i > 0 && got[i-1]+1 == p {
					adjacent++
				}
			}
			if sorted {
				hits++
			}
		}
		fmt.Printf("%d %.5f %.4f\n", n, float64(hits)/float64(*trials), float64(adjacent)/float64(*trials))
	}
}
