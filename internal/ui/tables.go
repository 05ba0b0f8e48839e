package ui

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/zclconf/go-cty/cty"
)

// objectTable lays out a list of objects whose attributes are all
// primitive (a VM moves report) as columns and rows. It returns ok=false
// for any other value, which is then printed as HCL.
func objectTable(v cty.Value) (cols []string, rows [][]string, ok bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() || v.ContainsMarked() {
		return nil, nil, false
	}
	ty := v.Type()
	if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() || v.LengthInt() == 0 {
		return nil, nil, false
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.Type().IsObjectType() {
			return nil, nil, false
		}
		if cols == nil {
			cols = columns(e.Type())
		}
		row := make([]string, len(cols))
		for i, c := range cols {
			if !e.Type().HasAttribute(c) {
				return nil, nil, false
			}
			cell, ok := primitive(e.GetAttr(c))
			if !ok {
				return nil, nil, false
			}
			row[i] = cell
		}
		rows = append(rows, row)
	}
	return cols, rows, true
}

// leading lists the columns a recovery report reads best with, in order;
// any other attribute follows alphabetically, message last.
var leading = []string{"name", "server", "id", "source_host", "destination_host", "status", "started", "ended"}

// columns orders an object type's attributes for a table.
func columns(ty cty.Type) []string {
	var cols []string
	for name := range ty.AttributeTypes() {
		cols = append(cols, name)
	}
	rank := func(s string) int {
		if i := slices.Index(leading, s); i >= 0 {
			return i
		}
		if s == "message" {
			return len(leading) + 1
		}
		return len(leading)
	}
	sort.Slice(cols, func(i, j int) bool {
		if rank(cols[i]) != rank(cols[j]) {
			return rank(cols[i]) < rank(cols[j])
		}
		return cols[i] < cols[j]
	})
	return cols
}

func primitive(v cty.Value) (string, bool) {
	switch {
	case v.IsNull():
		return "-", true
	case v.Type() == cty.String:
		if v.AsString() == "" {
			return "-", true
		}
		return oneLine(v.AsString()), true
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True()), true
	}
	return "", false
}

// writeTable prints a titled table.
func writeTable(w io.Writer, title string, cols []string, rows [][]string) {
	fmt.Fprintf(w, "\n%s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\n", strings.ToUpper(strings.Join(cols, "\t")))
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\n", strings.Join(r, "\t"))
	}
	tw.Flush()
}
