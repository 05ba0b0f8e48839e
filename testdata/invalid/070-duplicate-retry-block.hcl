# ERROR: Duplicate retry block @ 6:3
step "restart" {
  action  = core.exec
  command = ["restart"]
  retry { attempts = 3 }
  retry { attempts = 5 }
}
