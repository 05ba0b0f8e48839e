// Package providertest is the conformance suite for provider.Provider
// implementations and the transports between them, and the harness that
// runs a provider the way the host does.
//
// Run exercises a provider that implements the test provider described
// below; testprovider is that provider built with the SDK, and
// testprovider/cmd serves it as a plugin. Running the suite against it
// in-process, over an in-memory gRPC pair (Connect) and as a real plugin
// process (Build, Launch) checks the SDK, the gRPC adapter and go-plugin's
// wiring together: a value, flag or path that one layer drops fails the
// suite on that layer. An SDK in another language can be checked by
// implementing the test provider with it and running Run against its
// binary.
//
// # The test provider
//
// Its name is "test", its version "1.0.0". Schema must return exactly
// Schema(): the suite compares every attribute's type, flags and
// description, and nested blocks.
//
// Configuration: label (string) and token (string, sensitive). A label of
// "invalid" makes Configure fail with an error at the attribute label whose
// message would contain the token, redacted.
//
// Actions:
//
//   - echo: returns its inputs as its outputs, unchanged: one attribute of
//     each cty type (string, number of any size and precision, a whole
//     number, bool, list, set, map, object with an object inside, tuple,
//     any type), a single nested block and a list of them (id required,
//     secret sensitive, a list of sub blocks inside). A null stays null.
//     Plan predicts the same outputs; with an unknown input every output is
//     unknown. No Check: Unknown.
//   - block: logs "blocking", then waits for its context to be cancelled
//     (at most a minute), writes the time it saw the cancel to the file
//     marker (RFC 3339, nanoseconds) and returns the context's error.
//   - big: returns a string of size bytes (10 MiB when unset), reporting
//     progress in bytes; the string is BigData(size).
//   - fail: fails with message; retryable says whether the error is
//     retryable; path, when set, is the attribute path the error points at
//     (names; integers for list indexes; #key for map keys).
//   - log_secret: logs credentials.user (not sensitive: it must show),
//     secret, note and credentials.token, reports progress
//     in a unit naming the secret, and fails with all three in the message;
//     its Plan and Check fail the same way. secret and credentials.token
//     are sensitive in the schema; note is sensitive when a request's
//     SensitivePaths says so.
//   - touch: writes content to the file at path (mutating, idempotent);
//     outputs path and size. Plan knows path, not size. Check answers
//     NotApplied when there is no file, Applied with the outputs when it
//     holds content, Unknown otherwise.
//   - started: Check answers Applied with the output started: the
//     request's Started time, UTC, RFC 3339 with nanoseconds, or "zero"
//     for the zero time.
//   - crash: exits the provider's process with status 3 in the middle of
//     Apply. The suite never calls it; the subprocess test does.
//
// This package imports the provider contract, the gRPC adapter and
// go-plugin; it must not import the engine or the CLI.
package providertest
