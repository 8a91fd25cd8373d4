package generate

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var citationRE = regexp.MustCompile(`\[(\s*\d{1,4}(?:\s*[,;]\s*\d{1,4})*\s*)\]`)

// Citations returns the distinct source numbers cited as [n] (or [n, m]) in
// text that are between 1 and sources inclusive, in ascending order.
// Numbers of sources that were not sent are dropped.
func Citations(text string, sources int) []int {
	var out []int
	for _, m := range citationRE.FindAllStringSubmatch(text, -1) {
		for _, f := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			n, err := strconv.Atoi(f)
			if err == nil && n >= 1 && n <= sources && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []int{}
	}
	return out
}
