// Package pluginv1 is the generated code of the provider protocol, version
// 1 (provider.proto). Regenerate with `make generate`, which installs the
// pinned generators; never edit the *.pb.go files by hand.
package pluginv1

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative provider.proto
