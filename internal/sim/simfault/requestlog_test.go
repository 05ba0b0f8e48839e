package simfault

import "testing"

func TestRequestLogKeepsTheNewest(t *testing.T) {
	var l RequestLog[int]
	for i := range MaxRecords + 5 {
		l.Add(i)
	}
	all := l.All()
	if len(all) != MaxRecords || all[0] != 5 || all[len(all)-1] != MaxRecords+4 {
		t.Fatalf("%d records, from %d to %d", len(all), all[0], all[len(all)-1])
	}
	all[0] = -1 // a copy
	if l.All()[0] != 5 {
		t.Error("All returned the log itself")
	}
	l.Clear()
	if len(l.All()) != 0 {
		t.Error("Clear left records")
	}
}
