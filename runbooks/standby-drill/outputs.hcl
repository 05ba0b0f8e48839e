output "report" {
  description = "Every check of the drill and its result."
  value = concat(
    [
      { check = "health", result = "ok", detail = "HTTP ${step.health.status}" },
      { check = "login", result = "ok", detail = "as ${var.username}" },
      { check = "workspace", result = "ok", detail = "created and read back ${local.workspace.id} (${local.workspace_name})" },
    ],
    [for name, s in step.integrations : { check = "integration ${name}", result = "ok", detail = "HTTP ${s.status}" }],
  )
}

output "workspace_id" {
  value = local.workspace.id
}
