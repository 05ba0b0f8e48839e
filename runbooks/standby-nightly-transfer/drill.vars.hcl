# A drill with both sites on this machine: two directories stand for the
# primary and the secondary, the local Docker engine for both engines, and
# the images to transfer are those labelled dev.runbook.demo=standby
# (`make demo` imports one). From the repository root:
#
#   mkdir -p .runbook/drill/primary/data .runbook/drill/secondary
#   echo 'node default {}' > .runbook/drill/primary/codenvy.pp
#   runbook apply -var-file runbooks/standby-nightly-transfer/drill.vars.hcl runbooks/standby-nightly-transfer
#
# Over SSH, give secondary_dir and secondary_config_file as
# sftp://USER@HOST:PORT/ABSOLUTE/PATH and ssh_private_key_file.
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

staging_dir           = ".runbook/drill/staging"
secondary_dir         = ".runbook/drill/secondary"
config_file           = ".runbook/drill/primary/codenvy.pp"
secondary_config_file = ".runbook/drill/secondary/codenvy.pp.installed"
image_labels          = ["dev.runbook.demo=standby"]

# The data store is .runbook/drill/primary/data; the secondary's is
# .runbook/drill/secondary/data.
backup_command  = ["sh", "-c", "tar -czf \"$BACKUP_FILE\" -C .runbook/drill/primary data"]
restore_command = ["sh", "-c", "mkdir -p .runbook/drill/secondary && tar -xzf \"$BACKUP_FILE\" -C .runbook/drill/secondary"]

retry_attempts = 3
retry_delay    = "100ms"
