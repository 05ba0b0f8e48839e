# ERROR: Invalid run attribute @ 3:19
locals {
  report = "run-${run.name}"
}
