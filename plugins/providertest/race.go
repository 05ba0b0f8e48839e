//go:build race

package providertest

// raceEnabled says this binary was built with -race: Build then builds
// plugins with -race too, which checks them as well and reuses the
// test's compiled dependencies.
const raceEnabled = true
