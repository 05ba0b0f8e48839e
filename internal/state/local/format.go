package local

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"

	"github.com/runbook-dev/runbook/internal/state"
)

// On-disk layout, all integers little-endian:
//
//	header: "RBJ1" | u16 format version
//	frame:  u32 payload length | u32 CRC-32C of payload | payload (JSON of state.Record)
const (
	magic     = "RBJ1"
	headerLen = len(magic) + 2
	frameLen  = 8
	// maxRecord bounds one payload. Real records are far smaller; the bound
	// makes a garbage length field fail fast instead of being believed.
	maxRecord = 64 << 20
)

// castagnoli is a read-only lookup table, not state: CRC-32C is what
// hardware accelerates and what storage systems use for this purpose.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendHeader(b []byte, version uint16) []byte {
	b = append(b, magic...)
	return binary.LittleEndian.AppendUint16(b, version)
}

// appendFrame appends rec as one frame to b.
func appendFrame(b []byte, rec *state.Record) ([]byte, error) {
	payload, err := json.Marshal(rec)
	if err != nil {
		return b, fmt.Errorf("encoding %s record: %w", rec.Type, err)
	}
	if len(payload) > maxRecord {
		return b, fmt.Errorf("%s record is %d bytes, more than the %d a journal record may hold", rec.Type, len(payload), maxRecord)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...), nil
}

// decode parses a whole journal file. It returns the records and the offset
// just past the last good one, where an append must continue.
//
// The first frame that fails its checks is either a torn write (the crash
// hit while the last, unacknowledged batch was going to disk) or damage.
// It is torn only if no intact frame follows it anywhere in the file: a
// crash can only spoil the end of the file, so an intact frame after a bad
// one means bytes that were once synced have changed. That test does not
// trust the bad frame's length, which may itself be the damaged field.
func decode(name string, data []byte) (recs []state.Record, end int, err error) {
	if err := checkHeader(name, data); err != nil {
		return nil, 0, err
	}
	off := headerLen
	for off < len(data) {
		payload, ok := frameAt(data, off)
		if !ok {
			if intactFrameAfter(data, off+1) {
				return recs, off, corrupt(name, off, "bad record followed by intact ones")
			}
			return recs, off, nil // torn tail: drop it
		}
		var rec state.Record
		if err := json.Unmarshal(payload, &rec); err != nil {
			return recs, off, corrupt(name, off, err.Error())
		}
		if want := uint64(len(recs) + 1); rec.Seq != want {
			return recs, off, corrupt(name, off, fmt.Sprintf("record has seq %d, want %d", rec.Seq, want))
		}
		recs = append(recs, rec)
		off += frameLen + len(payload)
	}
	return recs, off, nil
}

func checkHeader(name string, data []byte) error {
	if len(data) < headerLen || string(data[:len(magic)]) != magic {
		return corrupt(name, 0, "not a runbook journal (bad header)")
	}
	v := binary.LittleEndian.Uint16(data[len(magic):])
	switch {
	case v > state.FormatVersion:
		return fmt.Errorf("%s has format version %d; this runbook reads up to %d: %w", name, v, state.FormatVersion, state.ErrNewerFormat)
	case v == 0:
		return corrupt(name, len(magic), "format version 0")
	}
	return nil
}

// frameAt returns the payload of the frame at off if the frame is whole and
// its checksum matches.
func frameAt(data []byte, off int) ([]byte, bool) {
	if len(data)-off < frameLen {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(data[off:]))
	// A zero length is never valid: it is what a hole of zeros looks like,
	// and zeros would otherwise pass (the CRC of nothing is 0).
	if n == 0 || n > maxRecord || n > len(data)-off-frameLen {
		return nil, false
	}
	payload := data[off+frameLen : off+frameLen+n]
	return payload, crc32.Checksum(payload, castagnoli) == binary.LittleEndian.Uint32(data[off+4:])
}

// intactFrameAfter reports whether a checksummed frame starts at or after
// from. It only runs once a bad frame is found, and costs little: JSON has
// no bytes below 0x20, so any position inside a payload reads as a length
// over 512 MiB and fails the length test at once.
func intactFrameAfter(data []byte, from int) bool {
	for p := from; p+frameLen < len(data); p++ {
		if _, ok := frameAt(data, p); ok {
			return true
		}
	}
	return false
}

func corrupt(name string, off int, why string) error {
	return fmt.Errorf("%s: at byte offset %d: %s: %w", name, off, why, state.ErrCorrupt)
}
