# ERROR: Invalid default value for variable @ 8:13
variable "host" {
  type = object({
    name     = string
    reserved = optional(bool, false)
    priority = optional(number)
  })
  default = { name = "compute-1", priority = "high" }
}
