package openstack

import (
	"fmt"
	"strconv"
	"strings"
)

// microversion is a Nova API microversion, 2.N.
type microversion struct{ major, minor int }

// The microversions that change what the provider sends or reads
// (reference/apis.md section 2; nova api/openstack/compute/rest_api_version_history.rst).
var (
	mv2_11 = microversion{2, 11} // os-services force-down
	mv2_14 = microversion{2, 14} // evacuate: onSharedStorage removed
	mv2_29 = microversion{2, 29} // evacuate: force added
	mv2_37 = microversion{2, 37} // server create: networks required ("auto"/"none")
	mv2_53 = microversion{2, 53} // os-services and os-hypervisors by UUID
	mv2_68 = microversion{2, 68} // evacuate: force removed
	mv2_87 = microversion{2, 87} // last with hypervisor usage (vcpus_used, memory_mb_used, running_vms)
	mv2_94 = microversion{2, 94} // last before evacuate leaves the instance stopped (2.95)

	// mvDefault is the newest microversion the provider asks for: every
	// behaviour up to it was read and is handled; 2.95 changes evacuate.
	mvDefault = mv2_94
	// mvHypervisors keeps hypervisor usage in the answers (dropped at 2.88).
	mvHypervisors = mv2_87
)

func parseMicroversion(s string) (microversion, error) {
	major, minor, ok := strings.Cut(strings.TrimSpace(s), ".")
	a, err1 := strconv.Atoi(major)
	b, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || a < 2 || b < 0 {
		return microversion{}, fmt.Errorf("%q is not a compute microversion such as \"2.53\"", s)
	}
	return microversion{a, b}, nil
}

func (v microversion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func (v microversion) less(w microversion) bool {
	return v.major < w.major || (v.major == w.major && v.minor < w.minor)
}

// atLeast reports v >= w.
func (v microversion) atLeast(w microversion) bool { return !v.less(w) }
