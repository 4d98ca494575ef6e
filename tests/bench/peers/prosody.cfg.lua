-- tests/bench/peers/prosody.cfg.lua — Prosody 0.12 for the side-by-side benchmark (run).
-- Loopback only, plaintext c2s (no certificate), internal storage (files, no fsync),
-- offline messages on (mod_offline is loaded by default), XEP-0198 for the store acks.
-- run substitutes @DIR@ (a fresh directory per run) and @PORT@ (a free port).
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/data"
admin_socket = "@DIR@/prosody.sock"
run_as_root = true
log = { { levels = { min = "warn" }, to = "file", filename = "@DIR@/prosody.log" } }
network_backend = "epoll"

modules_enabled = { "roster", "saslauth", "disco", "ping", "smacks", "posix", "register" }
modules_disabled = { "s2s" }
c2s_ports = { @PORT@ }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
http_ports = { }
https_ports = { }
component_ports = { }

-- Plaintext on loopback, as the issue measures it: no TLS, SASL PLAIN allowed.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
-- The benchmark registers its users in-band from loopback (allowlisted, no throttle).
allow_registration = true
certificates = "@DIR@"

VirtualHost "localhost"
